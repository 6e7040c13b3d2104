// Package fault is the contract between gameday's actions and the code that runs
// them. An action kind is either a fault (Injector: plan, inject, hold, revert,
// verify) or a drill (Drill: named phases in order, each with what a crash in the
// middle of it means). Both work over Records: a Record names one target and
// carries what is needed to put it back, so recovery is idempotent and can resume
// after a crash. The records live in the run's journal and, while they are
// outstanding, in a gameday-owned Secret in the cluster (package lifecycle); the
// MarkerAnnotation an action sets on an object it changes holds only a reference
// to its record, never the restore data.
//
// Action kinds live in sub-packages (nodeloss, dnsoutage) and register themselves
// with Register from init; package fault/all imports every kind, and is the one
// line to add a new kind to.
package fault

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"k8s.io/client-go/kubernetes"

	"github.com/gameday-dev/gameday/clusters"
	"github.com/gameday-dev/gameday/framework/scenario"
)

// MarkerAnnotation is set on every object a fault changed, holding a reference to
// its record (Record.Ref: ID, kind, run, step, target; no restore data), so a person
// looking at the object sees that gameday changed it and which run did.
const MarkerAnnotation = "gameday.dev/fault"

// Record is one undoable change to one target.
type Record struct {
	// ID is unique per run, step and target.
	ID string `json:"id"`
	// Kind is the fault kind ("nodeLoss", "dnsOutage") and Mode its variant.
	Kind string `json:"kind"`
	Mode string `json:"mode"`
	// RunID and Step say which run and step injected it.
	RunID string `json:"runID"`
	Step  string `json:"step"`
	// Cluster is the cluster name (kind) or context (kubeconfig) it was injected into.
	Cluster string `json:"cluster"`
	// Target is what was changed, e.g. "node/gameday-worker" or
	// "deployment/kube-system/coredns".
	Target string `json:"target"`
	// Restore holds what is put back on recovery (fault-specific keys).
	Restore map[string]string `json:"restore,omitempty"`
	// PlannedAt is when the record was made, before anything changed.
	PlannedAt time.Time `json:"plannedAt"`
}

// Marshal returns the whole record as JSON, restore data included.
func (r Record) Marshal() string {
	b, _ := json.Marshal(r)
	return string(b)
}

// Ref is the record without its restore data: what MarkerAnnotation holds.
func (r Record) Ref() Record {
	r.Restore = nil
	return r
}

// ParseRecord reads a record from its JSON (Marshal) or a MarkerAnnotation value.
func ParseRecord(s string) (Record, error) {
	var r Record
	if err := json.Unmarshal([]byte(s), &r); err != nil {
		return Record{}, fmt.Errorf("reading fault marker: %w", err)
	}
	if r.Kind == "" || r.Target == "" {
		return Record{}, fmt.Errorf("fault marker without kind or target: %q", s)
	}
	return r, nil
}

// Env is what an injector acts on.
type Env struct {
	// Cluster is the cluster, with its NodeController when the provider has one.
	Cluster *clusters.Cluster
	// Client talks to the cluster's API server.
	Client kubernetes.Interface
	// RunID and Step label the records an injector plans.
	RunID string
	Step  string
	// Hold is how long the fault will stay before it is reverted (the step's duration);
	// zero when unknown. Faults that must arm a dead-man's switch on the target (nodeLoss
	// on an existing cluster) record it when planning.
	Hold time.Duration
	// Sink receives the windows, observations and figures an action reports; nil
	// discards them (recover has no report).
	Sink Sink
}

// Report returns env.Sink, or a sink that discards everything when it is nil.
func (env Env) Report() Sink {
	if env.Sink == nil {
		return discard{}
	}
	return env.Sink
}

// Action is what every action kind implements: Injector for a fault, Drill for a
// drill.
type Action interface {
	// Plan resolves targets and captures what recovery will restore, without
	// changing anything (it is all --dry-run does).
	Plan(ctx context.Context, env Env) ([]Record, error)
	// Describe is one line for humans: what the action does to a record's target.
	Describe(rec Record) string
	// Recover reverts one record (everything the action changed for it) and removes
	// its marker. Recovering a record that was never injected, or already reverted,
	// is a no-op.
	Recover(ctx context.Context, env Env, rec Record) error
}

// Injector is a fault: injected, held for the step's duration, reverted, verified.
type Injector interface {
	Action
	// Inject applies the fault to one planned record and returns once it is in
	// effect. The caller journals the record (and stores it in the cluster) first;
	// Inject marks the changed object with MarkerAnnotation (SetMarker) before
	// changing it.
	Inject(ctx context.Context, env Env, rec Record) error
}

// Factory makes an action from a scenario fault spec; a nil spec gives an action
// that can only describe and recover records.
type Factory func(spec scenario.FaultSpec) (Action, error)

var (
	mu        sync.RWMutex
	factories = map[string]Factory{}
)

// Register makes a fault kind available; fault packages call it from init.
func Register(kind string, f Factory) {
	mu.Lock()
	defer mu.Unlock()
	if _, dup := factories[kind]; dup {
		panic("fault: kind registered twice: " + kind)
	}
	factories[kind] = f
}

// RegisterWithSpec registers an action kind together with its scenario spec (a
// typed nil pointer, e.g. (*nodeloss.Spec)(nil)), so scenario files can use it: what
// an action kind's package calls from init.
func RegisterWithSpec(prototype scenario.FaultSpec, f Factory) {
	Register(prototype.FaultKind(), f)
	scenario.RegisterFault(prototype)
}

// New returns the action for a scenario fault spec.
func New(spec scenario.FaultSpec) (Action, error) {
	return newKind(spec.FaultKind(), spec)
}

// ForKind returns an action able to describe and recover records of a kind.
func ForKind(kind string) (Action, error) { return newKind(kind, nil) }

func newKind(kind string, spec scenario.FaultSpec) (Action, error) {
	mu.RLock()
	f, ok := factories[kind]
	mu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("no action registered for kind %q (registered: %s)", kind, strings.Join(Kinds(), ", "))
	}
	return f(spec)
}

// Kinds lists the registered fault kinds, sorted.
func Kinds() []string {
	mu.RLock()
	defer mu.RUnlock()
	kinds := make([]string, 0, len(factories))
	for k := range factories {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	return kinds
}

// RecordID builds a record ID from its run, step and target.
func RecordID(runID, step, target string) string {
	return runID + "/" + step + "/" + target
}

// Verifier is implemented by actions that can tell whether a reverted target is
// back to its saved state and healthy (node Ready, Corefile identical). The
// lifecycle polls Verify after recovery until it returns nil or time runs out.
type Verifier interface {
	Verify(ctx context.Context, env Env, rec Record) error
}

// NodeTaker is implemented by actions that may take nodes away (stop, freeze,
// partition them). The runner places its probe agent on a node no action takes.
type NodeTaker interface {
	NodesTaken(ctx context.Context, env Env) ([]string, error)
}

// Watcher is implemented by action kinds that watch what Kubernetes itself notices
// about their targets (a node turning NotReady, CoreDNS losing its replicas) and
// report it as observations. The runner starts one Watch per kind a scenario uses,
// for the whole run; Watch returns when ctx ends, after one last look.
type Watcher interface {
	Watch(ctx context.Context, env Env)
}
