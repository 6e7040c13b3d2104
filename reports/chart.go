package reports

import (
	"bytes"
	"fmt"
	"strings"
	"time"

	chart "github.com/wcharczuk/go-chart/v2"
	"github.com/wcharczuk/go-chart/v2/drawing"
)

// Chart geometry, in SVG units.
const (
	chartWidth  = 960
	chartHeight = 300
)

// look is how one kind of chart series is drawn. In the SVG, go-chart writes only
// the class (it drops inline styles when a class is set) and chartCSS colours it;
// the colours in the chart.Style still matter, since go-chart draws a stroke or
// fill only when its colour is set.
type look struct {
	class  string
	stroke drawing.Color
	fill   drawing.Color // areas only
	width  float64
	dashed bool
}

var (
	faultWindowLook = look{class: "fault-window", fill: drawing.Color{R: 214, G: 39, B: 40, A: 40}}
	noDataLook      = look{class: "no-data", fill: drawing.Color{R: 120, G: 120, B: 120, A: 56}}
	successLook     = look{class: "success", stroke: drawing.Color{R: 42, G: 157, B: 42, A: 255}, width: 2}
	latencyLook     = look{class: "latency", stroke: drawing.Color{R: 31, G: 119, B: 180, A: 180}, width: 1}
	mttdLook        = look{class: "mttd", stroke: drawing.Color{R: 255, G: 127, B: 14, A: 255}, width: 2, dashed: true}
	mttrLook        = look{class: "mttr", stroke: drawing.Color{R: 123, G: 63, B: 184, A: 255}, width: 2, dashed: true}
	looks           = []look{faultWindowLook, noDataLook, successLook, latencyLook, mttdLook, mttrLook}
)

func (l look) style() chart.Style {
	if !l.fill.IsZero() {
		return chart.Style{ClassName: l.class, StrokeColor: l.fill, StrokeWidth: 1, FillColor: l.fill}
	}
	s := chart.Style{ClassName: l.class, StrokeColor: l.stroke, StrokeWidth: l.width}
	if l.dashed {
		s.StrokeDashArray = []float64{4, 3}
	}
	return s
}

// css styles the class of l; go-chart marks every path "stroke fill", so the
// rule keys on the series class alone.
func (l look) css() string {
	if !l.fill.IsZero() {
		return fmt.Sprintf(".chart .%s { fill: %s; stroke: none; }\n", l.class, cssColor(l.fill))
	}
	dash := ""
	if l.dashed {
		dash = " stroke-dasharray: 4 3;"
	}
	return fmt.Sprintf(".chart .%s { fill: none; stroke: %s; stroke-width: %g;%s }\n", l.class, cssColor(l.stroke), l.width, dash)
}

func cssColor(c drawing.Color) string {
	return fmt.Sprintf("rgba(%d, %d, %d, %.2f)", c.R, c.G, c.B, float64(c.A)/255)
}

// chartCSS colours the chart series and the legend swatches.
func chartCSS() string {
	var b strings.Builder
	for _, l := range looks {
		b.WriteString(l.css())
		if !l.fill.IsZero() {
			fmt.Fprintf(&b, ".swatch.%s { background: %s; }\n", l.class, cssColor(l.fill))
		} else {
			style := "solid"
			if l.dashed {
				style = "dashed"
			}
			fmt.Fprintf(&b, ".swatch.%s { height: 0; border-top: %gpx %s %s; }\n", l.class, l.width+1, style, cssColor(l.stroke))
		}
	}
	return b.String()
}

// tickSteps are the x-axis tick spacings, in seconds, that timelineSVG picks from.
var tickSteps = []float64{1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21600, 43200, 86400}

// timelineSVG draws one SLO over the run as an SVG: the success ratio per bucket
// (left axis) and the worst latency per bucket (right axis), fault windows and
// no-data gaps shaded, MTTD and MTTR marked per fault.
//
// go-chart writes text into the SVG without escaping it, so only text generated
// here (durations, fixed labels) may reach the chart; scenario strings stay in
// the HTML around it, where html/template escapes them.
func timelineSVG(r *Report, slo SLO) ([]byte, error) {
	return timeline(r, slo, chart.SVG)
}

