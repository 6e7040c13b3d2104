package gamedaye2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	"sigs.k8s.io/e2e-framework/pkg/envconf"

	"github.com/gameday-dev/gameday/framework/probe"
	"github.com/gameday-dev/gameday/framework/score"
)

// syntheticRun stores in a fresh, stopped session one probe "http" sampled every
// second for 60s, failing from 12s to 27s after start, and a fault window "lose"
// opened at 10s and closed at 40s. It returns the context and the run's start.
func syntheticRun(t *testing.T) (context.Context, time.Time) {
	t.Helper()
	ctx, s := ensureSession(context.Background())
	start := time.Now().Add(-time.Hour).Truncate(time.Second)
	_, _, err := s.reserve(ctx, []string{"http"})
	assert.NilError(t, err)
	for i := range 60 {
		ok := i < 12 || i >= 27
		s.recorder.Emit(probe.Sample{Probe: "http", At: start.Add(time.Duration(i) * time.Second), OK: ok})
	}
	s.windows = append(s.windows, score.Window{Name: "lose", Start: start.Add(10 * time.Second), End: start.Add(40 * time.Second)})
	assert.NilError(t, s.stopProbes(ctx))
	return ctx, start
}

func TestScoreFromRecordedSamplesAndWindows(t *testing.T) {
	t.Parallel()
	ctx, _ := syntheticRun(t)
	res, err := Score(ctx, "http", 0.9, 5*time.Second)
	assert.NilError(t, err)
	assert.Equal(t, res.Samples, 60)
	assert.Equal(t, res.Failed, 15)
	assert.Equal(t, res.Availability, 0.75)
	assert.Assert(t, !res.Passed)
	assert.Equal(t, len(res.Faults), 1)
	f := res.Faults[0]
	assert.Equal(t, f.Window.Name, "lose")
	assert.Assert(t, f.Detected && f.Recovered)
	assert.Equal(t, *f.MTTD, 2*time.Second)
	assert.Equal(t, *f.MTTR, 17*time.Second)
	assert.Equal(t, len(res.NoData), 0, "the inferred interval (1s) sees no gap")

	_, err = Score(ctx, "dns", 0.9, time.Second)
	assert.ErrorContains(t, err, `no probe named "dns" (started: http)`)
	_, err = Score(context.Background(), "http", 0.9, time.Second)
	assert.ErrorContains(t, err, "no probes were started")
}

func TestSampleInterval(t *testing.T) {
	t.Parallel()
	at := func(secs ...float64) []probe.Sample {
		base := time.Unix(1000, 0)
		var out []probe.Sample
		for _, s := range secs {
			out = append(out, probe.Sample{At: base.Add(time.Duration(s * float64(time.Second)))})
		}
		return out
	}
	tests := []struct {
		name    string
		samples []probe.Sample
		want    time.Duration
	}{
		{"none", nil, 0},
		{"one", at(0), 0},
		{"regular", at(0, 1, 2, 3), time.Second},
		{"a gap does not move the median", at(0, 1, 2, 30, 31, 32), time.Second},
		{"same instant ignored", at(0, 0, 0.5, 1), 500 * time.Millisecond},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, sampleInterval(tc.samples), tc.want)
		})
	}
}

func TestAssertionsOnARecordedRun(t *testing.T) {
	t.Parallel()
	ctx, _ := syntheticRun(t)
	cfg := envconf.New()
	// These pass: a failing assertion would fail this test.
	AssertDetectedWithin("http", 5*time.Second)(ctx, t, cfg)
	AssertRecoveredWithin("http", 30*time.Second)(ctx, t, cfg)
	AssertObjective("http", 0.7)(ctx, t, cfg)
}

func dur(d time.Duration) *time.Duration { return &d }

func TestJudgeDetected(t *testing.T) {
	t.Parallel()
	now := time.Now()
	window := func(ago time.Duration) score.Window { return score.Window{Name: "f", Start: now.Add(-ago)} }
	tests := []struct {
		name        string
		fault       score.Fault
		running     bool
		wantPending bool
		wantProblem string
	}{
		{name: "detected in time", fault: score.Fault{Window: window(time.Minute), Detected: true, MTTD: dur(3 * time.Second)}},
		{name: "detected late", fault: score.Fault{Window: window(time.Minute), Detected: true, MTTD: dur(20 * time.Second)},
			wantProblem: "first failure 20s after the injection (MTTD), more than 10s"},
		{name: "not yet, probes running, time left", fault: score.Fault{Window: window(2 * time.Second)}, running: true, wantPending: true},
		{name: "not yet, probes stopped", fault: score.Fault{Window: window(2 * time.Second), Samples: 4},
			wantProblem: "no failing sample within 10s of the injection (4 samples)"},
		{name: "never, time is up", fault: score.Fault{Window: window(time.Minute)}, running: true,
			wantProblem: "no failing sample"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			j := judgeDetected(score.Result{Faults: []score.Fault{tc.fault}}, 10*time.Second, now, tc.running, time.Second)
			assert.Equal(t, j.pending, tc.wantPending)
			checkProblem(t, j, tc.wantProblem)
		})
	}
	j := judgeDetected(score.Result{}, time.Second, now, true, time.Second)
	checkProblem(t, j, "no fault was injected")
}

