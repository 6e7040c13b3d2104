// Package lifecycle runs gameday's actions the one way that a game-day run, an
// e2e-framework test and `gameday recover` share.
//
// A fault is planned, journaled, stored in the cluster, injected, held, reverted
// and verified. A drill is planned, journaled and stored, then runs its phases in
// order, each journaled as a checkpoint before it starts and as done after it
// ends; when it stops in the middle of a phase, that phase's fault.CrashPolicy
// says whether it is reverted, rolled forward or left for a person (Settle).
//
// Every record is written to the run's journal (when there is one) and to a Secret
// in the cluster (Store, when there is one) before anything changes, and leaves
// both only once it is reverted or finished, so whatever a crash interrupts,
// Settle can finish from either copy.
package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/gameday-dev/gameday/framework/fault"
	"github.com/gameday-dev/gameday/framework/journal"
	"github.com/gameday-dev/gameday/framework/scenario"
	"github.com/gameday-dev/gameday/reports"
)

// Defaults for a Lifecycle's timeouts.
const (
	DefaultRevertTimeout  = 3 * time.Minute
	DefaultVerifyTimeout  = 5 * time.Minute
	DefaultVerifyInterval = time.Second
)

// Lifecycle runs the actions of one run (or one e2e session) and keeps what it
// started until it is reverted or finished. Its methods are safe for concurrent use.
type Lifecycle struct {
	// Env is the cluster, client, run ID and sink; Step and Hold are set per action.
	Env fault.Env
	// Journal is the run's journal; nil keeps no local journal (Store is then the
	// only durable copy).
	Journal *journal.Journal
	// Store keeps the records in the cluster; nil keeps none there.
	Store *Store
	// NewAction makes the action of a spec; nil means fault.New (tests replace it).
	NewAction func(spec scenario.FaultSpec) (fault.Action, error)
	// Logf reports progress ("inject: ...", "revert: ..."); nil is silent.
	Logf func(format string, args ...any)
	// RevertTimeout bounds one Revert call, VerifyTimeout one Verify call;
	// VerifyInterval is how often Verify asks again. Zero means the defaults.
	RevertTimeout, VerifyTimeout, VerifyInterval time.Duration

	mu      sync.Mutex
	active  []*Active // started and not settled, in start order
	settled []*Active // reverted or finished, not yet verified
}

// Active is one step's action while the lifecycle holds it.
type Active struct {
	// Step is the scenario step (or e2e step) the action belongs to.
	Step string
	// Action is the fault or drill.
	Action fault.Action
	// Records are the planned records, in injection order.
	Records []fault.Record
	// Start is when the first change began; Effective when the fault was in effect
	// (a drill: when its last phase ended).
	Start, Effective time.Time

	env fault.Env
	// mu is held by Start for its whole length and by Revert and Verify while they
	// work on the action, so a revert never runs beside an injection still going on
	// (it waits for Start to return, which a cancelled context makes quick).
	mu       sync.Mutex
	progress map[string]journal.RecordState // per record ID: journaled state
	verified bool
}

// Describe lists what the action does to each of its records.
func (a *Active) Describe() []string {
	out := make([]string, 0, len(a.Records))
	for _, r := range a.Records {
		out = append(out, a.Action.Describe(r))
	}
	return out
}

func (l *Lifecycle) logf(format string, args ...any) {
	if l.Logf != nil {
		l.Logf(format, args...)
	}
}

func (l *Lifecycle) env(step string, hold time.Duration) fault.Env {
	env := l.Env
	env.Step, env.Hold = step, hold
	return env
}

// Plan makes the action of a scenario fault spec and plans its records for step,
// changing nothing. hold is how long a fault will stay (zero for a drill).
func (l *Lifecycle) Plan(ctx context.Context, step string, spec scenario.FaultSpec, hold time.Duration) (*Active, error) {
	if step == "" {
		return nil, errors.New("an action needs a step name")
	}
	l.mu.Lock()
	for _, a := range l.active {
		if a.Step == step {
			l.mu.Unlock()
			return nil, fmt.Errorf("step %q already has an action in place", step)
		}
	}
	l.mu.Unlock()
	newAction := l.NewAction
	if newAction == nil {
		newAction = fault.New
	}
	action, err := newAction(spec)
	if err != nil {
		return nil, err
	}
	env := l.env(step, hold)
	recs, err := action.Plan(ctx, env)
	if err != nil {
		return nil, fmt.Errorf("planning: %w", err)
	}
	if len(recs) == 0 {
		return nil, fmt.Errorf("the %s fault found no target", spec.FaultKind())
	}
	return &Active{Step: step, Action: action, Records: recs, env: env, progress: map[string]journal.RecordState{}}, nil
}

