package scenario

import (
	"reflect"
	"slices"
	"strings"
	"sync"
)

// FaultSpec is the configuration of one action kind (a fault or a drill), e.g.
// *nodeloss.Spec. In a scenario file a step's fault is a mapping with exactly one
// key, the kind:
//
//	fault:
//	  nodeLoss: {mode: stop, target: {role: worker, count: 1}}
//
// Each kind defines its spec in its own package (a struct with yaml tags and these
// three methods) and registers it with RegisterFault from init, beside its
// fault.Register; the scenario package knows no kind by name.
type FaultSpec interface {
	// FaultKind is the key that selects the fault in a scenario file, e.g. "nodeLoss".
	FaultKind() string
	// SetDefaults fills in the defaults of unset fields.
	SetDefaults()
	// Validate reports every problem through v, with field paths under path (e.g.
	// "spec.steps[2].fault.nodeLoss"); it runs after SetDefaults.
	Validate(v *Validator, path string)
}

var (
	faultMu    sync.RWMutex
	faultKinds = map[string]reflect.Type{}
)

// RegisterFault makes a kind's spec decodable in scenario files. prototype is a typed
// nil pointer, e.g. (*Spec)(nil). Registering a kind twice panics.
func RegisterFault(prototype FaultSpec) {
	faultMu.Lock()
	defer faultMu.Unlock()
	kind := prototype.FaultKind()
	if _, dup := faultKinds[kind]; dup {
		panic("scenario: fault kind registered twice: " + kind)
	}
	faultKinds[kind] = reflect.TypeOf(prototype).Elem()
}

// KnownFaultKinds returns the fault kinds a scenario may use, sorted.
func KnownFaultKinds() []string {
	faultMu.RLock()
	defer faultMu.RUnlock()
	kinds := make([]string, 0, len(faultKinds))
	for kind := range faultKinds {
		kinds = append(kinds, kind)
	}
	slices.Sort(kinds)
	return kinds
}

// newFault returns a new, empty fault of the given kind.
func newFault(kind string) (FaultSpec, bool) {
	faultMu.RLock()
	t, ok := faultKinds[kind]
	faultMu.RUnlock()
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
func (undecodedFault) SetDefaults()                {}
func (undecodedFault) Validate(*Validator, string) {}
