package score_test

import (
	"fmt"
	"math"
	"os"
	"regexp"
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

// slowLatency is the latency of an 's' sample: a success slower than 500ms.
const slowLatency = 600 * time.Millisecond

// stream builds one sample per step from a pattern (the notation of docs/scoring.md):
// '+' is a good attempt (5ms), '-' a failed one, 's' a success that took 600ms, 'o' a
// no-data marker (probe.OverranError) and '.' nothing (no sample in that step).
func stream(pattern string, step time.Duration) []probe.Sample {
	var samples []probe.Sample
	for i, c := range pattern {
		t := t0.Add(time.Duration(i) * step)
		switch c {
		case '+':
			samples = append(samples, probe.Sample{Probe: "http", At: t, OK: true, Latency: 5 * time.Millisecond})
		case 's':
			samples = append(samples, probe.Sample{Probe: "http", At: t, OK: true, Latency: slowLatency})
		case '-':
			samples = append(samples, probe.Sample{Probe: "http", At: t, Error: fmt.Sprintf("fail@%d", i), Latency: time.Second})
		case 'o':
			samples = append(samples, probe.Sample{Probe: "http", At: t, Error: probe.OverranError})
		}
	}
	return samples
}

func window(name string, start, end float64) score.Window {
	return score.Window{Name: name, Start: at(start), End: at(end)}
}

// effectiveWindow is a window whose fault took effect at effective.
func effectiveWindow(name string, start, effective, end float64) score.Window {
	return score.Window{Name: name, Start: at(start), Effective: at(effective), End: at(end)}
}

// summary is a Result with times as seconds since t0, so expectations read like the pattern.
type summary struct {
	Samples, Failed, Errored, Slow, NoDataSamples int
	Availability                                  float64
	Disruptions                                   []string // "start-end/samples", "+open", "+pre"
	DisruptionSeconds                             float64
	PreExistingSeconds                            float64
	NoData                                        []string
	Budget, BurnRate                              float64
	Passed                                        bool
	Faults                                        []faultSummary
}

type faultSummary struct {
	Name       string
	Outcome    score.Outcome
	Injection  time.Duration
	MTTD, MTTR string // "-" when absent
	HealthyAt  string // RecoveredAt as an offset, "-" when zero
	Samples    int
	Failed     int
	Flaps      int
	Disrupted  float64
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
		Samples: r.Samples, Failed: r.Failed, Errored: r.Errored, Slow: r.Slow, NoDataSamples: r.NoDataSamples,
		Availability: round(r.Availability), DisruptionSeconds: round(r.DisruptionSeconds),
		PreExistingSeconds: round(r.PreExistingSeconds), Budget: round(r.ErrorBudgetConsumed),
		BurnRate: round(r.BurnRate), Passed: r.Passed,
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
		healthy := "-"
		if !f.RecoveredAt.IsZero() {
			healthy = offset(f.RecoveredAt)
		}
		s.Faults = append(s.Faults, faultSummary{
			Name: f.Window.Name, Outcome: f.Outcome, Injection: f.Injection, MTTD: optional(f.MTTD), MTTR: optional(f.MTTR),
			HealthyAt: healthy, Samples: f.Samples, Failed: f.Failed, Flaps: f.Flaps, Disrupted: round(f.DisruptionSeconds),
		})
	}
	return s
}

// edgeCase is one row of the edge-case table in docs/scoring.md.
type edgeCase struct {
	id      string // the row's ID in docs/scoring.md
	pattern string
	step    time.Duration // time between pattern characters; default 1s
	windows []score.Window
	opts    *score.Options // default: objective 0.9, healthy window 3s, interval 1s
	// between, when set, scores the pattern with CountRange over [between[0], between[1]) seconds.
	between *[2]float64
	want    summary
}

// budget30d is the share of a 30-day budget that failed attempts use at interval 1s.
func budget30d(failed int, objective float64) float64 {
	return round(float64(failed) / ((1 - objective) * float64(score.DefaultPeriod/time.Second)))
}

