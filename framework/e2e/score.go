package gamedaye2e

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/e2e-framework/pkg/envconf"
	"sigs.k8s.io/e2e-framework/pkg/features"

	"github.com/gameday-dev/gameday/framework/probe"
	"github.com/gameday-dev/gameday/framework/score"
)

// DefaultHealthyWindow is how long a probe must stay OK for the assertions to count
// an outage as over (the scenario default, scoring.healthyWindow).
const DefaultHealthyWindow = 10 * time.Second

// assertPoll is how often the assertions score the samples again while they wait.
var assertPoll = time.Second

// Score scores the samples of the probe named slo against the fault windows of the
// faults injected so far, as a game-day run scores an SLO: MTTD and MTTR per fault
// window, availability, error budget and burn rate (see package score). objective is
// the target fraction of OK samples and healthyWindow how long the probe must stay OK
// for an outage to be over. The sampling interval, for gap detection, is the median
// time between samples. It can be called while the probes run.
func Score(ctx context.Context, slo string, objective float64, healthyWindow time.Duration) (score.Result, error) {
	s, ok := sessionFrom(ctx)
	if !ok {
		return score.Result{}, errors.New("score: no probes were started (use StartProbes)")
	}
	res, _, err := s.score(slo, objective, healthyWindow)
	return res, err
}

// score computes the result and returns the sampling interval it used.
func (s *session) score(slo string, objective float64, healthyWindow time.Duration) (score.Result, time.Duration, error) {
	s.mu.Lock()
	rec, known, since := s.recorder, s.names[slo], s.since
	var windows []score.Window
	for _, w := range s.windows {
		if !w.Start.Before(since) {
			windows = append(windows, w)
		}
	}
	names := make([]string, 0, len(s.names))
	for n := range s.names {
		names = append(names, n)
	}
	s.mu.Unlock()
	if !known {
		slices.Sort(names)
		return score.Result{}, 0, fmt.Errorf("score: no probe named %q (started: %s)", slo, strings.Join(names, ", "))
	}
	samples := rec.Samples(slo)
	interval := sampleInterval(samples)
	opts := score.Options{Objective: objective, HealthyWindow: healthyWindow, Interval: interval}
	return score.Compute(samples, windows, opts), interval, nil
}

// sampleInterval is the median time between consecutive samples, 0 with fewer
// than two.
func sampleInterval(samples []probe.Sample) time.Duration {
	gaps := make([]time.Duration, 0, len(samples))
	for i := 1; i < len(samples); i++ {
		if d := samples[i].At.Sub(samples[i-1].At); d > 0 {
			gaps = append(gaps, d)
		}
	}
	if len(gaps) == 0 {
		return 0
	}
	slices.Sort(gaps)
	return gaps[len(gaps)/2]
}

// running reports whether probes are running, so that waiting can bring new samples.
func (s *session) running() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stop != nil
}

// judgement is what an assertion concluded from one score: pending when the
// verdict may still change with more samples, problems when it fails.
type judgement struct {
	pending  bool
	problems []string
	notes    []string
}

// judge decides an assertion from the score of one probe at time now; running
// says whether more samples can come, interval is the sampling interval.
type judge func(res score.Result, now time.Time, running bool, interval time.Duration) judgement

// AssertDetectedWithin returns a step that checks that, for every fault injected so
// far, the probe named slo saw a failure within d of the injection (MTTD <= d). While
// the probes run it waits for that up to d after the latest injection. A miss is a
// test error.
func AssertDetectedWithin(slo string, d time.Duration) features.Func {
	return assertion("detected within "+d.String(), slo, func(res score.Result, now time.Time, running bool, interval time.Duration) judgement {
		return judgeDetected(res, d, now, running, interval)
	})
}

// AssertRecoveredWithin returns a step that checks that, for every fault injected so
// far that the probe named slo noticed, the probe was healthy again within d of the
// injection (MTTR <= d; healthy means OK for DefaultHealthyWindow). A fault the probe
// never noticed passes (nothing to recover from) and is logged. While the probes run
// it waits up to d and the healthy window after the latest injection. A miss is a
// test error. Faults stay injected while it waits: it measures recovery while the
// fault holds (a service that survives the fault), not after RevertFaults.
func AssertRecoveredWithin(slo string, d time.Duration) features.Func {
	return assertion("recovered within "+d.String(), slo, func(res score.Result, now time.Time, running bool, interval time.Duration) judgement {
		return judgeRecovered(res, d, DefaultHealthyWindow, now, running, interval)
	})
}

