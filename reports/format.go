package reports

import (
	"fmt"
	"slices"
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

// outcomeWords are the words a report uses for each fault outcome (docs/scoring.md).
var outcomeWords = map[score.Outcome]string{
	score.OutcomeRecovered:          "recovered",
	score.OutcomeNotRecovered:       "not recovered",
	score.OutcomeNotDetected:        "no disruption detected",
	score.OutcomeFailingAtInjection: "already failing at injection",
	score.OutcomeNoData:             "no data",
}

// outcome is a fault's outcome in words; reports written before outcomes existed
// get theirs from the old fields.
func outcome(f score.Fault) string {
	o := f.Outcome
	if o == "" {
		switch {
		case f.FailingAtStart:
			o = score.OutcomeFailingAtInjection
		case f.Recovered:
			o = score.OutcomeRecovered
		case f.Detected:
			o = score.OutcomeNotRecovered
		default:
			o = score.OutcomeNotDetected
		}
	}
	if w, ok := outcomeWords[o]; ok {
		return w
	}
	return string(o)
}

// mttd is a fault's MTTD, or why there is none.
func mttd(f score.Fault) string {
	if f.MTTD != nil {
		return formatDuration(*f.MTTD)
	}
	if w := outcome(f); w != outcomeWords[score.OutcomeRecovered] && w != outcomeWords[score.OutcomeNotRecovered] {
		return w
	}
	return "—"
}

// mttr is a fault's MTTR, or why there is none.
func mttr(f score.Fault) string {
	if f.MTTR != nil {
		return formatDuration(*f.MTTR)
	}
	return outcome(f)
}

// orDash shows an absent duration as a dash, where an outcome column says why.
func orDash(d *time.Duration) string { return formatOptional(d, "—") }

// injection is how long a fault's injection took.
func injection(f score.Fault) string { return formatDuration(f.Injection) }

// badAttempts is "3 of 120", with how many were slow when any were.
func badAttempts(r score.Result) string {
	s := fmt.Sprintf("%d of %d", r.Failed, r.Samples)
	if r.Slow > 0 {
		s += fmt.Sprintf(" (%d errors, %d slow)", r.Errored, r.Slow)
	}
	return s
}

// formatPeriod shows an SLO period in days when it is whole days: "30d", else "36h0m0s".
func formatPeriod(d time.Duration) string {
	if d == 0 {
		d = score.DefaultPeriod
	}
	if d%(24*time.Hour) == 0 {
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	}
	return d.String()
}

// budgetUsed is the share of the SLO period's error budget the run used, e.g.
// "0.12% of 30d".
func budgetUsed(slo SLO) string {
	if slo.Result.ErrorBudgetAllowed == 0 {
		return "—"
	}
	return percent(slo.Result.ErrorBudgetConsumed) + " of " + formatPeriod(slo.Period)
}

// burnRate is the run's or a fault's burn rate: "10.00×".
func burnRate(r float64) string { return fmt.Sprintf("%.2f×", r) }

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

// objective is the SLO's objective with its latency objective, e.g. "99.00%, ≤ 500ms".
func objective(slo SLO) string {
	s := percent(slo.Objective)
	if slo.LatencyMax > 0 {
		s += ", ≤ " + formatDuration(slo.LatencyMax)
	}
	return s
}

// interval is how often an SLO's probe ran and how long one attempt could take, as it
// ran: "every 250ms, timeout 1s"; reports written before the timeout was recorded show
// only the interval.
func interval(slo SLO) string {
	s := "every " + formatDuration(slo.Interval)
	if slo.Timeout > 0 {
		s += ", timeout " + formatDuration(slo.Timeout)
	}
	return s
}

// signedDuration is a duration to the millisecond with its sign: "+1.5s", "-40ms", "0s".
func signedDuration(d time.Duration) string {
	d = d.Round(time.Millisecond)
	if d > 0 {
		return "+" + d.String()
	}
	return d.String()
}

// agentClock is the one line that says how the agent's sample times were moved onto
// the harness clock, or "" when no agent clock was estimated. The uncertainty is
// one-sided: the true offset lies between offset - uncertainty and offset.
func agentClock(c *AgentClock) string {
	if c == nil {
		return ""
	}
	bound := "uncertainty unknown"
	if c.UncertaintyNs >= 0 {
		bound = fmt.Sprintf("uncertainty %s: the true offset lies between %s and %s",
			c.UncertaintyNs.Round(time.Millisecond), signedDuration(c.OffsetNs-c.UncertaintyNs), signedDuration(c.OffsetNs))
	}
	return fmt.Sprintf("Agent sample times were corrected by %s onto the harness clock (%s; estimated from %d lines, %d of them heartbeats).",
		signedDuration(c.OffsetNs), bound, c.Lines, c.Heartbeats)
}

// figureValue is a figure's value in its unit: "12.4s", "250ms", "99.00%", "3". Durations
// keep a tenth of a second at any length: a figure is a measurement, not a summary.
func figureValue(f Figure) string {
	switch f.Unit {
	case UnitSeconds:
		d := time.Duration(f.Value * float64(time.Second))
		if d < time.Second && d > -time.Second {
			return d.Round(time.Millisecond).String()
		}
		return d.Round(100 * time.Millisecond).String()
	case UnitRatio, UnitCount, "":
		return formatValue(f.Value, f.Unit)
	default:
		return fmt.Sprintf("%g %s", f.Value, f.Unit)
	}
}

// figuresByStep orders figures by the position of their step in the timeline, keeping
// the order actions reported them in within a step; figures of steps not in the
// timeline follow, in order of first appearance.
func figuresByStep(r *Report) []Figure {
	rank := make(map[string]int, len(r.Steps))
	for i, s := range r.Steps {
		if _, seen := rank[s.Name]; !seen {
			rank[s.Name] = i
		}
	}
	for _, f := range r.Figures {
		if _, seen := rank[f.Step]; !seen {
			rank[f.Step] = len(rank) + len(r.Steps)
		}
	}
	sorted := slices.Clone(r.Figures)
	slices.SortStableFunc(sorted, func(a, b Figure) int { return rank[a.Step] - rank[b.Step] })
	return sorted
}
