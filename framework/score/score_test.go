package score_test

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"gotest.tools/v3/assert"

	"github.com/gameday-dev/gameday/framework/probe"
	"github.com/gameday-dev/gameday/framework/score"
)

var t0 = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

// at is t0 plus s seconds.
func at(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }

// stream builds one sample per second from a pattern: '+' is OK, '-' is failing,
// '.' is a missing sample (the probe produced nothing in that second).
func stream(pattern string) []probe.Sample {
	var samples []probe.Sample
	for i, c := range pattern {
		switch c {
		case '+':
			samples = append(samples, probe.Sample{Probe: "http", At: at(float64(i)), OK: true, Latency: 5 * time.Millisecond})
		case '-':
			samples = append(samples, probe.Sample{Probe: "http", At: at(float64(i)), Error: fmt.Sprintf("fail@%d", i), Latency: time.Second})
		}
	}
	return samples
}

func window(name string, start, end float64) score.Window {
	return score.Window{Name: name, Start: at(start), End: at(end)}
}

// summary is a Result with times as seconds since t0, so expectations read like the pattern.
type summary struct {
	Samples, Failed    int
	Availability       float64
	Disruptions        []string // "start-end/samples", "+open", "+pre"
	DisruptionSeconds  float64
	PreExistingSeconds float64
	NoData             []string
	Budget, BurnRate   float64
	Passed             bool
	Faults             []faultSummary
}

type faultSummary struct {
	Name           string
	MTTD, MTTR     string // "-" when absent
	FailingAtStart bool
	Samples        int
	Failed         int
	Flaps          int
	Disrupted      float64
}

func offset(t time.Time) string { return fmt.Sprint(t.Sub(t0).Seconds()) }

func round(f float64) float64 { return math.Round(f*1e9) / 1e9 }

func optional(d *time.Duration) string {
	if d == nil {
		return "-"
	}
	return d.String()
}

func summarize(r score.Result) summary {
	s := summary{
		Samples: r.Samples, Failed: r.Failed, Availability: round(r.Availability),
		DisruptionSeconds: round(r.DisruptionSeconds), PreExistingSeconds: round(r.PreExistingSeconds),
		Budget: round(r.ErrorBudgetConsumed), BurnRate: round(r.BurnRate), Passed: r.Passed,
	}
	for _, d := range r.Disruptions {
		text := fmt.Sprintf("%s-%s/%d", offset(d.Start), offset(d.End), d.Samples)
		if d.Open {
			text += "+open"
		}
		if d.PreExisting {
			text += "+pre"
		}
		s.Disruptions = append(s.Disruptions, text)
	}
	for _, gap := range r.NoData {
		s.NoData = append(s.NoData, offset(gap.Start)+"-"+offset(gap.End))
	}
	for _, f := range r.Faults {
		s.Faults = append(s.Faults, faultSummary{
			Name: f.Window.Name, MTTD: optional(f.MTTD), MTTR: optional(f.MTTR), FailingAtStart: f.FailingAtStart,
			Samples: f.Samples, Failed: f.Failed, Flaps: f.Flaps, Disrupted: round(f.DisruptionSeconds),
		})
	}
	return s
}