// Start carries out a planned action. A fault is injected record by record, each
// journaled and stored before the cluster changes; Start returns once every record
// is in effect, and the fault stays until Revert. A drill runs all its phases and
// is finished when Start returns nil. Either way the step's measurement window
// opens when the first change begins. When Start fails, what it changed is still
// outstanding: call Revert (a run's abort path does).
func (l *Lifecycle) Start(ctx context.Context, a *Active) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.Start = time.Now().UTC()
	sink := a.env.Report()
	sink.OpenWindow(a.Step, a.Start)
	l.mu.Lock()
	l.active = append(l.active, a)
	l.mu.Unlock()
	switch act := a.Action.(type) {
	case fault.Drill:
		for _, rec := range a.Records {
			if err := l.record(ctx, a, rec); err != nil {
				return err
			}
		}
		for _, rec := range a.Records {
			rs := a.progress[rec.ID]
			err := runPhases(ctx, a.env, act, l.Journal, l.Store, &rs, 0, l.logf)
			a.progress[rec.ID] = rs
			if err != nil {
				return err
			}
		}
		a.Effective = time.Now().UTC()
		l.retire(a, a.Effective)
	case fault.Injector:
		for _, rec := range a.Records {
			// Durable before the cluster changes; records not reached are not
			// outstanding.
			if err := l.record(ctx, a, rec); err != nil {
				return err
			}
			l.logf("inject: %s", act.Describe(rec))
			if err := act.Inject(ctx, a.env, rec); err != nil {
				return fmt.Errorf("injecting %s: %w", rec.ID, err)
			}
			if l.Journal != nil {
				if err := l.Journal.Injected(rec.ID); err != nil {
					return err
				}
			}
			rs := a.progress[rec.ID]
			rs.Last, rs.Injected = journal.OpInjected, true
			a.progress[rec.ID] = rs
		}
		a.Effective = time.Now().UTC()
		sink.Effective(a.Step, a.Effective)
	default:
		return fmt.Errorf("%T is neither a fault.Injector nor a fault.Drill", a.Action)
	}
	sink.Figure(reports.Figure{
		Name: "injectionTime", Step: a.Step, Value: a.Effective.Sub(a.Start).Seconds(), Unit: reports.UnitSeconds,
		At: a.Effective, Detail: "from the first change to the action in effect (a drill: to its last phase's end)",
	})
	return nil
}

// record makes a planned record durable in the journal and in the cluster; from
// then on it is outstanding until settled.
func (l *Lifecycle) record(ctx context.Context, a *Active, rec fault.Record) error {
	if rec.PlannedAt.IsZero() {
		rec.PlannedAt = time.Now().UTC()
	}
	if l.Journal != nil {
		if err := l.Journal.Planned(rec); err != nil {
			return fmt.Errorf("journaling %s: %w", rec.ID, err)
		}
	}
	a.progress[rec.ID] = journal.RecordState{Record: rec, Last: journal.OpPlanned}
	if l.Store != nil {
		if err := l.Store.Save(ctx, rec); err != nil {
			return err
		}
	}
	return nil
}

// retire moves a settled action to the verify list and closes its window.
func (l *Lifecycle) retire(a *Active, end time.Time) {
	l.mu.Lock()
	l.active = slices.DeleteFunc(l.active, func(x *Active) bool { return x == a })
	l.settled = append(l.settled, a)
	l.mu.Unlock()
	a.env.Report().CloseWindow(a.Step, end)
}

// Outstanding returns the actions started and not yet settled, in start order.
func (l *Lifecycle) Outstanding() []*Active {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.active)
}

// Revert settles the outstanding actions of step (every step when step is ""),
// newest first and each action's records in reverse order: a fault is reverted; a
// drill is reverted, rolled forward or left stopped as its current phase says. An
// action that could not be settled stays outstanding, so a later Revert tries it
// again and `gameday recover` finds it in the journal and in the cluster.
func (l *Lifecycle) Revert(ctx context.Context, step string) error {
	timeout := l.RevertTimeout
	if timeout == 0 {
		timeout = DefaultRevertTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var errs []error
	for _, a := range slices.Backward(l.Outstanding()) {
		if step != "" && a.Step != step {
			continue
		}
		a.mu.Lock()
		ok := true
		for i := len(a.Records) - 1; i >= 0; i-- {
			rec := a.Records[i]
			rs, started := a.progress[rec.ID]
			if !started || !rs.Outstanding() {
				continue
			}
			if _, isDrill := a.Action.(fault.Drill); !isDrill {
				l.logf("revert: %s", a.Action.Describe(rec))
			}
			if err := settle(ctx, a.env, a.Action, l.Journal, l.Store, &rs, l.logf); err != nil {
				ok = false
				errs = append(errs, fmt.Errorf("reverting %s: %w", rec.ID, err))
			}
			a.progress[rec.ID] = rs
			if rs.Outstanding() {
				ok = false
			}
		}
		a.mu.Unlock()
		if ok {
			l.retire(a, time.Now().UTC())
		}
	}
	return errors.Join(errs...)
}

// Verify waits until every settled action's records pass its fault.Verifier
// (actions without one pass at once), within VerifyTimeout.
func (l *Lifecycle) Verify(ctx context.Context) error {
	timeout, interval := l.VerifyTimeout, l.VerifyInterval
	if timeout == 0 {
		timeout = DefaultVerifyTimeout
	}
	if interval == 0 {
		interval = DefaultVerifyInterval
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	l.mu.Lock()
	todo := slices.Clone(l.settled)
	l.mu.Unlock()
	var errs []error
	for _, a := range todo {
		a.mu.Lock()
		err := l.verifyAction(ctx, a, interval)
		a.mu.Unlock()
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// verifyAction verifies one settled action's records; a.mu is held.
func (l *Lifecycle) verifyAction(ctx context.Context, a *Active, interval time.Duration) error {
	if a.verified {
		return nil
	}
	v, ok := a.Action.(fault.Verifier)
	if !ok {
		a.verified = true
		return nil
	}
	var errs []error
	for _, rec := range a.Records {
		var last error
		err := wait.PollUntilContextCancel(ctx, interval, true, func(ctx context.Context) (bool, error) {
			last = v.Verify(ctx, a.env, rec)
			return last == nil, nil
		})
		if err != nil {
			if last == nil {
				last = err
			}
			errs = append(errs, fmt.Errorf("after reverting %s: %w", a.Action.Describe(rec), last))
			continue
		}
		l.logf("verified: %s is reverted", rec.Target)
	}
	a.verified = len(errs) == 0
	return errors.Join(errs...)
}
