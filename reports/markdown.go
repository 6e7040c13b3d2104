package reports

import (
	"fmt"
	"strings"
)

// markdownEscaper keeps scenario and cluster text from breaking tables or
// injecting markup: GitHub renders raw HTML in job summaries.
var markdownEscaper = strings.NewReplacer(
	`\`, `\\`, "|", `\|`, "`", "\\`", "*", `\*`, "_", `\_`, "[", `\[`, "]", `\]`,
	"<", "&lt;", ">", "&gt;", "&", "&amp;", "\r\n", " ", "\n", " ", "\r", " ",
)

func md(text string) string { return markdownEscaper.Replace(text) }

// code makes text safe inside a `code span`, where backslash escapes do not work.
func code(text string) string {
	return strings.NewReplacer("`", "'", "|", `\|`, "\n", " ", "\r", " ").Replace(text)
}

// mdLines escapes each line and joins them with <br> inside one table cell.
func mdLines(lines []string) string {
	escaped := make([]string, len(lines))
	for i, line := range lines {
		escaped[i] = md(line)
	}
	return strings.Join(escaped, "<br>")
}

// Markdown renders the report as GitHub-flavoured markdown that fits a CI job
// summary: a verdict line, SLO and expectation tables, the step timeline and the
// figures the actions measured.
func Markdown(r *Report) ([]byte, error) {
	r = redacted(r)
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }

	icon, text := verdict(r.Outcome)
	p("## %s Game day %s: %s\n\n", icon, text, md(r.Scenario.Name))
	p("Run `%s` · %s · %s on cluster %s (%s)\n\n", code(r.RunID), r.Start.UTC().Format("2006-01-02 15:04:05 MST"),
		span(r.Start, r.End), md(r.Cluster.Name), md(nodeSummary(r.Cluster)))
	if r.Scenario.Description != "" {
		p("> %s\n\n", md(r.Scenario.Description))
	}
	if r.AbortReason != "" {
		p("**Aborted:** %s\n\n", md(r.AbortReason))
	}
	if r.Error != "" {
		p("**Error:** %s\n\n", md(r.Error))
	}

	if len(r.SLOs) > 0 {
		p("### SLOs\n\n")
		p("| | SLO | Probe | Ran | Objective | Availability | Bad attempts | Budget used | Burn rate | Disruption |\n")
		p("|---|---|---|---|---|---|---|---|---|---|\n")
		for _, slo := range r.SLOs {
			res := slo.Result
			p("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", passIcon(res.Passed), md(slo.Name),
				md(slo.Probe.Kind+" via "+slo.Probe.Path), md(interval(slo)), md(objective(slo)), percent(res.Availability),
				md(badAttempts(res)), md(budgetUsed(slo)), burnRate(res.BurnRate), fmt.Sprintf("%.1fs", res.DisruptionSeconds))
		}
		p("\n")
	}
	if line := agentClock(r.AgentClock); line != "" {
		p("%s\n\n", md(line))
	}
	if hasFaults(r.SLOs) {
		p("### Faults\n\n")
		p("| SLO | Step | Outcome | Injection | MTTD | MTTR | Flaps | Burn rate |\n")
		p("|---|---|---|---|---|---|---|---|\n")
		for _, slo := range r.SLOs {
			for _, f := range slo.Result.Faults {
				p("| %s | %s | %s | %s | %s | %s | %d | %s |\n", md(slo.Name), md(f.Window.Name), md(outcome(f)),
					injection(f), orDash(f.MTTD), orDash(f.MTTR), f.Flaps, burnRate(f.BurnRate))
			}
		}
		p("\n")
	}

	if len(r.Expectations) > 0 {
		p("### Expectations\n\n")
		p("| | Expectation | SLO | Step | Check | Measured | Threshold | Message |\n")
		p("|---|---|---|---|---|---|---|---|\n")
		for _, e := range r.Expectations {
			p("| %s | %s | %s | %s | %s | %s | %s | %s |\n", passIcon(e.Passed), md(e.Name), md(e.SLO), md(e.Step),
				md(e.Check), md(formatMeasured(e)), md(formatThreshold(e)), md(e.Message))
		}
		p("\n")
	}

	if len(r.Steps) > 0 {
		p("### Timeline\n\n")
		p("| At | Step | Kind | Duration | Targets | Reverted | Error |\n")
		p("|---|---|---|---|---|---|---|\n")
		for _, s := range r.Steps {
			reverted := ""
			if s.Reverted {
				reverted = "yes"
			}
			p("| %s | %s | %s | %s | %s | %s | %s |\n", offset(r.Start, s.Start), md(s.Name), md(s.Kind),
				span(s.Start, s.End), mdLines(s.Targets), reverted, md(s.Error))
		}
		p("\n")
	}

	if len(r.Figures) > 0 {
		p("### Figures\n\n")
		p("| Step | Figure | Target | Value | Detail |\n")
		p("|---|---|---|---|---|\n")
		for _, f := range figuresByStep(r) {
			p("| %s | %s | %s | %s | %s |\n", md(f.Step), md(f.Name), md(f.Target), md(figureValue(f)), md(f.Detail))
		}
		p("\n")
	}

	if len(r.Observations) > 0 {
		p("### What Kubernetes noticed\n\n")
		p("| At | What | After | Source | Detail |\n")
		p("|---|---|---|---|---|\n")
		for _, o := range r.Observations {
			p("| %s | %s | %s | %s | %s |\n", offset(r.Start, o.At), md(o.What), md(observationAfter(o)),
				md(o.Source), md(o.Detail))
		}
		p("\n")
	}

	if len(r.Logs) > 0 {
		p("### Logs\n\n")
		for _, l := range r.Logs {
			p("- %s: `%s`\n", md(l.What), code(l.Path))
		}
		p("\n")
	}
	return []byte(b.String()), nil
}

// hasFaults reports whether any SLO has a fault score.
func hasFaults(slos []SLO) bool {
	for _, slo := range slos {
		if len(slo.Result.Faults) > 0 {
			return true
		}
	}
	return false
}