func TestCompute(t *testing.T) {
	t.Parallel()
	opts := score.Options{Objective: 0.9, HealthyWindow: 3 * time.Second, Interval: time.Second}
	tests := []struct {
		name    string
		pattern string
		windows []score.Window
		opts    score.Options
		want    summary
	}{{
		name:    "healthy run: nothing detected, nothing to recover",
		pattern: "++++++++++",
		windows: []score.Window{window("kill", 2, 4)},
		want: summary{Samples: 10, Availability: 1, Passed: true,
			Faults: []faultSummary{{Name: "kill", MTTD: "-", MTTR: "-", Samples: 8}}},
	}, {
		name:    "one outage: MTTD to first failure, MTTR to start of the healthy run",
		pattern: "+++---+++++",
		windows: []score.Window{window("kill", 2, 4)},
		want: summary{Samples: 11, Failed: 3, Availability: round(8.0 / 11), Disruptions: []string{"3-6/3"},
			DisruptionSeconds: 3, Budget: round(3.0 / 11 / 0.1), BurnRate: round(3.0 / 11 / 0.1),
			Faults: []faultSummary{{Name: "kill", MTTD: "1s", MTTR: "4s", Samples: 9, Failed: 3, Flaps: 1, Disrupted: 3}}},
	}, {
		name:    "still failing at the end: open disruption ends at the last sample, not recovered",
		pattern: "+++-----",
		windows: []score.Window{window("kill", 3, 4)},
		want: summary{Samples: 8, Failed: 5, Availability: round(3.0 / 8), Disruptions: []string{"3-7/5+open"},
			DisruptionSeconds: 4, Budget: round(5.0 / 8 / 0.1), BurnRate: round(5.0 / 8 / 0.1),
			Faults: []faultSummary{{Name: "kill", MTTD: "0s", MTTR: "-", Samples: 5, Failed: 5, Flaps: 1, Disrupted: 4}}},
	}, {
		name:    "failures before the first window are pre-existing",
		pattern: "--+++++-----++++++",
		windows: []score.Window{window("kill", 5, 6)},
		want: summary{Samples: 18, Failed: 7, Availability: round(11.0 / 18), Disruptions: []string{"0-2/2+pre", "7-12/5"},
			DisruptionSeconds: 7, PreExistingSeconds: 2, Budget: round(7.0 / 18 / 0.1), BurnRate: round(7.0 / 18 / 0.1),
			Faults: []faultSummary{{Name: "kill", MTTD: "2s", MTTR: "7s", Samples: 13, Failed: 5, Flaps: 1, Disrupted: 5}}},
	}, {
		name:    "already failing at injection: flagged, pre-existing part counted up to the window",
		pattern: "++------+++++",
		windows: []score.Window{window("kill", 4, 5)},
		want: summary{Samples: 13, Failed: 6, Availability: round(7.0 / 13), Disruptions: []string{"2-8/6+pre"},
			DisruptionSeconds: 6, PreExistingSeconds: 2, Budget: round(6.0 / 13 / 0.1), BurnRate: round(6.0 / 13 / 0.1),
			Faults: []faultSummary{{Name: "kill", MTTD: "0s", MTTR: "4s", FailingAtStart: true, Samples: 9, Failed: 4, Disrupted: 4}}},
	}, {
		name:    "flapping: short OK runs do not end the outage",
		pattern: "++-+-+-++++++",
		windows: []score.Window{window("kill", 1, 2)},
		want: summary{Samples: 13, Failed: 3, Availability: round(10.0 / 13), Disruptions: []string{"2-3/1", "4-5/1", "6-7/1"},
			DisruptionSeconds: 3, Budget: round(3.0 / 13 / 0.1), BurnRate: round(3.0 / 13 / 0.1),
			Faults: []faultSummary{{Name: "kill", MTTD: "1s", MTTR: "6s", Samples: 12, Failed: 3, Flaps: 3, Disrupted: 3}}},
	}, {
		name:    "gap while failing: no-data interval splits the disruption",
		pattern: "++--.....--+++++",
		windows: []score.Window{window("kill", 1, 2)},
		want: summary{Samples: 11, Failed: 4, Availability: round(7.0 / 11), Disruptions: []string{"2-3/2+open", "9-11/2"},
			DisruptionSeconds: 3, NoData: []string{"3-9"}, Budget: round(4.0 / 11 / 0.1), BurnRate: round(4.0 / 11 / 0.1),
			Faults: []faultSummary{{Name: "kill", MTTD: "1s", MTTR: "10s", Samples: 10, Failed: 4, Flaps: 2, Disrupted: 3}}},
	}, {
		name:    "lone failing sample before a gap: zero-length open disruption",
		pattern: "+-....+",
		want: summary{Samples: 3, Failed: 1, Availability: round(2.0 / 3), Disruptions: []string{"1-1/1+open+pre"},
			NoData: []string{"1-6"}, Budget: round(1.0 / 3 / 0.1), BurnRate: round(1.0 / 3 / 0.1)},
	}, {
		name:    "exactly three intervals apart is not a gap",
		pattern: "+-..+",
		want: summary{Samples: 3, Failed: 1, Availability: round(2.0 / 3), Disruptions: []string{"1-4/1+pre"},
			DisruptionSeconds: 3, PreExistingSeconds: 3, Budget: round(1.0 / 3 / 0.1), BurnRate: round(1.0 / 3 / 0.1)},
	}, {
		name:    "a gap is not healthy time",
		pattern: "+-+.....++-+++++",
		windows: []score.Window{window("kill", 0, 1)},
		want: summary{Samples: 11, Failed: 2, Availability: round(9.0 / 11), Disruptions: []string{"1-2/1", "10-11/1"},
			DisruptionSeconds: 2, NoData: []string{"2-8"}, Budget: round(2.0 / 11 / 0.1), BurnRate: round(2.0 / 11 / 0.1),
			Faults: []faultSummary{{Name: "kill", MTTD: "1s", MTTR: "11s", Samples: 11, Failed: 2, Flaps: 2, Disrupted: 2}}},
	}, {
		name:    "without an interval there is no gap detection",
		pattern: "+-+.....++-+++++",
		windows: []score.Window{window("kill", 0, 1)},
		opts:    score.Options{Objective: 0.9, HealthyWindow: 3 * time.Second},
		want: summary{Samples: 11, Failed: 2, Availability: round(9.0 / 11), Disruptions: []string{"1-2/1", "10-11/1"},
			DisruptionSeconds: 2, Budget: round(2.0 / 11 / 0.1), BurnRate: round(2.0 / 11 / 0.1),
			Faults: []faultSummary{{Name: "kill", MTTD: "1s", MTTR: "2s", Samples: 11, Failed: 2, Flaps: 2, Disrupted: 2}}},
	}, {
		name:    "two windows: each scored up to the next window's start",
		pattern: "++--+++++--++++++",
		windows: []score.Window{window("b", 8, 9), window("a", 1, 2)}, // out of order on purpose
		want: summary{Samples: 17, Failed: 4, Availability: round(13.0 / 17), Disruptions: []string{"2-4/2", "9-11/2"},
			DisruptionSeconds: 4, Budget: round(4.0 / 17 / 0.1), BurnRate: round(4.0 / 17 / 0.1),
			Faults: []faultSummary{
				{Name: "a", MTTD: "1s", MTTR: "3s", Samples: 7, Failed: 2, Flaps: 1, Disrupted: 2},
				{Name: "b", MTTD: "1s", MTTR: "3s", Samples: 9, Failed: 2, Flaps: 1, Disrupted: 2},
			}},
	}, {
		name:    "not detected before the next window starts",
		pattern: "+++++++---+++++",
		windows: []score.Window{window("a", 1, 2), window("b", 5, 6)},
		want: summary{Samples: 15, Failed: 3, Availability: round(12.0 / 15), Disruptions: []string{"7-10/3"},
			DisruptionSeconds: 3, Budget: round(3.0 / 15 / 0.1), BurnRate: round(3.0 / 15 / 0.1),
			Faults: []faultSummary{
				{Name: "a", MTTD: "-", MTTR: "-", Samples: 4},
				{Name: "b", MTTD: "2s", MTTR: "5s", Samples: 10, Failed: 3, Flaps: 1, Disrupted: 3},
			}},
	}, {
		name:    "not recovered before the next window starts",
		pattern: "+---------++++++",
		windows: []score.Window{window("a", 1, 2), window("b", 4, 5)},
		want: summary{Samples: 16, Failed: 9, Availability: round(7.0 / 16), Disruptions: []string{"1-10/9"},
			DisruptionSeconds: 9, Budget: round(9.0 / 16 / 0.1), BurnRate: round(9.0 / 16 / 0.1),
			Faults: []faultSummary{
				{Name: "a", MTTD: "0s", MTTR: "-", Samples: 3, Failed: 3, Flaps: 1, Disrupted: 3},
				{Name: "b", MTTD: "0s", MTTR: "6s", FailingAtStart: true, Samples: 12, Failed: 6, Disrupted: 6},
			}},
	}, {
		name:    "healthy run shorter than the healthy window at the end: not recovered",
		pattern: "+--++",
		windows: []score.Window{window("kill", 0, 1)},
		want: summary{Samples: 5, Failed: 2, Availability: 0.6, Disruptions: []string{"1-3/2"},
			DisruptionSeconds: 2, Budget: 4, BurnRate: 4,
			Faults: []faultSummary{{Name: "kill", MTTD: "1s", MTTR: "-", Samples: 5, Failed: 2, Flaps: 1, Disrupted: 2}}},
	}, {
		name:    "zero healthy window: the first OK sample recovers",
		pattern: "+--+-+",
		windows: []score.Window{window("kill", 0, 1)},
		opts:    score.Options{Objective: 0.9, Interval: time.Second},
		want: summary{Samples: 6, Failed: 3, Availability: 0.5, Disruptions: []string{"1-3/2", "4-5/1"},
			DisruptionSeconds: 3, Budget: 5, BurnRate: 5,
			Faults: []faultSummary{{Name: "kill", MTTD: "1s", MTTR: "3s", Samples: 6, Failed: 3, Flaps: 2, Disrupted: 3}}},
	}, {
		name:    "no windows: every disruption is pre-existing",
		pattern: "+--+",
		want: summary{Samples: 4, Failed: 2, Availability: 0.5, Disruptions: []string{"1-3/2+pre"},
			DisruptionSeconds: 2, PreExistingSeconds: 2, Budget: 5, BurnRate: 5},
	}, {
		name:    "window after the data: range is empty",
		pattern: "+++",
		windows: []score.Window{window("late", 10, 11)},
		want: summary{Samples: 3, Availability: 1, Passed: true,
			Faults: []faultSummary{{Name: "late", MTTD: "-", MTTR: "-"}}},
	}, {
		name:    "no samples: nothing passes",
		windows: []score.Window{window("kill", 0, 1)},
		want:    summary{Faults: []faultSummary{{Name: "kill", MTTD: "-", MTTR: "-"}}},
	}, {
		name:    "objective 1: no budget to burn, any failure fails",
		pattern: "++-+",
		opts:    score.Options{Objective: 1, Interval: time.Second},
		want: summary{Samples: 4, Failed: 1, Availability: 0.75, Disruptions: []string{"2-3/1+pre"},
			DisruptionSeconds: 1, PreExistingSeconds: 1},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			o := opts
			if tc.opts != (score.Options{}) {
				o = tc.opts
			}
			got := score.Compute(stream(tc.pattern), tc.windows, o)
			assert.DeepEqual(t, summarize(got), tc.want)
		})
	}
}

