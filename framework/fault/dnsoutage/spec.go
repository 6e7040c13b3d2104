package dnsoutage

import (
	"fmt"

	"github.com/gameday-dev/gameday/framework/scenario"
)

// Mode is how cluster DNS is broken.
type Mode string

const (
	// ScaleDown scales CoreDNS to zero replicas; recovery restores the count.
	ScaleDown Mode = "scaleDown"
	// Servfail makes CoreDNS answer SERVFAIL for Names; recovery restores the Corefile.
	Servfail Mode = "servfail"
)

// Spec is the scenario configuration of a DNS outage: cluster DNS is broken for the
// step's duration (fault kind "dnsOutage").
type Spec struct {
	// Mode is how DNS is broken; default scaleDown.
	Mode Mode `yaml:"mode"`
	// Names are the names answered with SERVFAIL; required for servfail, unset otherwise.
	Names []string `yaml:"names"`
}

// FaultKind returns "dnsOutage".
func (*Spec) FaultKind() string { return Kind }

// SetDefaults sets the mode to scaleDown when unset.
func (f *Spec) SetDefaults() {
	if f.Mode == "" {
		f.Mode = ScaleDown
	}
}

// Validate reports every problem of the spec under path.
func (f *Spec) Validate(v *scenario.Validator, path string) {
	v.OneOf(path+".mode", string(f.Mode), string(ScaleDown), string(Servfail))
	switch f.Mode {
	case Servfail:
		if len(f.Names) == 0 {
			v.Errorf(path+".names", "required for mode servfail: the names to answer with SERVFAIL")
		}
		seen := map[string]string{}
		for i, name := range f.Names {
			np := fmt.Sprintf("%s.names[%d]", path, i)
			if v.DNSName(np, name) {
				v.Unique(seen, np, name)
			}
		}
	case ScaleDown:
		if len(f.Names) > 0 {
			v.Errorf(path+".names", "only for mode servfail; scaleDown takes all of DNS down")
		}
	}
}
