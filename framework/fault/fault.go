// Package fault defines how gameday injects and reverts faults. Every fault kind
// implements Injector over Records: a Record names one target and carries what is
// needed to put it back, so recovery is idempotent and can resume after a crash
// (from the run's journal, or from the marker annotation left on the changed object).
//
// Fault kinds live in sub-packages (nodeloss, dnsoutage) and register themselves;
// import them for their side effect, as database/sql drivers are imported.
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

// MarkerAnnotation is set on every object a fault changed, holding the JSON Record
// needed to revert it. `gameday recover` finds outstanding faults through it even
// when the run's journal is lost.
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

// Marshal returns the record as the JSON stored in MarkerAnnotation.
func (r Record) Marshal() string {
	b, _ := json.Marshal(r)
	return string(b)
}

// ParseRecord reads a record from a MarkerAnnotation value.
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
}

// Injector injects and reverts one fault kind.
type Injector interface {
	// Plan resolves targets and captures what recovery will restore, without
	// changing anything (it is all --dry-run does).
	Plan(ctx context.Context, env Env) ([]Record, error)
	// Inject applies the fault to one planned record. The caller journals the record
	// first; Inject marks the changed object with MarkerAnnotation before changing it.
	Inject(ctx context.Context, env Env, rec Record) error
	// Recover reverts one record and removes its marker. Recovering a record that was
	// never injected, or already reverted, is a no-op.
	Recover(ctx context.Context, env Env, rec Record) error
	// Outstanding lists the records whose markers are still in the cluster.
	Outstanding(ctx context.Context, env Env) ([]Record, error)
	// Describe is one line for humans: what the fault does to its targets.
	Describe(rec Record) string
}

// Factory makes an injector from a scenario fault spec; a nil spec gives an injector
// that can only recover and find outstanding records.
type Factory func(spec scenario.FaultSpec) (Injector, error)

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

// New returns the injector for a scenario fault spec.
func New(spec scenario.FaultSpec) (Injector, error) {
	return newKind(spec.FaultKind(), spec)
}

// ForKind returns an injector able to recover records of a kind.
func ForKind(kind string) (Injector, error) { return newKind(kind, nil) }

func newKind(kind string, spec scenario.FaultSpec) (Injector, error) {
	mu.RLock()
	f, ok := factories[kind]
	mu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("no injector for fault kind %q (registered: %s)", kind, strings.Join(Kinds(), ", "))
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

// Verifier is implemented by injectors that can tell whether a reverted target is
// back to its saved state and healthy (node Ready, Corefile identical). The runner
// polls Verify after recovery until it returns nil or time runs out.
type Verifier interface {
	Verify(ctx context.Context, env Env, rec Record) error
}