// AssertObjective returns a step that checks that the fraction of OK samples of the
// probe named slo so far meets objective (e.g. 0.99). A miss is a test error.
func AssertObjective(slo string, objective float64) features.Func {
	return func(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
		t.Helper()
		res, err := Score(ctx, slo, objective, DefaultHealthyWindow)
		if err != nil {
			t.Fatalf("%v", err)
		}
		if !res.Passed {
			t.Errorf("probe %s: availability %.4f is below the objective %.4f (%d of %d samples failed)",
				slo, res.Availability, objective, res.Failed, res.Samples)
		}
		return ctx
	}
}

// assertion runs a judge on fresh scores until its verdict is final, then reports it.
func assertion(what, slo string, j judge) features.Func {
	return func(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
		t.Helper()
		s, ok := sessionFrom(ctx)
		if !ok {
			t.Fatalf("%s: no probes were started (use StartProbes)", what)
		}
		var verdict judgement
		for {
			res, interval, err := s.score(slo, 0, DefaultHealthyWindow)
			if err != nil {
				t.Fatalf("%s: %v", what, err)
			}
			verdict = j(res, time.Now(), s.running(), interval)
			if !verdict.pending {
				break
			}
			select {
			case <-ctx.Done():
				t.Fatalf("probe %s %s: %v", slo, what, ctx.Err())
			case <-time.After(assertPoll):
			}
		}
		for _, n := range verdict.notes {
			t.Logf("probe %s: %s", slo, n)
		}
		for _, p := range verdict.problems {
			t.Errorf("probe %s not %s: %s", slo, what, p)
		}
		return ctx
	}
}

// slack is how long after a deadline a sample may still land: two intervals (one
// attempt that ran long, one being recorded) and a second.
func slack(interval time.Duration) time.Duration { return 2*interval + time.Second }

// judgeDetected checks MTTD <= d for every fault window.
func judgeDetected(res score.Result, d time.Duration, now time.Time, running bool, interval time.Duration) judgement {
	var j judgement
	if len(res.Faults) == 0 {
		j.problems = append(j.problems, "no fault was injected")
		return j
	}
	for _, f := range res.Faults {
		switch {
		case f.Outcome == score.OutcomeFailingAtInjection:
			j.problems = append(j.problems, fmt.Sprintf("step %s: the probe was already failing when the fault took effect, so MTTD says nothing", f.Window.Name))
		case f.Detected && *f.MTTD <= d:
			j.notes = append(j.notes, fmt.Sprintf("step %s: MTTD %s", f.Window.Name, f.MTTD.Round(time.Millisecond)))
		case f.Detected:
			j.problems = append(j.problems, fmt.Sprintf("step %s: first failure %s after the injection (MTTD), more than %s",
				f.Window.Name, f.MTTD.Round(time.Millisecond), d))
		case running && now.Before(f.Window.Start.Add(d+slack(interval))):
			j.pending = true
		default:
			j.problems = append(j.problems, fmt.Sprintf("step %s: no failing sample within %s of the injection (%d samples)",
				f.Window.Name, d, f.Samples))
		}
	}
	return j
}

// judgeRecovered checks MTTR <= d for every fault window the probe noticed.
func judgeRecovered(res score.Result, d, healthy time.Duration, now time.Time, running bool, interval time.Duration) judgement {
	var j judgement
	if len(res.Faults) == 0 {
		j.problems = append(j.problems, "no fault was injected")
		return j
	}
	for _, f := range res.Faults {
		open := running && now.Before(f.Window.Start.Add(d+healthy+slack(interval)))
		switch {
		case f.Outcome == score.OutcomeFailingAtInjection:
			j.problems = append(j.problems, fmt.Sprintf("step %s: the probe was already failing when the fault took effect, so MTTR says nothing", f.Window.Name))
		case f.Recovered && *f.MTTR <= d:
			j.notes = append(j.notes, fmt.Sprintf("step %s: MTTR %s (MTTD %s, %d of %d samples failed)",
				f.Window.Name, f.MTTR.Round(time.Millisecond), f.MTTD.Round(time.Millisecond), f.Failed, f.Samples))
		case f.Recovered:
			j.problems = append(j.problems, fmt.Sprintf("step %s: healthy again %s after the injection (MTTR), more than %s",
				f.Window.Name, f.MTTR.Round(time.Millisecond), d))
		case open:
			j.pending = true
		case !f.Detected:
			j.notes = append(j.notes, fmt.Sprintf("step %s: the probe never failed, nothing to recover from", f.Window.Name))
		default:
			j.problems = append(j.problems, fmt.Sprintf("step %s: failing since %s after the injection and not healthy for %s within %s (%d of %d samples failed)",
				f.Window.Name, f.MTTD.Round(time.Millisecond), healthy, d, f.Failed, f.Samples))
		}
	}
	return j
}
