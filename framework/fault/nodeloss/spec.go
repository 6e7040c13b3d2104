package nodeloss

import (
	"fmt"

	"github.com/gameday-dev/gameday/framework/scenario"
)

// Mode is how a node is lost.
type Mode string

const (
	// Stop stops the node (its kind container); it is started again on recovery.
	Stop Mode = "stop"
	// Pause freezes the node (its kind container); it is unpaused on recovery.
	Pause Mode = "pause"
	// KillKubelet stops the kubelet on the node; it is restarted on recovery.
	KillKubelet Mode = "killKubelet"
)

// Role selects nodes by their role.
type Role string

const (
	// RoleWorker selects worker nodes.
	RoleWorker Role = "worker"
	// RoleControlPlane selects control-plane nodes.
	RoleControlPlane Role = "control-plane"
)

// Spec is the scenario configuration of a node loss: the nodes are taken away for
// the step's duration (fault kind "nodeLoss").
type Spec struct {
	// Mode is how the nodes are lost; default stop.
	Mode Mode `yaml:"mode"`
	// Target selects the nodes.
	Target Target `yaml:"target"`
	// AllowExistingCluster must be true to lose nodes of a cluster reached by kubeconfig.
	AllowExistingCluster bool `yaml:"allowExistingCluster"`
}

// Target selects nodes: exactly one of Role (with Count) or Names.
type Target struct {
	// Role picks Count nodes of this role.
	Role Role `yaml:"role"`
	// Count is how many nodes of Role to lose; at least 1.
	Count int `yaml:"count"`
	// Names lists the nodes to lose by name.
	Names []string `yaml:"names"`
}

// FaultKind returns "nodeLoss".
func (*Spec) FaultKind() string { return Kind }

// SetDefaults sets the mode to stop when unset.
func (f *Spec) SetDefaults() {
	if f.Mode == "" {
		f.Mode = Stop
	}
}

// Validate reports every problem of the spec under path.
func (f *Spec) Validate(v *scenario.Validator, path string) {
	v.OneOf(path+".mode", string(f.Mode), string(Stop), string(Pause), string(KillKubelet))
	t := f.Target
	p := path + ".target"
	switch {
	case t.Role == "" && len(t.Names) == 0:
		v.Errorf(p, "must set role (with count) or names")
	case t.Role != "" && len(t.Names) > 0:
		v.Errorf(p, "sets both role and names; set exactly one")
	case t.Role != "":
		v.OneOf(p+".role", string(t.Role), string(RoleWorker), string(RoleControlPlane))
		if t.Count < 1 {
			v.Errorf(p+".count", "must be at least 1, got %d", t.Count)
		}
	default:
		if t.Count != 0 {
			v.Errorf(p+".count", "only applies with role; names already says which nodes")
		}
		seen := map[string]string{}
		for i, name := range t.Names {
			np := fmt.Sprintf("%s.names[%d]", p, i)
			if v.DNSSubdomain(np, name) {
				v.Unique(seen, np, name)
			}
		}
	}
	if v.ExistingCluster() && !f.AllowExistingCluster {
		v.Errorf(path+".allowExistingCluster", "must be true to lose nodes of an existing cluster (spec.cluster.kubeconfig)")
	}
}
