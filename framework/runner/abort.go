package runner

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gameday-dev/gameday/framework/scenario"
)

// abortCheckInterval is how often watchAbort evaluates the abort conditions.
const abortCheckInterval = 250 * time.Millisecond

// stallAfter is how long a probe's stream may stay silent before it counts as stalled for
// health: a live probe records a sample at least every interval + timeout, and the rest
// leaves room for the agent's samples to travel through its log.
func stallAfter(slo *scenario.SLO) time.Duration {
	return 2 * (slo.Interval + slo.Timeout)
}

// unhealthySLOs lists the SLOs without an unbroken run of good samples lasting
// `window`, measured between sample timestamps as scoring measures it (the agent's
// samples arrive a little late, so the wall clock would overstate the run). A stream
// that has recorded nothing for longer than stallAfter is not healthy, whatever its
// last samples said: the probe, or the path its samples take, is down.
func (r *run) unhealthySLOs(window time.Duration) []string {
	var failing []string
	for i := range r.sc.Spec.SLOs {
		slo := &r.sc.Spec.SLOs[i]
		samples := r.recorder.Samples(slo.Name)
		healthySince := time.Time{}
		for i := len(samples) - 1; i >= 0; i-- {
			if !samples[i].OK {
				break
			}
			healthySince = samples[i].At
		}
		arrived, _ := r.recorder.LastArrival(slo.Name)
		if healthySince.IsZero() || samples[len(samples)-1].At.Sub(healthySince) < window ||
			time.Since(arrived) > stallAfter(slo) {
			failing = append(failing, slo.Name)
		}
	}
	return failing
}

// watchAbort cancels the run when an abort condition holds: an SLO whose probe has had
// no good sample for its failingFor, or whose stream has recorded no sample at all for
// its failingFor (the agent died, its log stream stalled: the run is blind). Both are
// measured without comparing sample times with the harness clock, which the agent's
// clock may differ from: the failing time is the span between the last good sample and
// the last sample, plus the wall-clock time since that last sample was recorded. A
// stream is judged from its first sample on (waitFirstSamples covers the time before).
func (r *run) watchAbort(ctx context.Context, abort context.CancelCauseFunc) {
	conds := r.sc.Spec.Abort.Conditions
	if len(conds) == 0 {
		return
	}
	t := time.NewTicker(abortCheckInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for _, c := range conds {
			if err := r.abortCondition(c, time.Now()); err != nil {
				abort(err)
				return
			}
		}
	}
}

// abortCondition returns why c holds at now, or nil.
func (r *run) abortCondition(c scenario.AbortCondition, now time.Time) error {
	samples := r.recorder.Samples(c.SLO)
	arrived, ok := r.recorder.LastArrival(c.SLO)
	if !ok || len(samples) == 0 {
		return nil
	}
	silent := now.Sub(arrived)
	if silent >= c.FailingFor {
		return fmt.Errorf("abort condition: slo %s stream stalled: no sample for %s (limit %s)",
			c.SLO, silent.Round(time.Second), c.FailingFor)
	}
	last := samples[len(samples)-1]
	if last.OK {
		return nil
	}
	lastGood := samples[0].At
	for i := len(samples) - 1; i >= 0; i-- {
		if samples[i].OK {
			lastGood = samples[i].At
			break
		}
	}
	failing := last.At.Sub(lastGood) + silent
	if failing < c.FailingFor {
		return nil
	}
	msg := fmt.Sprintf("abort condition: slo %s failing for %s (limit %s)", c.SLO, failing.Round(time.Second), c.FailingFor)
	if slo := r.sc.SLO(c.SLO); slo != nil && silent > stallAfter(slo) {
		msg += fmt.Sprintf("; its stream stalled %s ago", silent.Round(time.Second))
	}
	return errors.New(msg)
}
