package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gameday-dev/gameday/framework/fault"
	"github.com/gameday-dev/gameday/framework/journal"
)

// Settle brings one outstanding record to rest, the same way for a run that is
// reverting and for `gameday recover` after a crash: a fault's record is reverted;
// a drill's record is reverted, rolled forward or left stopped (a
// *fault.StoppedError) as the phase it stopped in says. rs is the record's state as
// journaled (journal.State.OutstandingStates) or, from the cluster store, a state
// with no phase information. The result is journaled in j (when not nil) and the
// record leaves store (when not nil) once it is settled.
func Settle(ctx context.Context, env fault.Env, j *journal.Journal, store *Store, rs journal.RecordState, logf func(string, ...any)) error {
	action, err := fault.ForKind(rs.Record.Kind)
	if err != nil {
		return err
	}
	if logf == nil {
		logf = func(string, ...any) {}
	}
	return settle(ctx, env, action, j, store, &rs, logf)
}

func settle(ctx context.Context, env fault.Env, action fault.Action, j *journal.Journal, store *Store, rs *journal.RecordState, logf func(string, ...any)) error {
	env.Step = rs.Record.Step
	drill, isDrill := action.(fault.Drill)
	if !isDrill {
		if err := action.Recover(ctx, env, rs.Record); err != nil {
			journalFailure(ctx, j, rs, err)
			return err
		}
		return done(ctx, j, store, rs, journal.OpReverted)
	}
	phases := drill.Phases(rs.Record)
	next, policy := resume(phases, rs.Phase, rs.PhaseDone)
	if next == len(phases) {
		return done(ctx, j, store, rs, journal.OpFinished)
	}
	switch policy {
	case fault.RollForward:
		logf("roll forward: %s from phase %s", drill.Describe(rs.Record), phases[next].Name)
		return runPhases(ctx, env, drill, j, store, rs, next, logf)
	case fault.Stop:
		return &fault.StoppedError{Record: rs.Record, Phase: phases[next].Name, Since: rs.PhaseAt}
	default:
		logf("revert: %s (stopped in phase %s)", drill.Describe(rs.Record), phases[next].Name)
		if err := drill.Recover(ctx, env, rs.Record); err != nil {
			journalFailure(ctx, j, rs, err)
			return err
		}
		return done(ctx, j, store, rs, journal.OpReverted)
	}
}

// resume finds the phase a drill stopped in, and what its crash policy says. A
// drill that never started a phase is reverted (nothing was changed, and Recover of
// an untouched record is a no-op); one that finished its last phase is done
// (next == len(phases)); between two phases, the next phase's policy decides.
func resume(phases []fault.Phase, phase string, phaseDone bool) (next int, policy fault.CrashPolicy) {
	if phase == "" {
		return 0, fault.Revert
	}
	for i, p := range phases {
		if p.Name != phase {
			continue
		}
		if phaseDone {
			i++
		}
		if i == len(phases) {
			return i, ""
		}
		return i, phases[i].OnCrash
	}
	// A phase this version of the drill does not know: touch nothing.
	return 0, fault.Stop
}

// runPhases runs a drill's phases from index from to the end, each journaled
// before it starts and after it ends, then marks the record finished.
func runPhases(ctx context.Context, env fault.Env, d fault.Drill, j *journal.Journal, store *Store, rs *journal.RecordState, from int, logf func(string, ...any)) error {
	phases := d.Phases(rs.Record)
	for _, p := range phases[from:] {
		if j != nil {
			if err := j.PhaseStarted(rs.Record, p.Name); err != nil {
				return err
			}
		}
		rs.Phase, rs.PhaseAt, rs.PhaseDone = p.Name, time.Now().UTC(), false
		if store != nil {
			if err := store.SavePhase(ctx, rs.Record, p.Name, false, rs.PhaseAt); err != nil {
				return err
			}
		}
		logf("phase %s: %s", p.Name, d.Describe(rs.Record))
		pctx, cancel := ctx, context.CancelFunc(func() {})
		if p.Timeout > 0 {
			pctx, cancel = context.WithTimeoutCause(ctx, p.Timeout, fmt.Errorf("phase %s exceeded its timeout (%s)", p.Name, p.Timeout))
		}
		rec := rs.Record
		err := p.Run(pctx, env, &rec)
		if err != nil && pctx.Err() != nil && ctx.Err() == nil {
			err = fmt.Errorf("%w: %w", context.Cause(pctx), err)
		}
		cancel()
		if err != nil {
			return fmt.Errorf("phase %s: %w", p.Name, err)
		}
		rs.Record = rec
		if j != nil {
			if err := j.PhaseDone(rec, p.Name); err != nil {
				return err
			}
		}
		if store != nil {
			if err := store.SavePhase(ctx, rec, p.Name, true, rs.PhaseAt); err != nil {
				return err
			}
		}
		rs.PhaseDone = true
		env.Report().Figure(phaseFigure(env.Step, p.Name, rs.PhaseAt))
	}
	return done(ctx, j, store, rs, journal.OpFinished)
}

// done journals that a record is settled (reverted or finished) and removes it from
// the cluster store.
func done(ctx context.Context, j *journal.Journal, store *Store, rs *journal.RecordState, op journal.Op) error {
	var errs []error
	if j != nil {
		var err error
		if op == journal.OpFinished {
			err = j.Finished(rs.Record.ID)
		} else {
			err = j.Reverted(rs.Record.ID)
		}
		errs = append(errs, err)
	}
	if store != nil {
		errs = append(errs, store.Delete(context.WithoutCancel(ctx), rs.Record.ID))
	}
	err := errors.Join(errs...)
	if err == nil {
		// Settled only once both copies say so: a failed delete is tried again (the
		// revert is idempotent) rather than leaving the stored copy behind.
		rs.Last = op
	}
	return err
}

// journalFailure records a failed settle attempt; an attempt cut short by
// cancellation did not fail, and the record stays outstanding either way.
func journalFailure(ctx context.Context, j *journal.Journal, rs *journal.RecordState, err error) {
	rs.Failures = append(rs.Failures, err.Error())
	if j != nil && ctx.Err() == nil {
		_ = j.RecoverFailed(rs.Record.ID, err)
	}
}