// timeline draws the chart with any go-chart renderer (chart.PNG for a preview).
func timeline(r *Report, slo SLO, renderer chart.RendererProvider) ([]byte, error) {
	origin := r.Start
	if origin.IsZero() {
		origin = slo.Result.First
	}
	x := func(t time.Time) float64 { return t.Sub(origin).Seconds() }
	end := r.End
	if slo.Result.Last.After(end) {
		end = slo.Result.Last
	}
	for _, f := range slo.Result.Faults {
		if f.Window.End.After(end) {
			end = f.Window.End
		}
	}

	var series []chart.Series
	band := func(l look, from, to time.Time) {
		series = append(series, chart.ContinuousSeries{
			Style:   l.style(),
			XValues: []float64{x(from), x(to)},
			YValues: []float64{1, 1},
		})
	}
	for _, gap := range slo.Result.NoData {
		band(noDataLook, gap.Start, gap.End)
	}
	for _, f := range slo.Result.Faults {
		stop := f.Window.End
		if stop.IsZero() || stop.Before(f.Window.Start) {
			stop = f.Until
		}
		band(faultWindowLook, f.Window.Start, stop)
	}

	buckets := slo.Samples.Buckets
	var maxLatency time.Duration
	for from := 0; from < buckets.Len(); {
		if buckets.Samples[from] == 0 {
			from++
			continue
		}
		to := from + 1
		for to < buckets.Len() && buckets.Samples[to] > 0 {
			to++
		}
		// One line per run of non-empty buckets: an empty bucket is a gap, not a dip.
		success := chart.ContinuousSeries{Style: successLook.style()}
		latency := chart.ContinuousSeries{YAxis: chart.YAxisSecondary, Style: latencyLook.style()}
		for i := from; i < to; i++ {
			mid := x(buckets.At(i).Add(buckets.Width / 2))
			success.XValues = append(success.XValues, mid)
			success.YValues = append(success.YValues, buckets.SuccessRatio(i))
			latency.XValues = append(latency.XValues, mid)
			latency.YValues = append(latency.YValues, float64(buckets.MaxLatency[i])/float64(time.Millisecond))
			maxLatency = max(maxLatency, buckets.MaxLatency[i])
		}
		if to-from == 1 {
			success.Style.DotColor, success.Style.DotWidth = successLook.stroke, 3
		}
		series = append(series, success, latency)
		from = to
	}
	if maxLatency == 0 {
		// Without latencies the right axis has no range; drop those series.
		kept := series[:0]
		for _, s := range series {
			if s.GetYAxis() != chart.YAxisSecondary {
				kept = append(kept, s)
			}
		}
		series = kept
	}

	var labels []chart.Value2
	marker := func(l look, at time.Time, label string, y float64) {
		series = append(series, chart.ContinuousSeries{
			Style:   l.style(),
			XValues: []float64{x(at), x(at)},
			YValues: []float64{0, 1},
		})
		labels = append(labels, chart.Value2{XValue: x(at), YValue: y, Label: label})
	}
	for _, f := range slo.Result.Faults {
		if f.MTTD != nil {
			marker(mttdLook, f.DetectedAt, "MTTD "+formatDuration(*f.MTTD), 0.9)
		}
		if f.MTTR != nil {
			marker(mttrLook, f.RecoveredAt, "MTTR "+formatDuration(*f.MTTR), 0.7)
		}
	}
	if len(labels) > 0 {
		series = append(series, chart.AnnotationSeries{
			Style: chart.Style{
				StrokeColor: drawing.ColorFromHex("777777"), StrokeWidth: 1, FillColor: drawing.ColorWhite,
				FontColor: drawing.ColorFromHex("333333"), FontSize: 8,
			},
			Annotations: labels,
		})
	}
	if len(series) == 0 {
		return nil, nil
	}

	graph := chart.Chart{
		Width:      chartWidth,
		Height:     chartHeight,
		Background: chart.Style{Padding: chart.Box{Top: 16, Left: 16, Right: 16, Bottom: 8}},
		XAxis: chart.XAxis{
			Name:  "time since start",
			Ticks: timeTicks(x(end)),
		},
		YAxis: chart.YAxis{
			Name:           "success ratio",
			Ticks:          []chart.Tick{{Value: 0, Label: "0%"}, {Value: 0.25, Label: "25%"}, {Value: 0.5, Label: "50%"}, {Value: 0.75, Label: "75%"}, {Value: 1, Label: "100%"}},
			GridMajorStyle: chart.Style{StrokeColor: drawing.ColorFromHex("e5e5e5"), StrokeWidth: 1},
		},
		Series: series,
	}
	if maxLatency > 0 {
		graph.YAxisSecondary = chart.YAxis{
			Name:           "max latency (ms)",
			Range:          &chart.ContinuousRange{Min: 0, Max: float64(maxLatency) / float64(time.Millisecond) * 1.1},
			ValueFormatter: func(v any) string { return fmt.Sprintf("%.0f", v) },
		}
	}
	var svg bytes.Buffer
	if err := graph.Render(renderer, &svg); err != nil {
		return nil, fmt.Errorf("chart for SLO %q: %w", slo.Name, err)
	}
	return svg.Bytes(), nil
}

// timeTicks labels the x axis from 0 to at least seconds, with at most ten ticks.
func timeTicks(seconds float64) []chart.Tick {
	step := tickSteps[len(tickSteps)-1]
	for _, s := range tickSteps {
		if seconds/s <= 10 {
			step = s
			break
		}
	}
	var ticks []chart.Tick
	for v := 0.0; ; v += step {
		ticks = append(ticks, chart.Tick{Value: v, Label: formatDuration(time.Duration(v) * time.Second)})
		if v >= seconds && len(ticks) > 1 {
			return ticks
		}
	}
}