func TestJudgeRecovered(t *testing.T) {
	t.Parallel()
	now := time.Now()
	window := func(ago time.Duration) score.Window { return score.Window{Name: "f", Start: now.Add(-ago)} }
	tests := []struct {
		name        string
		fault       score.Fault
		running     bool
		wantPending bool
		wantProblem string
		wantNote    string
	}{
		{name: "recovered in time",
			fault:    score.Fault{Window: window(time.Minute), Detected: true, MTTD: dur(time.Second), Recovered: true, MTTR: dur(40 * time.Second)},
			wantNote: "MTTR 40s"},
		{name: "recovered late",
			fault:       score.Fault{Window: window(time.Minute), Detected: true, MTTD: dur(time.Second), Recovered: true, MTTR: dur(50 * time.Second)},
			running:     true,
			wantProblem: "healthy again 50s after the injection (MTTR), more than 45s"},
		{name: "failing, time left",
			fault:   score.Fault{Window: window(30 * time.Second), Detected: true, MTTD: dur(time.Second)},
			running: true, wantPending: true},
		{name: "failing, time is up (d + healthy window + slack)",
			fault:       score.Fault{Window: window(time.Minute), Detected: true, MTTD: dur(time.Second), Failed: 9, Samples: 60},
			running:     true,
			wantProblem: "failing since 1s after the injection and not healthy for 10s within 45s (9 of 60 samples failed)"},
		{name: "failing, probes stopped",
			fault:       score.Fault{Window: window(5 * time.Second), Detected: true, MTTD: dur(time.Second)},
			wantProblem: "not healthy"},
		{name: "never failed, time left", fault: score.Fault{Window: window(5 * time.Second)}, running: true, wantPending: true},
		{name: "never failed, over", fault: score.Fault{Window: window(time.Minute)}, running: true,
			wantNote: "never failed, nothing to recover from"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			j := judgeRecovered(score.Result{Faults: []score.Fault{tc.fault}}, 45*time.Second, 10*time.Second, now, tc.running, time.Second)
			assert.Equal(t, j.pending, tc.wantPending)
			checkProblem(t, j, tc.wantProblem)
			if tc.wantNote != "" {
				assert.Assert(t, len(j.notes) == 1 && strings.Contains(j.notes[0], tc.wantNote), "notes: %q", j.notes)
			}
		})
	}
}

func checkProblem(t *testing.T, j judgement, want string) {
	t.Helper()
	if want == "" {
		assert.Equal(t, len(j.problems), 0, "problems: %q", j.problems)
		return
	}
	assert.Assert(t, len(j.problems) == 1 && strings.Contains(j.problems[0], want), "problems: %q, want %q", j.problems, want)
}

// MTTD and MTTR run from when the fault took effect (the lifecycle's Effective),
// and a probe already failing then passes neither assertion.
func TestScoreFromEffectAndFailingAtInjection(t *testing.T) {
	t.Parallel()
	ctx, start := syntheticRun(t)
	s, _ := sessionFrom(ctx)
	s.windows[0].Effective = start.Add(11 * time.Second)
	res, err := Score(ctx, "http", 0.9, 5*time.Second)
	assert.NilError(t, err)
	assert.Equal(t, *res.Faults[0].MTTD, time.Second, "from the effect at 11s, not the start at 10s")

	// A fault injected while the probe already failed (from 12s).
	s.mu.Lock()
	s.windows[0].Start = start.Add(13 * time.Second)
	s.windows[0].Effective = start.Add(14 * time.Second)
	s.mu.Unlock()
	res, err = Score(ctx, "http", 0.9, 5*time.Second)
	assert.NilError(t, err)
	assert.Equal(t, res.Faults[0].Outcome, score.OutcomeFailingAtInjection)
	j := judgeDetected(res, time.Minute, time.Now(), false, time.Second)
	assert.Assert(t, len(j.problems) == 1 && strings.Contains(j.problems[0], "already failing"), "%v", j.problems)
	j = judgeRecovered(res, time.Minute, 5*time.Second, time.Now(), false, time.Second)
	assert.Assert(t, len(j.problems) == 1 && strings.Contains(j.problems[0], "already failing"), "%v", j.problems)
}