func TestComputeObjectiveBoundary(t *testing.T) {
	t.Parallel()
	tests := []struct {
		failures   int
		wantPassed bool
		wantBudget float64
	}{
		{failures: 0, wantPassed: true, wantBudget: 0},
		{failures: 1, wantPassed: true, wantBudget: 1},
		{failures: 2, wantPassed: false, wantBudget: 2},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprint(tc.failures, " failures in 100"), func(t *testing.T) {
			t.Parallel()
			pattern := strings.Repeat("-", tc.failures) + strings.Repeat("+", 100-tc.failures)
			got := score.Compute(stream(pattern), nil, score.Options{Objective: 0.99, Interval: time.Second})
			assert.Equal(t, got.Passed, tc.wantPassed)
			assert.Equal(t, round(got.ErrorBudgetConsumed), tc.wantBudget)
		})
	}
}

func TestComputeUnsortedInput(t *testing.T) {
	t.Parallel()
	samples := stream("+++---+++++")
	windows := []score.Window{window("kill", 2, 4)}
	opts := score.Options{Objective: 0.9, HealthyWindow: 3 * time.Second, Interval: time.Second}
	want := score.Compute(samples, windows, opts)

	reversed := slices.Clone(samples)
	slices.Reverse(reversed)
	got := score.Compute(reversed, windows, opts)

	assert.DeepEqual(t, got, want)
	assert.Equal(t, reversed[0].At, at(10), "the caller's slice must not be reordered")
}

