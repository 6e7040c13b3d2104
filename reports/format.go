package reports

import (
	"fmt"
	"strings"
	"time"

	"github.com/gameday-dev/gameday/framework/score"
)

// verdicts are the headline of each outcome.
var verdicts = map[Outcome]struct{ icon, text string }{
	OutcomePassed:  {"✅", "passed"},
	OutcomeFailed:  {"❌", "failed"},
	OutcomeAborted: {"⚠️", "aborted"},
	OutcomeError:   {"💥", "infrastructure error"},
}

func verdict(o Outcome) (icon, text string) {
	if v, ok := verdicts[o]; ok {
		return v.icon, v.text
	}
	return "❓", string(o)
}

func passIcon(passed bool) string {
	if passed {
		return "✅"
	}
	return "❌"
}

// formatDuration rounds a duration for people: 2.5s, 41s, 1m30s.
func formatDuration(d time.Duration) string {
	switch {
	case d == 0:
		return "0s"
	case d < time.Second && d > -time.Second:
		return d.Round(time.Millisecond).String()
	case d < 10*time.Second && d > -10*time.Second:
		return d.Round(100 * time.Millisecond).String()
	default:
		return d.Round(time.Second).String()
	}
}

// formatOptional shows an absent duration as absent.
func formatOptional(d *time.Duration, absent string) string {
	if d == nil {
		return absent
	}
	return formatDuration(*d)
}

// offset is the time since the run started, e.g. "+1m30s".
func offset(start, t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return "+" + formatDuration(t.Sub(start))
}

func percent(ratio float64) string { return fmt.Sprintf("%.2f%%", ratio*100) }

// span is a step's duration, or "—" when it never ended.
func span(start, end time.Time) string {
	if start.IsZero() || end.IsZero() {
		return "—"
	}
	return formatDuration(end.Sub(start))
}

// formatValue shows an expectation's measured value or threshold in its unit.
func formatValue(v float64, unit string) string {
	switch unit {
	case UnitSeconds:
		return formatDuration(time.Duration(v * float64(time.Second)))
	case UnitRatio:
		return percent(v)
	default:
		return fmt.Sprintf("%g", v)
	}
}

func formatMeasured(e Expectation) string {
	if e.Measured == nil {
		return "not measured"
	}
	return formatValue(*e.Measured, e.Unit)
}

func formatThreshold(e Expectation) string {
	return e.Comparison + " " + formatValue(e.Threshold, e.Unit)
}

// faultTimes lists MTTD or MTTR per fault window: "kill-worker: 2.5s".
func faultTimes(faults []score.Fault, pick func(score.Fault) string) []string {
	lines := make([]string, 0, len(faults))
	for _, f := range faults {
		lines = append(lines, f.Window.Name+": "+pick(f))
	}
	return lines
}

func mttd(f score.Fault) string { return formatOptional(f.MTTD, "not detected") }
func mttr(f score.Fault) string {
	if !f.Detected {
		return "no disruption" // nothing to recover from
	}
	return formatOptional(f.MTTR, "not recovered")
}

func nodeSummary(c Cluster) string {
	parts := []string{c.Provider}
	if c.KubernetesVersion != "" {
		parts = append(parts, c.KubernetesVersion)
	}
	parts = append(parts, fmt.Sprintf("%d nodes", len(c.Nodes)))
	return strings.Join(parts, ", ")
}

// observationAfter is "40s after kill-worker", or empty.
func observationAfter(o Observation) string {
	if o.After == nil {
		return ""
	}
	if o.Step == "" {
		return formatDuration(*o.After)
	}
	return formatDuration(*o.After) + " after " + o.Step
}
