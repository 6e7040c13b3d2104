package scenario

import (
	"reflect"
	"slices"
	"strings"
)

// FaultSpec is the configuration of one fault kind, e.g. *NodeLoss or *DNSOutage.
// In a scenario file a step's fault is a mapping with exactly one key, the fault kind:
//
//	fault:
//	  nodeLoss: {mode: stop, target: {role: worker, count: 1}}
//
// The unexported methods keep the fault kinds in this package, next to the versioned API
// they belong to. Adding a fault kind: define its struct with yaml tags and the three
// methods below (FaultKind here, setDefaults in defaults.go, validate in validate.go),
// then add one entry to faultKinds. Nothing else in the package changes.
type FaultSpec interface {
	// FaultKind is the key that selects the fault in a scenario file, e.g. "nodeLoss".
	FaultKind() string

	setDefaults()
	validate(v *validator, path string)
}

// faultKinds registers every fault kind a step may use, one entry per kind.
var faultKinds = registerFaults(
	(*NodeLoss)(nil),
	(*DNSOutage)(nil),
)

// registerFaults indexes fault prototypes (typed nil pointers) by their FaultKind.
func registerFaults(prototypes ...FaultSpec) map[string]reflect.Type {
	kinds := make(map[string]reflect.Type, len(prototypes))
	for _, p := range prototypes {
		kinds[p.FaultKind()] = reflect.TypeOf(p).Elem()
	}
	return kinds
}

// KnownFaultKinds returns the fault kinds a scenario may use, sorted.
func KnownFaultKinds() []string {
	kinds := make([]string, 0, len(faultKinds))
	for kind := range faultKinds {
		kinds = append(kinds, kind)
	}
	slices.Sort(kinds)
	return kinds
}

// newFault returns a new, empty fault of the given kind.
func newFault(kind string) (FaultSpec, bool) {
	t, ok := faultKinds[kind]
	if !ok {
		return nil, false
	}
	return reflect.New(t).Interface().(FaultSpec), true
}

// knownFaultKindsText lists the known fault kinds for error messages.
func knownFaultKindsText() string {
	return strings.Join(KnownFaultKinds(), ", ")
}

// undecodedFault stands in for a fault whose kind could not be decoded, so that the
// step still counts as a fault step and validation adds no follow-on errors.
type undecodedFault struct{}

func (undecodedFault) FaultKind() string           { return "" }
func (undecodedFault) setDefaults()                {}
func (undecodedFault) validate(*validator, string) {}

// NodeLossMode is how a node is lost.
type NodeLossMode string

const (
	// NodeLossStop stops the node (its kind container); it is started again on recovery.
	NodeLossStop NodeLossMode = "stop"
	// NodeLossPause freezes the node (its kind container); it is unpaused on recovery.
	NodeLossPause NodeLossMode = "pause"
	// NodeLossKillKubelet stops the kubelet on the node; it is restarted on recovery.
	NodeLossKillKubelet NodeLossMode = "killKubelet"
)

// NodeRole selects nodes by their kind role.
type NodeRole string

const (
	// RoleWorker selects worker nodes.
	RoleWorker NodeRole = "worker"
	// RoleControlPlane selects control-plane nodes.
	RoleControlPlane NodeRole = "control-plane"
)

// NodeLoss takes nodes away for the step's duration (fault kind "nodeLoss").
type NodeLoss struct {
	// Mode is how the nodes are lost; default stop.
	Mode NodeLossMode `yaml:"mode"`
	// Target selects the nodes.
	Target NodeTarget `yaml:"target"`
	// AllowExistingCluster must be true to lose nodes of a cluster reached by kubeconfig.
	AllowExistingCluster bool `yaml:"allowExistingCluster"`
}

// FaultKind returns "nodeLoss".
func (*NodeLoss) FaultKind() string { return "nodeLoss" }

// NodeTarget selects nodes: exactly one of Role (with Count) or Names.
type NodeTarget struct {
	// Role picks Count nodes of this role.
	Role NodeRole `yaml:"role"`
	// Count is how many nodes of Role to lose; at least 1.
	Count int `yaml:"count"`
	// Names lists the nodes to lose by name.
	Names []string `yaml:"names"`
}

// DNSOutageMode is how cluster DNS is broken.
type DNSOutageMode string

const (
	// DNSOutageScaleDown scales CoreDNS to zero replicas; recovery restores the count.
	DNSOutageScaleDown DNSOutageMode = "scaleDown"
	// DNSOutageServfail makes CoreDNS answer SERVFAIL for Names; recovery restores the Corefile.
	DNSOutageServfail DNSOutageMode = "servfail"
)

// DNSOutage breaks cluster DNS for the step's duration (fault kind "dnsOutage").
type DNSOutage struct {
	// Mode is how DNS is broken; default scaleDown.
	Mode DNSOutageMode `yaml:"mode"`
	// Names are the names answered with SERVFAIL; required for servfail, unset otherwise.
	Names []string `yaml:"names"`
}

// FaultKind returns "dnsOutage".
func (*DNSOutage) FaultKind() string { return "dnsOutage" }
