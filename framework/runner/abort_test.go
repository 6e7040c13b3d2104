package runner

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"gotest.tools/v3/assert"

	"github.com/gameday-dev/gameday/framework/probe"
	"github.com/gameday-dev/gameday/framework/scenario"
)

// stream says what a synthetic probe does at each moment since the start: whether it
// records a sample, and whether that sample is good.
type stream func(elapsed time.Duration) (record, ok bool)

func okUntil(stop time.Duration) stream { // good samples, then silence from stop
	return func(e time.Duration) (bool, bool) { return e < stop, true }
}

func failingBetween(from, to time.Duration) stream { // good samples except in [from, to)
	return func(e time.Duration) (bool, bool) { return true, e < from || e >= to }
}

// feed records samples of probe "web" every 250ms for horizon as s says, timestamped by a
// clock skewed by skew (as the agent's may be), until ctx ends.
func feed(ctx context.Context, rec *probe.Recorder, s stream, skew, horizon time.Duration) {
	start := time.Now()
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	for {
		elapsed := time.Since(start)
		if elapsed > horizon {
			return
		}
		if record, ok := s(elapsed); record {
			rec.Emit(probe.Sample{Probe: "web", At: time.Now().Add(skew), OK: ok, Latency: time.Millisecond})
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func abortRun() *run {
	r := testRun([]scenario.SLO{{Name: "web", Interval: 250 * time.Millisecond, Timeout: time.Second}})
	r.sc.Spec.Abort.Conditions = []scenario.AbortCondition{{SLO: "web", FailingFor: 10 * time.Second}}
	return r
}

func TestWatchAbort(t *testing.T) {
	t.Parallel()
	const horizon = 40 * time.Second
	cases := []struct {
		name      string
		stream    stream
		skew      time.Duration
		wantAt    time.Duration // when the abort fires, 0 for never
		wantCause []string
	}{
		{name: "a healthy stream does not fire", stream: okUntil(horizon)},
		{name: "a short blip does not fire", stream: failingBetween(5*time.Second, 8*time.Second)},
		{
			// The old check compared the last good sample's own time with the harness
			// clock: an agent clock one hour behind turned any failing sample into an abort.
			name: "a short blip on a skewed agent clock does not fire", stream: failingBetween(5*time.Second, 8*time.Second),
			skew: -time.Hour,
		},
		{
			name: "sustained failure fires", stream: failingBetween(5*time.Second, horizon),
			// The last good sample is at 4.75s: failing for 10s at 14.75s.
			wantAt: 14750 * time.Millisecond, wantCause: []string{"slo web failing for 10s (limit 10s)"},
		},
		{
			name: "sustained failure on a clock ahead fires too", stream: failingBetween(5*time.Second, horizon), skew: time.Hour,
			wantAt: 14750 * time.Millisecond, wantCause: []string{"slo web failing for 10s (limit 10s)"},
		},
		{
			// The last sample is recorded at 4.75s, good: silence for 10s is blindness.
			name: "a stalled stream fires", stream: okUntil(5 * time.Second),
			wantAt: 14750 * time.Millisecond, wantCause: []string{"slo web stream stalled: no sample for 10s (limit 10s)"},
		},
		{
			// Failing from 5s, silent after the sample at 7.75s: the last good sample was
			// at 4.75s, so 3s of failing samples and 7s of silence make 10s at 14.75s.
			name: "a failing stream that stalls fires and says so",
			stream: func(e time.Duration) (bool, bool) {
				return e < 8*time.Second, e < 5*time.Second
			},
			wantAt:    14750 * time.Millisecond,
			wantCause: []string{"slo web failing for 10s (limit 10s)", "its stream stalled 7s ago"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				r := abortRun()
				ctx, cancel := context.WithTimeout(t.Context(), horizon)
				defer cancel()
				start := time.Now()
				var firedAt time.Duration
				var cause error
				abort := func(err error) {
					firedAt, cause = time.Since(start), err
					cancel()
				}
				go feed(ctx, r.recorder, tc.stream, tc.skew, horizon)
				r.watchAbort(ctx, abort)
				if tc.wantAt == 0 {
					assert.NilError(t, cause, "fired at %s", firedAt)
					return
				}
				assert.Assert(t, cause != nil, "did not fire")
				for _, want := range tc.wantCause {
					assert.ErrorContains(t, cause, want)
				}
				// The watcher looks every 250ms.
				assert.Assert(t, firedAt >= tc.wantAt && firedAt <= tc.wantAt+abortCheckInterval,
					"fired at %s, want %s", firedAt, tc.wantAt)
			})
		})
	}
}

func TestUnhealthySLOs(t *testing.T) {
	t.Parallel()
	const window = 5 * time.Second
	cases := []struct {
		name     string
		stream   stream
		run      time.Duration // how long the stream is fed before the check
		skew     time.Duration
		wantSick bool
	}{
		{name: "healthy for longer than the window", stream: okUntil(time.Hour), run: 8 * time.Second},
		{name: "healthy on a skewed clock", stream: okUntil(time.Hour), run: 8 * time.Second, skew: -time.Hour},
		{name: "healthy for less than the window", stream: failingBetween(0, 4*time.Second), run: 8 * time.Second, wantSick: true},
		{name: "failing now", stream: failingBetween(6*time.Second, time.Hour), run: 8 * time.Second, wantSick: true},
		{
			// Healthy for 6s, then nothing for 5s: longer than 2 × (250ms + 1s).
			name: "healthy, then stalled", stream: okUntil(6 * time.Second), run: 11 * time.Second, wantSick: true,
		},
		{
			// Silent for 2s, less than 2.5s: samples in flight, not a stall.
			name: "healthy, then a short silence", stream: okUntil(6 * time.Second), run: 8 * time.Second,
		},
		{name: "no samples at all", stream: okUntil(0), run: 8 * time.Second, wantSick: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				r := abortRun()
				feed(t.Context(), r.recorder, tc.stream, tc.skew, tc.run)
				var want []string
				if tc.wantSick {
					want = []string{"web"}
				}
				assert.DeepEqual(t, r.unhealthySLOs(window), want)
			})
		})
	}
}
