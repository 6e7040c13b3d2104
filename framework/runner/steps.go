package runner

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gameday-dev/gameday/framework/fault"
	"github.com/gameday-dev/gameday/framework/scenario"
	"github.com/gameday-dev/gameday/framework/score"
	"github.com/gameday-dev/gameday/reports"
)

// runStep runs one step and records it in the report.
func (r *run) runStep(ctx context.Context, step *scenario.Step) error {
	r.progress.Phase("step " + step.Name)
	rs := reports.Step{Name: step.Name, Start: time.Now().UTC()}
	r.mu.Lock()
	r.currentStep, r.stepStart = step.Name, rs.Start
	r.mu.Unlock()
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

// faultStep plans, journals and injects a fault, holds it for the step's duration,
// then reverts it.
func (r *run) faultStep(ctx context.Context, step *scenario.Step, rs *reports.Step) error {
	inj, err := fault.New(step.Fault)
	if err != nil {
		return err
	}
	env := r.env(step.Name)
	env.Hold = step.Duration
	recs, err := inj.Plan(ctx, env)
	if err != nil {
		return fmt.Errorf("planning: %w", err)
	}
	for _, rec := range recs {
		rs.Targets = append(rs.Targets, inj.Describe(rec))
	}
	window := score.Window{Name: step.Name, Start: time.Now().UTC()}
	r.openWindow(window)
	for _, rec := range recs {
		// The journal entry is durable before the cluster changes.
		if err := r.journal.Planned(rec); err != nil {
			return fmt.Errorf("journaling %s: %w", rec.ID, err)
		}
		r.mu.Lock()
		r.outstanding = append(r.outstanding, injected{rec: rec, injector: inj})
		r.mu.Unlock()
		r.progress.Printf("inject: %s", inj.Describe(rec))
		if err := inj.Inject(ctx, env, rec); err != nil {
			return fmt.Errorf("injecting %s: %w", rec.ID, err)
		}
		if err := r.journal.Injected(rec.ID); err != nil {
			return fmt.Errorf("journaling %s: %w", rec.ID, err)
		}
	}
	r.addObservation(reports.Observation{What: "faultInjected", At: window.Start, Source: "gameday", Step: step.Name, Detail: strings.Join(rs.Targets, "; ")})
	holdErr := sleep(ctx, step.Duration)
	if holdErr != nil {
		// Cancelled: execute reverts through revertAll; close the window now.
		r.closeWindow(step.Name, time.Now().UTC())
		return holdErr
	}
	revertErr := r.revertStep(context.WithoutCancel(ctx), step.Name)
	end := time.Now().UTC()
	r.closeWindow(step.Name, end)
	r.addObservation(reports.Observation{What: "faultReverted", At: end, Source: "gameday", Step: step.Name})
	if revertErr != nil {
		return revertErr
	}
	rs.Reverted = true
	return nil
}

// markReverted records a reverted fault (for verification) and flags its step.
func (r *run) markReverted(f injected) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reverted = append(r.reverted, f)
	for i := range r.steps {
		if r.steps[i].Name == f.rec.Step {
			r.steps[i].Reverted = true
		}
	}
}

// openWindow starts a fault window at injection; closeWindow sets its end when the
// fault is reverted. Observations made in between belong to its step.
func (r *run) openWindow(w score.Window) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.windows = append(r.windows, w)
}

func (r *run) closeWindow(name string, end time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := range r.windows {
		if r.windows[i].Name == name && r.windows[i].End.IsZero() {
			r.windows[i].End = end
		}
	}
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
