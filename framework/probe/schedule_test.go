package probe

import (
	"cmp"
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"gotest.tools/v3/assert"
)

// scriptedAttempt returns an attempt that takes durations[i] on its i-th call (then the last
// duration), succeeding unless its context ends first.
func scriptedAttempt(durations ...time.Duration) attemptFunc {
	calls := 0
	return func(ctx context.Context) error {
		d := durations[min(calls, len(durations)-1)]
		calls++
		select {
		case <-time.After(d):
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// sampleAt is a Sample without its probe name, with At as an offset from the schedule's start.
type sampleAt struct {
	At      time.Duration
	OK      bool
	Latency time.Duration
	Error   string
}

func TestRunScheduleTiming(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name      string
		interval  time.Duration // 0 means one second
		timeout   time.Duration
		durations []time.Duration
		want      []sampleAt
	}{
		{
			name:      "fast attempts keep the rate",
			timeout:   time.Second,
			durations: []time.Duration{100 * time.Millisecond},
			want: []sampleAt{
				{At: 0, OK: true, Latency: 100 * time.Millisecond},
				{At: time.Second, OK: true, Latency: 100 * time.Millisecond},
				{At: 2 * time.Second, OK: true, Latency: 100 * time.Millisecond},
			},
		},
		{
			// The attempt at 1s runs until 3.5s: the slot at 2s is skipped and emits nothing,
			// the slot at 3s is served at 3.5s (less than one interval late), then the
			// schedule is back on the whole seconds.
			name:      "a slow attempt skips slots without a sample",
			timeout:   10 * time.Second,
			durations: []time.Duration{100 * time.Millisecond, 2500 * time.Millisecond, 100 * time.Millisecond},
			want: []sampleAt{
				{At: 0, OK: true, Latency: 100 * time.Millisecond},
				{At: time.Second, OK: true, Latency: 2500 * time.Millisecond},
				{At: 3500 * time.Millisecond, OK: true, Latency: 100 * time.Millisecond},
				{At: 4 * time.Second, OK: true, Latency: 100 * time.Millisecond},
			},
		},
		{
			name:      "an attempt stops at the timeout",
			timeout:   300 * time.Millisecond,
			durations: []time.Duration{time.Hour},
			want: []sampleAt{
				{At: 0, Latency: 300 * time.Millisecond, Error: context.DeadlineExceeded.Error()},
				{At: time.Second, Latency: 300 * time.Millisecond, Error: context.DeadlineExceeded.Error()},
			},
		},
		{
			// The slot at 1s is served late, at 1.5s; that attempt runs until 3s, so the
			// slot at 2s is skipped (no sample) and the next attempt is back on time at 3s.
			name:      "a timeout longer than the interval serves late, then skips",
			timeout:   1500 * time.Millisecond,
			durations: []time.Duration{time.Hour},
			want: []sampleAt{
				{At: 0, Latency: 1500 * time.Millisecond, Error: context.DeadlineExceeded.Error()},
				{At: 1500 * time.Millisecond, Latency: 1500 * time.Millisecond, Error: context.DeadlineExceeded.Error()},
				{At: 3 * time.Second, Latency: 1500 * time.Millisecond, Error: context.DeadlineExceeded.Error()},
			},
		},
		{
			// The demo's case: a 1s timeout at a 250ms interval is one failure per attempt,
			// not four; the slots at 250, 500 and 750 ms are one served late (at 1s) and
			// two skipped without a sample.
			name:      "a timeout of four intervals is one failure, not four",
			interval:  250 * time.Millisecond,
			timeout:   time.Second,
			durations: []time.Duration{time.Hour},
			want: []sampleAt{
				{At: 0, Latency: time.Second, Error: context.DeadlineExceeded.Error()},
				{At: time.Second, Latency: time.Second, Error: context.DeadlineExceeded.Error()},
				{At: 2 * time.Second, Latency: time.Second, Error: context.DeadlineExceeded.Error()},
			},
		},
		{
			// A slow success is one OK sample with its latency; the slot at 250ms is served
			// at 600ms, the one at 500ms is skipped, then the schedule is back on time.
			name:      "a slow success is one OK sample with its latency",
			interval:  250 * time.Millisecond,
			timeout:   time.Second,
			durations: []time.Duration{600 * time.Millisecond, 100 * time.Millisecond},
			want: []sampleAt{
				{At: 0, OK: true, Latency: 600 * time.Millisecond},
				{At: 600 * time.Millisecond, OK: true, Latency: 100 * time.Millisecond},
				{At: 750 * time.Millisecond, OK: true, Latency: 100 * time.Millisecond},
				{At: time.Second, OK: true, Latency: 100 * time.Millisecond},
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				ctx, cancel := context.WithCancel(t.Context())
				defer cancel()
				start := time.Now()
				var got []sampleAt
				emit := func(s Sample) {
					assert.Equal(t, s.Probe, "p")
					got = append(got, sampleAt{At: s.At.Sub(start), OK: s.OK, Latency: s.Latency, Error: s.Error})
					if len(got) == len(tc.want) {
						cancel()
					}
				}
				interval := cmp.Or(tc.interval, time.Second)
				err := runSchedule(ctx, "p", interval, tc.timeout, scriptedAttempt(tc.durations...), emit)
				assert.NilError(t, err)
				assert.DeepEqual(t, got, tc.want)
			})
		})
	}
}

func TestRunScheduleDropsTheAttemptCutByShutdown(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		time.AfterFunc(1500*time.Millisecond, cancel) // during the second attempt
		var got []Sample
		err := runSchedule(ctx, "p", time.Second, time.Hour, scriptedAttempt(100*time.Millisecond, time.Hour),
			func(s Sample) { got = append(got, s) })
		assert.NilError(t, err)
		assert.Equal(t, len(got), 1)
		assert.Assert(t, got[0].OK)
	})
}

func TestRunScheduleRejectsBadTiming(t *testing.T) {
	t.Parallel()
	never := func(context.Context) error { panic("must not run") }
	err := runSchedule(t.Context(), "p", 0, time.Second, never, func(Sample) {})
	assert.ErrorContains(t, err, "interval must be positive")
	err = runSchedule(t.Context(), "p", time.Second, -1, never, func(Sample) {})
	assert.ErrorContains(t, err, "timeout must be positive")
}

// funcProbe is a Probe whose attempts are a function.
type funcProbe struct {
	name    string
	attempt attemptFunc
}

func (p funcProbe) Name() string { return p.name }

func (p funcProbe) Run(ctx context.Context, emit func(Sample)) error {
	return runSchedule(ctx, p.name, time.Second, time.Second, p.attempt, emit)
}

func TestRunAll(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), 2500*time.Millisecond)
		defer cancel()
		var rec Recorder
		fail := errors.New("boom")
		err := RunAll(ctx, []Probe{
			funcProbe{"ok", func(context.Context) error { return nil }},
			funcProbe{"bad", func(context.Context) error { return fail }},
		}, rec.Emit)
		assert.NilError(t, err)
		assert.DeepEqual(t, rec.Probes(), []string{"bad", "ok"})
		assert.Equal(t, len(rec.Samples("ok")), 3) // at 0s, 1s, 2s
		for _, s := range rec.Samples("bad") {
			assert.Equal(t, s.Error, "boom")
		}
	})

	err := RunAll(t.Context(), []Probe{funcProbe{name: "x"}, funcProbe{name: "x"}}, func(Sample) {})
	assert.ErrorContains(t, err, `probe name "x" used twice`)
}
