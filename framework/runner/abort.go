package runner

import (
	"context"
	"fmt"
	"time"
)

// unhealthySLOs lists the SLOs without an unbroken run of good samples lasting
// `window`, measured between sample timestamps as scoring measures it (the agent's
// samples arrive a little late, so the wall clock would overstate the run).
func (r *run) unhealthySLOs(window time.Duration) []string {
	var failing []string
	for _, slo := range r.sc.Spec.SLOs {
		samples := r.recorder.Samples(slo.Name)
		healthySince := time.Time{}
		for i := len(samples) - 1; i >= 0; i-- {
			if !samples[i].OK {
				break
			}
			healthySince = samples[i].At
		}
		if healthySince.IsZero() || samples[len(samples)-1].At.Sub(healthySince) < window {
			failing = append(failing, slo.Name)
		}
	}
	return failing
}

// watchAbort cancels the run when an abort condition holds: an SLO with no good
// sample for its failingFor.
func (r *run) watchAbort(ctx context.Context, abort context.CancelCauseFunc) {
	conds := r.sc.Spec.Abort.Conditions
	if len(conds) == 0 {
		return
	}
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for _, c := range conds {
			samples := r.recorder.Samples(c.SLO)
			if len(samples) == 0 || samples[len(samples)-1].OK {
				continue
			}
			var lastGood time.Time
			for i := len(samples) - 1; i >= 0; i-- {
				if samples[i].OK {
					lastGood = samples[i].At
					break
				}
			}
			if lastGood.IsZero() {
				lastGood = samples[0].At
			}
			if since := time.Since(lastGood); since >= c.FailingFor {
				abort(fmt.Errorf("abort condition: slo %s failing for %s (limit %s)", c.SLO, since.Round(time.Second), c.FailingFor))
				return
			}
		}
	}
}