func TestComputeFaultTimes(t *testing.T) {
	t.Parallel()
	got := score.Compute(stream("+++---+++++"), []score.Window{window("kill", 2, 4)},
		score.Options{Objective: 0.9, HealthyWindow: 3 * time.Second, Interval: time.Second})
	assert.Equal(t, len(got.Faults), 1)
	f := got.Faults[0]
	assert.Equal(t, f.DetectedAt, at(3))
	assert.Equal(t, f.RecoveredAt, at(6))
	assert.Equal(t, f.Until, at(10))
	assert.Equal(t, got.Disruptions[0].FirstError, "fail@3")
	assert.Equal(t, got.First, at(0))
	assert.Equal(t, got.Last, at(10))
}

// BenchmarkCompute scores a day-long run at 10 Hz (1M samples) with a five-minute
// fault every hour, to show scoring is cheap next to the run it scores.
func BenchmarkCompute(b *testing.B) {
	const n = 1_000_000
	const interval = 100 * time.Millisecond
	samples := make([]probe.Sample, n)
	var windows []score.Window
	for i := range samples {
		t := t0.Add(time.Duration(i) * interval)
		intoHour := time.Duration(i) * interval % time.Hour
		if intoHour == 30*time.Minute {
			windows = append(windows, score.Window{Name: fmt.Sprint("fault-", len(windows)), Start: t, End: t.Add(5 * time.Minute)})
		}
		failing := intoHour >= 30*time.Minute+10*time.Second && intoHour < 35*time.Minute
		samples[i] = probe.Sample{Probe: "http", At: t, OK: !failing, Latency: 3 * time.Millisecond}
		if failing {
			samples[i].Error = "connection refused"
		}
	}
	opts := score.Options{Objective: 0.999, HealthyWindow: 30 * time.Second, Interval: interval}
	b.ReportAllocs()
	b.ResetTimer()
	iterations := 0
	for b.Loop() {
		score.Compute(samples, windows, opts)
		iterations++
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(iterations*n), "ns/sample")
}