var edgeCases = []edgeCase{{
	id:      "healthy",
	pattern: "++++++++++",
	windows: []score.Window{window("kill", 2, 4)},
	want: summary{Samples: 10, Availability: 1, Passed: true,
		Faults: []faultSummary{{Name: "kill", Outcome: score.OutcomeNotDetected, MTTD: "-", MTTR: "-", HealthyAt: "-", Samples: 8}}},
}, {
	id:      "one-outage",
	pattern: "+++---+++++",
	windows: []score.Window{window("kill", 2, 4)},
	want: summary{Samples: 11, Failed: 3, Errored: 3, Availability: round(8.0 / 11), Disruptions: []string{"3-6/3"},
		DisruptionSeconds: 3, Budget: budget30d(3, 0.9), BurnRate: round(3.0 / 11 / 0.1),
		Faults: []faultSummary{{Name: "kill", Outcome: score.OutcomeRecovered, MTTD: "1s", MTTR: "4s", HealthyAt: "6", Samples: 9, Failed: 3, Flaps: 1, Disrupted: 3}}},
}, {
	id:      "mttd-from-effect",
	pattern: "+++++---+++++",
	windows: []score.Window{effectiveWindow("kill", 1, 4, 6)},
	want: summary{Samples: 13, Failed: 3, Errored: 3, Availability: round(10.0 / 13), Disruptions: []string{"5-8/3"},
		DisruptionSeconds: 3, Budget: budget30d(3, 0.9), BurnRate: round(3.0 / 13 / 0.1),
		Faults: []faultSummary{{Name: "kill", Outcome: score.OutcomeRecovered, Injection: 3 * time.Second, MTTD: "1s", MTTR: "4s", HealthyAt: "8", Samples: 12, Failed: 3, Flaps: 1, Disrupted: 3}}},
}, {
	id:      "bad-during-injection",
	pattern: "+++---+++++",
	windows: []score.Window{effectiveWindow("kill", 2, 4, 6)},
	want: summary{Samples: 11, Failed: 3, Errored: 3, Availability: round(8.0 / 11), Disruptions: []string{"3-6/3"},
		DisruptionSeconds: 3, Budget: budget30d(3, 0.9), BurnRate: round(3.0 / 11 / 0.1),
		Faults: []faultSummary{{Name: "kill", Outcome: score.OutcomeRecovered, Injection: 2 * time.Second, MTTD: "0s", MTTR: "2s", HealthyAt: "6", Samples: 9, Failed: 3, Flaps: 1, Disrupted: 3}}},
}, {
	id:      "blip-then-outage",
	pattern: "+-+++++------+++++",
	windows: []score.Window{window("kill", 0, 1)},
	want: summary{Samples: 18, Failed: 7, Errored: 7, Availability: round(11.0 / 18), Disruptions: []string{"1-2/1", "7-13/6"},
		DisruptionSeconds: 7, Budget: budget30d(7, 0.9), BurnRate: round(7.0 / 18 / 0.1),
		Faults: []faultSummary{{Name: "kill", Outcome: score.OutcomeRecovered, MTTD: "1s", MTTR: "13s", HealthyAt: "13", Samples: 18, Failed: 7, Flaps: 2, Disrupted: 7}}},
}, {
	id:      "open-at-end",
	pattern: "+++-----",
	windows: []score.Window{window("kill", 3, 4)},
	want: summary{Samples: 8, Failed: 5, Errored: 5, Availability: round(3.0 / 8), Disruptions: []string{"3-7/5+open"},
		DisruptionSeconds: 4, Budget: budget30d(5, 0.9), BurnRate: round(5.0 / 8 / 0.1),
		Faults: []faultSummary{{Name: "kill", Outcome: score.OutcomeNotRecovered, MTTD: "0s", MTTR: "-", HealthyAt: "-", Samples: 5, Failed: 5, Flaps: 1, Disrupted: 4}}},
}, {
	id:      "pre-existing",
	pattern: "--+++++-----++++++",
	windows: []score.Window{window("kill", 5, 6)},
	want: summary{Samples: 18, Failed: 7, Errored: 7, Availability: round(11.0 / 18), Disruptions: []string{"0-2/2+pre", "7-12/5"},
		DisruptionSeconds: 7, PreExistingSeconds: 2, Budget: budget30d(7, 0.9), BurnRate: round(7.0 / 18 / 0.1),
		Faults: []faultSummary{{Name: "kill", Outcome: score.OutcomeRecovered, MTTD: "2s", MTTR: "7s", HealthyAt: "12", Samples: 13, Failed: 5, Flaps: 1, Disrupted: 5}}},
}, {
	id:      "failing-at-injection",
	pattern: "++------+++++",
	windows: []score.Window{window("kill", 4, 5)},
	want: summary{Samples: 13, Failed: 6, Errored: 6, Availability: round(7.0 / 13), Disruptions: []string{"2-8/6+pre"},
		DisruptionSeconds: 6, PreExistingSeconds: 2, Budget: budget30d(6, 0.9), BurnRate: round(6.0 / 13 / 0.1),
		Faults: []faultSummary{{Name: "kill", Outcome: score.OutcomeFailingAtInjection, MTTD: "-", MTTR: "-", HealthyAt: "8", Samples: 9, Failed: 4, Disrupted: 4}}},
}, {
	id:      "flapping",
	pattern: "++-+-+-++++++",
	windows: []score.Window{window("kill", 1, 2)},
	want: summary{Samples: 13, Failed: 3, Errored: 3, Availability: round(10.0 / 13), Disruptions: []string{"2-3/1", "4-5/1", "6-7/1"},
		DisruptionSeconds: 3, Budget: budget30d(3, 0.9), BurnRate: round(3.0 / 13 / 0.1),
		Faults: []faultSummary{{Name: "kill", Outcome: score.OutcomeRecovered, MTTD: "1s", MTTR: "6s", HealthyAt: "7", Samples: 12, Failed: 3, Flaps: 3, Disrupted: 3}}},
}, {
	id:      "gap-while-failing",
	pattern: "++--.....--+++++",
	windows: []score.Window{window("kill", 1, 2)},
	want: summary{Samples: 11, Failed: 4, Errored: 4, Availability: round(7.0 / 11), Disruptions: []string{"2-3/2+open", "9-11/2"},
		DisruptionSeconds: 3, NoData: []string{"3-9"}, Budget: budget30d(4, 0.9), BurnRate: round(4.0 / 11 / 0.1),
		Faults: []faultSummary{{Name: "kill", Outcome: score.OutcomeRecovered, MTTD: "1s", MTTR: "10s", HealthyAt: "11", Samples: 10, Failed: 4, Flaps: 2, Disrupted: 3}}},
}, {
	id:      "lone-bad-before-gap",
	pattern: "+-....+",
	want: summary{Samples: 3, Failed: 1, Errored: 1, Availability: round(2.0 / 3), Disruptions: []string{"1-1/1+open+pre"},
		NoData: []string{"1-6"}, Budget: budget30d(1, 0.9), BurnRate: round(1.0 / 3 / 0.1)},
}, {
	id:      "three-intervals-no-gap",
	pattern: "+-..+",
	want: summary{Samples: 3, Failed: 1, Errored: 1, Availability: round(2.0 / 3), Disruptions: []string{"1-4/1+pre"},
		DisruptionSeconds: 3, PreExistingSeconds: 3, Budget: budget30d(1, 0.9), BurnRate: round(1.0 / 3 / 0.1)},
}, {
	id:      "gap-not-healthy",
	pattern: "+-+.....++-+++++",
	windows: []score.Window{window("kill", 0, 1)},
	want: summary{Samples: 11, Failed: 2, Errored: 2, Availability: round(9.0 / 11), Disruptions: []string{"1-2/1", "10-11/1"},
		DisruptionSeconds: 2, NoData: []string{"2-8"}, Budget: budget30d(2, 0.9), BurnRate: round(2.0 / 11 / 0.1),
		Faults: []faultSummary{{Name: "kill", Outcome: score.OutcomeRecovered, MTTD: "1s", MTTR: "11s", HealthyAt: "11", Samples: 11, Failed: 2, Flaps: 2, Disrupted: 2}}},
}, {
	id:      "no-interval",
	pattern: "+-+.....++-+++++",
	windows: []score.Window{window("kill", 0, 1)},
	opts:    &score.Options{Objective: 0.9, HealthyWindow: 3 * time.Second},
	want: summary{Samples: 11, Failed: 2, Errored: 2, Availability: round(9.0 / 11), Disruptions: []string{"1-2/1", "10-11/1"},
		DisruptionSeconds: 2, BurnRate: round(2.0 / 11 / 0.1),
		Faults: []faultSummary{{Name: "kill", Outcome: score.OutcomeRecovered, MTTD: "1s", MTTR: "11s", HealthyAt: "11", Samples: 11, Failed: 2, Flaps: 2, Disrupted: 2}}},
}, {
	id:      "two-windows",
	pattern: "++--+++++--++++++",
	windows: []score.Window{window("b", 8, 9), window("a", 1, 2)}, // out of order on purpose
	want: summary{Samples: 17, Failed: 4, Errored: 4, Availability: round(13.0 / 17), Disruptions: []string{"2-4/2", "9-11/2"},
		DisruptionSeconds: 4, Budget: budget30d(4, 0.9), BurnRate: round(4.0 / 17 / 0.1),
		Faults: []faultSummary{
			{Name: "a", Outcome: score.OutcomeRecovered, MTTD: "1s", MTTR: "3s", HealthyAt: "4", Samples: 7, Failed: 2, Flaps: 1, Disrupted: 2},
			{Name: "b", Outcome: score.OutcomeRecovered, MTTD: "1s", MTTR: "3s", HealthyAt: "11", Samples: 9, Failed: 2, Flaps: 1, Disrupted: 2},
		}},
}, {
	id:      "not-detected-before-next",
	pattern: "+++++++---+++++",
	windows: []score.Window{window("a", 1, 2), window("b", 5, 6)},
	want: summary{Samples: 15, Failed: 3, Errored: 3, Availability: round(12.0 / 15), Disruptions: []string{"7-10/3"},
		DisruptionSeconds: 3, Budget: budget30d(3, 0.9), BurnRate: round(3.0 / 15 / 0.1),
		Faults: []faultSummary{
			{Name: "a", Outcome: score.OutcomeNotDetected, MTTD: "-", MTTR: "-", HealthyAt: "-", Samples: 4},
			{Name: "b", Outcome: score.OutcomeRecovered, MTTD: "2s", MTTR: "5s", HealthyAt: "10", Samples: 10, Failed: 3, Flaps: 1, Disrupted: 3},
		}},
}, {
	id:      "not-recovered-before-next",
	pattern: "+---------++++++",
	windows: []score.Window{window("a", 1, 2), window("b", 4, 5)},
	want: summary{Samples: 16, Failed: 9, Errored: 9, Availability: round(7.0 / 16), Disruptions: []string{"1-10/9"},
		DisruptionSeconds: 9, Budget: budget30d(9, 0.9), BurnRate: round(9.0 / 16 / 0.1),
		Faults: []faultSummary{
			{Name: "a", Outcome: score.OutcomeNotRecovered, MTTD: "0s", MTTR: "-", HealthyAt: "-", Samples: 3, Failed: 3, Flaps: 1, Disrupted: 3},
			{Name: "b", Outcome: score.OutcomeFailingAtInjection, MTTD: "-", MTTR: "-", HealthyAt: "10", Samples: 12, Failed: 6, Disrupted: 6},
		}},
}, {
	id:      "healthy-too-short",
	pattern: "+--++",
	windows: []score.Window{window("kill", 0, 1)},
	want: summary{Samples: 5, Failed: 2, Errored: 2, Availability: 0.6, Disruptions: []string{"1-3/2"},
		DisruptionSeconds: 2, Budget: budget30d(2, 0.9), BurnRate: 4,
		Faults: []faultSummary{{Name: "kill", Outcome: score.OutcomeNotRecovered, MTTD: "1s", MTTR: "-", HealthyAt: "-", Samples: 5, Failed: 2, Flaps: 1, Disrupted: 2}}},
}, {
	id:      "zero-healthy-window",
	pattern: "+--+-+",
	windows: []score.Window{window("kill", 0, 1)},
	opts:    &score.Options{Objective: 0.9, Interval: time.Second},
	want: summary{Samples: 6, Failed: 3, Errored: 3, Availability: 0.5, Disruptions: []string{"1-3/2", "4-5/1"},
		DisruptionSeconds: 3, Budget: budget30d(3, 0.9), BurnRate: 5,
		Faults: []faultSummary{{Name: "kill", Outcome: score.OutcomeRecovered, MTTD: "1s", MTTR: "5s", HealthyAt: "5", Samples: 6, Failed: 3, Flaps: 2, Disrupted: 3}}},
}, {
	id:      "no-windows",
	pattern: "+--+",
	want: summary{Samples: 4, Failed: 2, Errored: 2, Availability: 0.5, Disruptions: []string{"1-3/2+pre"},
		DisruptionSeconds: 2, PreExistingSeconds: 2, Budget: budget30d(2, 0.9), BurnRate: 5},
}, {
	id:      "window-after-data",
	pattern: "+++",
	windows: []score.Window{window("late", 10, 11)},
	want: summary{Samples: 3, Availability: 1, Passed: true,
		Faults: []faultSummary{{Name: "late", Outcome: score.OutcomeNoData, MTTD: "-", MTTR: "-", HealthyAt: "-"}}},
}, {
	id:      "no-data-after-effect",
	pattern: "+++",
	windows: []score.Window{effectiveWindow("kill", 1, 5, 6)},
	want: summary{Samples: 3, Availability: 1, Passed: true,
		Faults: []faultSummary{{Name: "kill", Outcome: score.OutcomeNoData, Injection: 4 * time.Second, MTTD: "-", MTTR: "-", HealthyAt: "-", Samples: 2}}},
}, {
	id:      "no-samples",
	windows: []score.Window{window("kill", 0, 1)},
	want:    summary{Faults: []faultSummary{{Name: "kill", Outcome: score.OutcomeNoData, MTTD: "-", MTTR: "-", HealthyAt: "-"}}},
}, {
	id:      "objective-one",
	pattern: "++-+",
	opts:    &score.Options{Objective: 1, Interval: time.Second},
	want: summary{Samples: 4, Failed: 1, Errored: 1, Availability: 0.75, Disruptions: []string{"2-3/1+pre"},
		DisruptionSeconds: 1, PreExistingSeconds: 1},
}, {
	id:      "slow-success",
	pattern: "++ss++",
	windows: []score.Window{window("kill", 1, 2)},
	want: summary{Samples: 6, Availability: 1, Passed: true,
		Faults: []faultSummary{{Name: "kill", Outcome: score.OutcomeNotDetected, MTTD: "-", MTTR: "-", HealthyAt: "-", Samples: 5}}},
}, {
	id:      "latency-objective",
	pattern: "++ss-+++++",
	windows: []score.Window{window("kill", 1, 2)},
	opts:    &score.Options{Objective: 0.9, HealthyWindow: 3 * time.Second, Interval: time.Second, LatencyMax: 500 * time.Millisecond},
	want: summary{Samples: 10, Failed: 3, Errored: 1, Slow: 2, Availability: 0.7, Disruptions: []string{"2-5/3"},
		DisruptionSeconds: 3, Budget: budget30d(3, 0.9), BurnRate: 3,
		Faults: []faultSummary{{Name: "kill", Outcome: score.OutcomeRecovered, MTTD: "1s", MTTR: "4s", HealthyAt: "5", Samples: 9, Failed: 3, Flaps: 1, Disrupted: 3}}},
}, {
	id:      "no-data-markers",
	pattern: "+++oo+++",
	want:    summary{Samples: 6, NoDataSamples: 2, Availability: 1, Passed: true},
}, {
	id:      "timeouts-with-missed-slots",
	pattern: "++++-ooo-ooo-ooo-ooo++++++++++++++++++++++++++++++++++++++++++",
	step:    250 * time.Millisecond,
	windows: []score.Window{window("kill", 0.75, 5)},
	opts: &score.Options{Objective: 0.9, HealthyWindow: 3 * time.Second, Interval: 250 * time.Millisecond,
		Timeout: time.Second},
	want: summary{Samples: 50, Failed: 4, Errored: 4, NoDataSamples: 12, Availability: 0.92,
		Disruptions: []string{"1-5/4"}, DisruptionSeconds: 4, Budget: round(4 / (0.1 * float64(score.DefaultPeriod) / float64(250*time.Millisecond))),
		BurnRate: 0.8, Passed: true,
		Faults: []faultSummary{{Name: "kill", Outcome: score.OutcomeRecovered, MTTD: "250ms", MTTR: "4.25s", HealthyAt: "5", Samples: 47, Failed: 4, Flaps: 1, Disrupted: 4}}},
}, {
	id:      "budget-against-period",
	pattern: strings.Repeat("+", 120) + strings.Repeat("-", 30) + strings.Repeat("+", 150),
	opts:    &score.Options{Objective: 0.99, HealthyWindow: 3 * time.Second, Interval: time.Second},
	want: summary{Samples: 300, Failed: 30, Errored: 30, Availability: 0.9, Disruptions: []string{"120-150/30+pre"},
		DisruptionSeconds: 30, PreExistingSeconds: 30, Budget: budget30d(30, 0.99), BurnRate: 10},
}, {
	id:      "step-range",
	pattern: "++--+s+o+-",
	between: &[2]float64{2, 9},
	opts:    &score.Options{Objective: 0.5, Interval: time.Second, LatencyMax: 500 * time.Millisecond},
	want:    summary{Samples: 6, Failed: 3, Errored: 2, Slow: 1, NoDataSamples: 1, Availability: 0.5, Passed: true},
}}

