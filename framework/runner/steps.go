package runner

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gameday-dev/gameday/framework/fault"
	"github.com/gameday-dev/gameday/framework/scenario"
	"github.com/gameday-dev/gameday/reports"
)

// runStep runs one step and records it in the report.
func (r *run) runStep(ctx context.Context, step *scenario.Step) error {
	r.progress.Phase("step " + step.Name)
	rs := reports.Step{Name: step.Name, Start: time.Now().UTC()}
	var err error
	switch {
	case step.SteadyState != nil:
		rs.Kind = "steadyState"
		r.progress.Printf("steady state for %s", step.SteadyState.Duration)
		err = sleep(ctx, step.SteadyState.Duration)
	case step.Wait != nil:
		rs.Kind = "wait"
		err = r.wait(ctx, step.Wait)
	case step.Fault != nil:
		rs.Kind = step.Fault.FaultKind()
		err = r.faultStep(ctx, step, &rs)
	}
	rs.End = time.Now().UTC()
	if err != nil {
		rs.Error = err.Error()
	}
	r.mu.Lock()
	r.steps = append(r.steps, rs)
	r.mu.Unlock()
	var notRecovered *notRecoveredError
	if errors.As(err, &notRecovered) {
		r.progress.Printf("warning: %v", err)
		return nil // measured and reported; the expectations decide
	}
	return err
}

// faultStep carries out a step's action through the lifecycle: a fault is
// injected, held for the step's duration and reverted; a drill runs its phases.
func (r *run) faultStep(ctx context.Context, step *scenario.Step, rs *reports.Step) error {
	act, err := r.life.Plan(ctx, step.Name, step.Fault, step.Duration)
	if err != nil {
		return err
	}
	rs.Targets = act.Describe()
	if err := r.life.Start(ctx, act); err != nil {
		return err
	}
	r.Observe(reports.Observation{What: "faultInjected", At: act.Effective, Source: "gameday", Step: step.Name, Detail: strings.Join(rs.Targets, "; ")})
	if _, isFault := act.Action.(fault.Injector); !isFault {
		rs.Reverted = true // a drill is finished when Start returns
		return nil
	}
	if err := sleep(ctx, step.Duration); err != nil {
		return err // cancelled: execute settles what is outstanding
	}
	if err := r.life.Revert(context.WithoutCancel(ctx), step.Name); err != nil {
		return err
	}
	r.Observe(reports.Observation{What: "faultReverted", At: time.Now().UTC(), Source: "gameday", Step: step.Name})
	rs.Reverted = true
	return nil
}

// notRecoveredError is a wait for recovery that timed out: a result, not a failure
// of the harness.
type notRecoveredError struct {
	timeout time.Duration
	failing []string
}

func (e *notRecoveredError) Error() string {
	return fmt.Sprintf("not recovered within %s: %s still failing", e.timeout, strings.Join(e.failing, ", "))
}

// wait runs a wait step.
func (r *run) wait(ctx context.Context, w *scenario.Wait) error {
	if w.For == scenario.WaitForDuration {
		r.progress.Printf("waiting %s", w.Duration)
		return sleep(ctx, w.Duration)
	}
	window := r.sc.Spec.Scoring.HealthyWindow
	r.progress.Printf("waiting up to %s for every SLO to be healthy for %s", w.Timeout, window)
	deadline := time.Now().Add(w.Timeout)
	for {
		failing := r.unhealthySLOs(window)
		if len(failing) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return &notRecoveredError{timeout: w.Timeout, failing: failing}
		}
		if err := sleep(ctx, 250*time.Millisecond); err != nil {
			return err
		}
	}
}

// sleep waits for d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
