package fault

import (
	"context"
	"fmt"
	"time"

	"github.com/gameday-dev/gameday/reports"
)

// Drill is an action made of named phases run in order: an upgrade, a restore, a
// certificate expiry. Before each phase starts, the lifecycle journals a checkpoint
// naming it; after it ends, that it is done. When a run dies in the middle of a
// phase, the phase's OnCrash says what `gameday recover` (and a run that is
// aborted) does about it.
type Drill interface {
	Action
	// Phases are the drill's phases for one planned record, in order. Phase names
	// are unique within a drill.
	Phases(rec Record) []Phase
}

// CrashPolicy is what is done about a drill stopped in the middle of a phase.
type CrashPolicy string

const (
	// Revert undoes the whole drill: Action.Recover is called with the record.
	Revert CrashPolicy = "revert"
	// RollForward runs the interrupted phase again, then every phase after it;
	// the phase must be safe to run twice.
	RollForward CrashPolicy = "rollForward"
	// Stop leaves everything as it is and reports the exact state, for a person to
	// finish: neither undoing nor redoing the phase is safe.
	Stop CrashPolicy = "stop"
)

// Valid reports whether p is one of the three policies.
func (p CrashPolicy) Valid() bool { return p == Revert || p == RollForward || p == Stop }

// Phase is one step of a drill.
type Phase struct {
	// Name identifies the phase in the journal and the report, e.g. "backup".
	Name string
	// Timeout bounds the phase; zero means no bound of its own.
	Timeout time.Duration
	// OnCrash says what is done when the run stops in the middle of this phase.
	OnCrash CrashPolicy
	// Run does the phase. It may add to rec.Restore what later phases or recovery
	// need; the lifecycle journals the record again when the phase is done.
	Run func(ctx context.Context, env Env, rec *Record) error
}

// StoppedError is a drill that was left in the middle of a phase whose OnCrash is
// Stop: nothing was undone or redone, and a person must finish it.
type StoppedError struct {
	Record Record
	Phase  string
	Since  time.Time
}

// Error names the drill, its target, the phase and since when.
func (e *StoppedError) Error() string {
	return fmt.Sprintf("drill %s on %s stopped in phase %q (started %s): undoing or redoing it is not safe; finish it by hand, then run `gameday recover --forget %s`",
		e.Record.Kind, e.Record.Target, e.Phase, e.Since.Format(time.RFC3339), e.Record.ID)
}

// Sink receives what an action measures and notices, for the report. The runner's
// sink scores windows with the SLOs' samples; e2e keeps them for its assertions.
type Sink interface {
	// OpenWindow starts a measurement window (a fault's disruption, a drill's
	// phase); MTTD is measured from its effective time, which is start until
	// Effective says otherwise.
	OpenWindow(name string, start time.Time)
	// Effective says when the fault of a window took effect.
	Effective(name string, at time.Time)
	// CloseWindow ends a window: the fault was reverted, the phase ended.
	CloseWindow(name string, end time.Time)
	// Observe adds an observation (something Kubernetes noticed).
	Observe(o reports.Observation)
	// Figure adds a figure of the action's own (an RTO, a per-node upgrade time).
	Figure(f reports.Figure)
}

type discard struct{}

func (discard) OpenWindow(string, time.Time)  {}
func (discard) Effective(string, time.Time)   {}
func (discard) CloseWindow(string, time.Time) {}
func (discard) Observe(reports.Observation)   {}
func (discard) Figure(reports.Figure)         {}

// Poll calls look every interval while ctx lives, and once more (with a few
// seconds of its own) after ctx ends, so that a change that ended the run (a node
// Ready again) is still seen. Watchers use it.
func Poll(ctx context.Context, interval time.Duration, look func(ctx context.Context)) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		look(ctx)
		select {
		case <-ctx.Done():
			final, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			look(final)
			cancel()
			return
		case <-t.C:
		}
	}
}