// TestEdgeCases runs one test per row of the edge-case table in docs/scoring.md.
func TestEdgeCases(t *testing.T) {
	t.Parallel()
	for _, tc := range edgeCases {
		t.Run(tc.id, func(t *testing.T) {
			t.Parallel()
			opts := score.Options{Objective: 0.9, HealthyWindow: 3 * time.Second, Interval: time.Second}
			if tc.opts != nil {
				opts = *tc.opts
			}
			step := time.Second
			if tc.step != 0 {
				step = tc.step
			}
			samples := stream(tc.pattern, step)
			if tc.between != nil {
				got := score.CountRange(samples, at(tc.between[0]), at(tc.between[1]), opts)
				assert.DeepEqual(t, summarize(got), tc.want)
				return
			}
			got := score.Compute(samples, tc.windows, opts)
			assert.DeepEqual(t, summarize(got), tc.want)
		})
	}
}

// docRowID matches a row of a table in docs/scoring.md and captures its ID.
var docRowID = regexp.MustCompile("^\\| `([a-z0-9-]+)` \\|")

// docTableIDs returns the row IDs of the table under the given heading of docs/scoring.md.
func docTableIDs(t *testing.T, heading string) []string {
	t.Helper()
	data, err := os.ReadFile("../../docs/scoring.md")
	assert.NilError(t, err)
	var ids []string
	in := false
	for line := range strings.SplitSeq(string(data), "\n") {
		if strings.HasPrefix(line, "#") {
			in = strings.TrimSpace(strings.TrimLeft(line, "#")) == heading
			continue
		}
		if m := docRowID.FindStringSubmatch(line); in && m != nil {
			ids = append(ids, m[1])
		}
	}
	return ids
}

