package reports

import (
	"bytes"
	_ "embed"
	"fmt"
	"html/template"
	"strings"
	"time"
)

//go:embed templates/report.html.tmpl
var htmlTemplateText string

var htmlTemplate = template.Must(template.New("report.html").Funcs(template.FuncMap{
	"utc":       func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 MST") },
	"span":      span,
	"offset":    offset,
	"duration":  formatDuration,
	"seconds":   func(s float64) string { return fmt.Sprintf("%.1fs", s) },
	"percent":   percent,
	"pass":      passIcon,
	"mttd":      mttd,
	"mttr":      mttr,
	"outcome":   outcome,
	"orDash":    orDash,
	"injection": injection,
	"bad":       badAttempts,
	"budget":    budgetUsed,
	"burn":      burnRate,
	"period":    formatPeriod,
	"measured":  formatMeasured,
	"threshold": formatThreshold,
	"after":     observationAfter,
	"nodes":     nodeSummary,
	"join":      strings.Join,
	"interval":  interval,
	"clock":     agentClock,
	"value":     figureValue,
	"figures":   figuresByStep,
}).Parse(htmlTemplateText))

// htmlSLO is an SLO with its chart.
type htmlSLO struct {
	SLO SLO
	// SVG is trusted markup: timelineSVG puts no scenario or cluster text in it.
	SVG template.HTML
}

// HTML renders the report as one self-contained HTML file: inline CSS, a
// server-side SVG timeline per SLO, no scripts and no network access (a
// Content-Security-Policy forbids it), so it opens in an air-gapped lab and as a
// CI artifact. Every string from a scenario or cluster is escaped by html/template.
func HTML(r *Report) ([]byte, error) {
	r = redacted(r)
	icon, text := verdict(r.Outcome)
	data := struct {
		Report        *Report
		Icon, Verdict string
		ChartCSS      template.CSS
		SLOs          []htmlSLO
	}{Report: r, Icon: icon, Verdict: text, ChartCSS: template.CSS(chartCSS())}
	for _, slo := range r.SLOs {
		svg, err := timelineSVG(r, slo)
		if err != nil {
			return nil, err
		}
		data.SLOs = append(data.SLOs, htmlSLO{SLO: slo, SVG: template.HTML(svg)})
	}
	var buf bytes.Buffer
	if err := htmlTemplate.Execute(&buf, data); err != nil {
		return nil, fmt.Errorf("render html: %w", err)
	}
	return buf.Bytes(), nil
}
