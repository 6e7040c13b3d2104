package runner

import (
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/gameday-dev/gameday/framework/probe"
	"github.com/gameday-dev/gameday/framework/scenario"
	"github.com/gameday-dev/gameday/framework/score"
	"github.com/gameday-dev/gameday/reports"
)

var t0 = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

func sec(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }

// samplesOf builds one sample per second: '+' good, '-' failed (docs/scoring.md notation).
func samplesOf(pattern string) []probe.Sample {
	var out []probe.Sample
	for i, c := range pattern {
		s := probe.Sample{Probe: "web", At: sec(float64(i)), OK: c == '+', Latency: 5 * time.Millisecond}
		if c == '-' {
			s.Error = fmt.Sprintf("fail@%d", i)
		}
		out = append(out, s)
	}
	return out
}

// verdictCase is one row of the verdict table in docs/scoring.md.
type verdictCase struct {
	id      string
	pattern string
	fault   float64 // when the fault step "kill" was injected; negative: never injected
	e       scenario.Expectation
	// want
	passed      bool
	measured    string // formatted like the report, "" when not measured
	wantOutcome score.Outcome
	message     string // a part of the message
}

var (
	mttd10s  = &scenario.DurationLimit{Max: 10 * time.Second}
	mttd500  = &scenario.DurationLimit{Max: 500 * time.Millisecond}
	mttr1m   = &scenario.DurationLimit{Max: time.Minute}
	avail90  = &scenario.RatioLimit{Min: 0.9}
	required = scenario.DetectionRequired
	optional = scenario.DetectionOptional
)

// The steps as they ran: steady [0 s, 4 s), kill [4 s, 8 s), settle [8 s, 12 s).
var ranSteps = []reports.Step{
	{Name: "steady", Kind: "steadyState", Start: sec(0), End: sec(4)},
	{Name: "kill", Kind: "nodeLoss", Start: sec(4), End: sec(8)},
	{Name: "settle", Kind: "wait", Start: sec(8), End: sec(12)},
}

var verdictCases = []verdictCase{{
	id: "mttd-within", pattern: "+++++-++++++", fault: 4,
	e:      scenario.Expectation{Step: "kill", MTTD: mttd10s, Detection: required},
	passed: true, measured: "1s", wantOutcome: score.OutcomeRecovered, message: "detected 1s after the fault took effect",
}, {
	id: "mttd-too-slow", pattern: "+++++-++++++", fault: 4,
	e:        scenario.Expectation{Step: "kill", MTTD: mttd500, Detection: required},
	measured: "1s", wantOutcome: score.OutcomeRecovered, message: "detected 1s",
}, {
	id: "mttd-failing-at-injection", pattern: "+++---++++++", fault: 4,
	e:           scenario.Expectation{Step: "kill", MTTD: mttd10s, Detection: optional},
	wantOutcome: score.OutcomeFailingAtInjection, message: "already failing at injection",
}, {
	id: "mttd-not-detected", pattern: "++++++++++++", fault: 4,
	e:           scenario.Expectation{Step: "kill", MTTD: mttd10s, Detection: required},
	wantOutcome: score.OutcomeNotDetected, message: "no disruption detected",
}, {
	id: "mttd-not-detected-optional", pattern: "++++++++++++", fault: 4,
	e:      scenario.Expectation{Step: "kill", MTTD: mttd10s, Detection: optional},
	passed: true, wantOutcome: score.OutcomeNotDetected, message: "detection: optional",
}, {
	id: "mttd-no-data", pattern: "+++", fault: 4,
	e:           scenario.Expectation{Step: "kill", MTTD: mttd10s, Detection: optional},
	wantOutcome: score.OutcomeNoData, message: "no data",
}, {
	id: "mttr-within", pattern: "+++++-++++++", fault: 4,
	e:      scenario.Expectation{Step: "kill", MTTR: mttr1m, Detection: required},
	passed: true, measured: "2s", wantOutcome: score.OutcomeRecovered, message: "recovered 2s after the fault took effect",
}, {
	id: "mttr-not-recovered", pattern: "+++++-------", fault: 4,
	e:           scenario.Expectation{Step: "kill", MTTR: mttr1m, Detection: required},
	wantOutcome: score.OutcomeNotRecovered, message: "not recovered",
}, {
	id: "mttr-not-detected", pattern: "++++++++++++", fault: 4,
	e:           scenario.Expectation{Step: "kill", MTTR: mttr1m, Detection: required},
	wantOutcome: score.OutcomeNotDetected, message: "recovery was never measured",
}, {
	id: "mttr-not-detected-optional", pattern: "++++++++++++", fault: 4,
	e:      scenario.Expectation{Step: "kill", MTTR: mttr1m, Detection: optional},
	passed: true, wantOutcome: score.OutcomeNotDetected, message: "nothing to recover from",
}, {
	id: "mttr-failing-at-injection", pattern: "+++---++++++", fault: 4,
	e:           scenario.Expectation{Step: "kill", MTTR: mttr1m, Detection: optional},
	wantOutcome: score.OutcomeFailingAtInjection, message: "already failing at injection",
}, {
	id: "mttr-no-window", pattern: "++++++++++++", fault: -1,
	e:       scenario.Expectation{Step: "kill", MTTR: mttr1m, Detection: required},
	message: "the fault was never injected",
}, {
	id: "availability-run", pattern: "--++-+++++++", fault: 4,
	e:      scenario.Expectation{Availability: &scenario.RatioLimit{Min: 0.75}},
	passed: true, measured: "75.00%", message: "whole run",
}, {
	id: "availability-fault-step", pattern: "--++-+++++++", fault: 4,
	e:        scenario.Expectation{Step: "kill", Availability: avail90},
	measured: "87.50%", message: "fault step kill",
}, {
	id: "availability-other-step", pattern: "--++-+++++++", fault: 4,
	e:        scenario.Expectation{Step: "steady", Availability: avail90},
	measured: "50.00%", message: "0.5000 over the step steady (2 of 4 attempts bad)",
}, {
	id: "availability-step-not-run", pattern: "--++-+++++++", fault: 4,
	e:       scenario.Expectation{Step: "later", Availability: avail90},
	message: "step later did not run",
}}