// TestEdgeCasesMatchDoc keeps the table in docs/scoring.md and the test cases in step.
func TestEdgeCasesMatchDoc(t *testing.T) {
	t.Parallel()
	var ids []string
	for _, tc := range edgeCases {
		ids = append(ids, tc.id)
	}
	assert.DeepEqual(t, docTableIDs(t, "Edge cases"), ids)
}

func TestComputeObjectiveBoundary(t *testing.T) {
	t.Parallel()
	tests := []struct {
		failures     int
		wantPassed   bool
		wantBurnRate float64
	}{
		{failures: 0, wantPassed: true, wantBurnRate: 0},
		{failures: 1, wantPassed: true, wantBurnRate: 1},
		{failures: 2, wantPassed: false, wantBurnRate: 2},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprint(tc.failures, " failures in 100"), func(t *testing.T) {
			t.Parallel()
			pattern := strings.Repeat("-", tc.failures) + strings.Repeat("+", 100-tc.failures)
			got := score.Compute(stream(pattern, time.Second), nil, score.Options{Objective: 0.99, Interval: time.Second, Period: time.Hour})
			assert.Equal(t, got.Passed, tc.wantPassed)
			assert.Equal(t, round(got.BurnRate), tc.wantBurnRate)
			assert.Equal(t, round(got.ErrorBudgetAllowed), 36.0) // 1 % of an hour of 1s attempts
			assert.Equal(t, round(got.ErrorBudgetConsumed), round(float64(tc.failures)/36))
		})
	}
}

func TestComputeUnsortedInput(t *testing.T) {
	t.Parallel()
	samples := stream("+++---+++++", time.Second)
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
	got := score.Compute(stream("+++---+++++", time.Second), []score.Window{window("kill", 2, 4)},
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

func TestSlowAttemptSaysWhy(t *testing.T) {
	t.Parallel()
	got := score.Compute(stream("+s+", time.Second), nil,
		score.Options{Objective: 0.9, Interval: time.Second, LatencyMax: 500 * time.Millisecond})
	assert.Equal(t, len(got.Disruptions), 1)
	assert.Equal(t, got.Disruptions[0].FirstError, "slower than 500ms (600ms)")
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