// TestCheckExpectation runs one test per row of the verdict table in docs/scoring.md.
func TestCheckExpectation(t *testing.T) {
	t.Parallel()
	for _, tc := range verdictCases {
		t.Run(tc.id, func(t *testing.T) {
			t.Parallel()
			slo := scenario.SLO{Name: "web", Objective: 0.9, Interval: time.Second, Timeout: time.Second, Period: 720 * time.Hour}
			opts := scoreOptions(slo, scenario.Scoring{HealthyWindow: 3 * time.Second})
			samples := samplesOf(tc.pattern)
			var windows []score.Window
			if tc.fault >= 0 {
				windows = append(windows, score.Window{Name: "kill", Start: sec(tc.fault), End: sec(tc.fault + 4)})
			}
			scored := sloScore{result: score.Compute(samples, windows, opts), samples: samples, opts: opts}
			e := tc.e
			e.Name, e.SLO = tc.id, "web"

			got := checkExpectation(e, scored, ranSteps)
			assert.Equal(t, len(got), 1)
			x := got[0]
			assert.Equal(t, x.Passed, tc.passed, x.Message)
			measured := ""
			if x.Measured != nil {
				measured = formatMeasured(x)
			}
			assert.Equal(t, measured, tc.measured, x.Message)
			assert.Equal(t, x.Outcome, string(tc.wantOutcome))
			assert.Check(t, is.Contains(x.Message, tc.message))
		})
	}
}

// formatMeasured shows a measured value as the report does.
func formatMeasured(x reports.Expectation) string {
	if x.Unit == reports.UnitRatio {
		return fmt.Sprintf("%.2f%%", *x.Measured*100)
	}
	return time.Duration(*x.Measured * float64(time.Second)).String()
}

// TestVerdictsMatchDoc keeps the verdict table in docs/scoring.md and the cases in step.
func TestVerdictsMatchDoc(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("../../docs/scoring.md")
	assert.NilError(t, err)
	row := regexp.MustCompile("^\\| `([a-z0-9-]+)` \\|")
	var doc []string
	in := false
	for line := range strings.SplitSeq(string(data), "\n") {
		if strings.HasPrefix(line, "#") {
			in = strings.TrimSpace(strings.TrimLeft(line, "#")) == "Verdicts"
			continue
		}
		if m := row.FindStringSubmatch(line); in && m != nil {
			doc = append(doc, m[1])
		}
	}
	var ids []string
	for _, tc := range verdictCases {
		ids = append(ids, tc.id)
	}
	assert.DeepEqual(t, doc, ids)
}

// TestCheckExpectationLatency says how many attempts were bad for latency and for errors.
func TestCheckExpectationLatency(t *testing.T) {
	t.Parallel()
	slo := scenario.SLO{Name: "web", Objective: 0.9, Interval: time.Second, Timeout: time.Second,
		Latency: &scenario.LatencyObjective{Max: 500 * time.Millisecond}}
	opts := scoreOptions(slo, scenario.Scoring{HealthyWindow: 3 * time.Second})
	samples := samplesOf("+-++++")
	samples[2].Latency = 700 * time.Millisecond
	scored := sloScore{result: score.Compute(samples, nil, opts), samples: samples, opts: opts}
	got := checkExpectation(scenario.Expectation{Name: "a", SLO: "web", Availability: avail90}, scored, nil)
	assert.Equal(t, len(got), 1)
	assert.Equal(t, got[0].Message, "0.6667 over the whole run (2 of 6 attempts bad: 1 errors, 1 slower than 500ms)")
	assert.Equal(t, got[0].Passed, false)
}
