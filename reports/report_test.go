package reports_test

import (
	"encoding/json"
	"encoding/xml"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jstemmer/go-junit-report/v2/junit"
	"gotest.tools/v3/assert"
	"gotest.tools/v3/golden"

	"github.com/gameday-dev/gameday/framework/probe"
	"github.com/gameday-dev/gameday/framework/score"
	"github.com/gameday-dev/gameday/reports"
)

// Regenerate the golden files with: go test ./reports -update
func TestGolden(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		report *reports.Report
	}{
		{name: "failed", report: exampleReport()},
		{name: "aborted", report: abortedReport()},
		{name: "error", report: errorReport()},
		{name: "drill", report: drillReport()},
	}
	renderers := []struct {
		ext    string
		render func(*reports.Report) ([]byte, error)
	}{
		{ext: "json", render: reports.Marshal},
		{ext: "md", render: reports.Markdown},
		{ext: "junit.xml", render: reports.JUnit},
		{ext: "html", render: reports.HTML},
	}
	for _, tc := range tests {
		for _, renderer := range renderers {
			t.Run(tc.name+"."+renderer.ext, func(t *testing.T) {
				t.Parallel()
				got, err := renderer.render(tc.report)
				assert.NilError(t, err)
				golden.Assert(t, string(got), tc.name+"."+renderer.ext)
			})
		}
	}
}

func TestSchemaAcceptsReports(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		report *reports.Report
	}{
		{name: "failed", report: exampleReport()},
		{name: "aborted", report: abortedReport()},
		{name: "error", report: errorReport()},
		{name: "empty lists left nil", report: &reports.Report{
			APIVersion: reports.APIVersion, Kind: reports.Kind, RunID: "r", Scenario: reports.Scenario{Name: "s"},
			Outcome: reports.OutcomePassed, SLOs: []reports.SLO{{Name: "no samples"}},
		}},
		{name: "probe timeout and agent clock", report: &reports.Report{
			APIVersion: reports.APIVersion, Kind: reports.Kind, RunID: "r", Scenario: reports.Scenario{Name: "s"},
			Outcome: reports.OutcomePassed,
			SLOs:    []reports.SLO{{Name: "web", Interval: 250 * time.Millisecond, Timeout: time.Second}},
			AgentClock: &reports.AgentClock{
				OffsetNs: -1500 * time.Millisecond, UncertaintyNs: 40 * time.Millisecond, Heartbeats: 12, Lines: 480,
			},
		}},
		{name: "figures", report: &reports.Report{
			APIVersion: reports.APIVersion, Kind: reports.Kind, RunID: "r", Scenario: reports.Scenario{Name: "s"},
			Outcome: reports.OutcomePassed,
			Figures: []reports.Figure{
				{Name: "injectionTime", Step: "lose", Value: 1.5, Unit: reports.UnitSeconds, At: time.Unix(1, 0).UTC()},
				{Name: "phaseDuration", Step: "restore", Target: "phase/backup", Value: 12, Unit: reports.UnitSeconds},
			},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			data, err := reports.Marshal(tc.report)
			assert.NilError(t, err)
			assert.NilError(t, reports.Validate(data))
		})
	}
}

func TestSchemaRejectsInvalidReports(t *testing.T) {
	t.Parallel()
	valid, err := reports.Marshal(exampleReport())
	assert.NilError(t, err)
	tests := []struct {
		name    string
		mutate  func(doc map[string]any)
		wantErr string
	}{
		{name: "unknown outcome", mutate: func(doc map[string]any) { doc["outcome"] = "skipped" }, wantErr: "/outcome"},
		{name: "wrong apiVersion", mutate: func(doc map[string]any) { doc["apiVersion"] = "gameday.dev/report/v2" }, wantErr: "/apiVersion"},
		{name: "missing run ID", mutate: func(doc map[string]any) { delete(doc, "runID") }, wantErr: "runID"},
		{name: "unknown field", mutate: func(doc map[string]any) { doc["kubeconfig"] = "apiVersion: v1" }, wantErr: "kubeconfig"},
		{name: "bad time", mutate: func(doc map[string]any) { doc["start"] = "yesterday" }, wantErr: "/start"},
		{name: "availability above 1", mutate: func(doc map[string]any) {
			doc["slos"].([]any)[0].(map[string]any)["result"].(map[string]any)["availability"] = 1.5
		}, wantErr: "/slos/0/result/availability"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var doc map[string]any
			assert.NilError(t, json.Unmarshal(valid, &doc))
			tc.mutate(doc)
			data, err := json.Marshal(doc)
			assert.NilError(t, err)
			assert.ErrorContains(t, reports.Validate(data), tc.wantErr)
		})
	}
}

func TestWriteLoadRender(t *testing.T) {
	t.Parallel()
	written := t.TempDir()
	assert.NilError(t, reports.Write(written, exampleReport()))

	loaded, err := reports.Load(filepath.Join(written, reports.JSONFile))
	assert.NilError(t, err)
	rerendered := t.TempDir()
	assert.NilError(t, reports.Render(rerendered, loaded))

	for _, file := range []string{reports.MarkdownFile, reports.HTMLFile, reports.JUnitFile} {
		want, err := os.ReadFile(filepath.Join(written, file))
		assert.NilError(t, err)
		got, err := os.ReadFile(filepath.Join(rerendered, file))
		assert.NilError(t, err)
		assert.Equal(t, string(got), string(want), "%s re-rendered from report.json differs", file)
	}
	entries, err := os.ReadDir(written)
	assert.NilError(t, err)
	assert.Equal(t, len(entries), 4, "no temporary files are left behind")
}

func TestLoadRejects(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		document string
		wantErr  string
	}{
		{name: "not JSON", document: "apiVersion: v1", wantErr: "not a report"},
		{name: "other document", document: `{"apiVersion":"v1","kind":"Config"}`, wantErr: `apiVersion "v1" kind "Config"`},
		{name: "schema violation", document: `{"apiVersion":"gameday.dev/report/v1","kind":"GameDayReport"}`, wantErr: "missing properties"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), reports.JSONFile)
			assert.NilError(t, os.WriteFile(path, []byte(tc.document), 0o600))
			_, err := reports.Load(path)
			assert.ErrorContains(t, err, tc.wantErr)
		})
	}
}

func TestJUnitParsesBack(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		report       *reports.Report
		wantCases    int
		wantFailures []string // names of failed test cases
		wantErrors   []string // messages of error elements
	}{
		{name: "failed", report: exampleReport(), wantCases: 5,
			wantFailures: []string{"web-available availability >= 99.00%", "web stays within its objective"}},
		{name: "aborted", report: abortedReport(), wantCases: 1,
			wantErrors: []string{"aborted: interrupted by SIGINT; faults reverted"}},
		{name: "error", report: errorReport(), wantCases: 1,
			wantErrors: []string{`infrastructure error: create cluster "gameday": docker: Cannot connect to the Docker daemon`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			data, err := reports.JUnit(tc.report)
			assert.NilError(t, err)
			var suites junit.Testsuites
			assert.NilError(t, xml.Unmarshal(data, &suites))

			assert.Equal(t, len(suites.Suites), 1)
			suite := suites.Suites[0]
			assert.Equal(t, suite.Name, tc.report.Scenario.Name)
			assert.Equal(t, suite.Tests, tc.wantCases)
			assert.Equal(t, len(suite.Testcases), tc.wantCases)
			var failures, errs []string
			for _, c := range suite.Testcases {
				if c.Failure != nil {
					failures = append(failures, c.Name)
					assert.Assert(t, c.Failure.Message != "")
				}
				if c.Error != nil {
					errs = append(errs, c.Error.Message)
				}
			}
			assert.DeepEqual(t, failures, tc.wantFailures)
			assert.DeepEqual(t, errs, tc.wantErrors)
			assert.Equal(t, suite.Failures, len(tc.wantFailures))
			assert.Equal(t, suite.Errors, len(tc.wantErrors))
		})
	}
}

var svgPattern = regexp.MustCompile(`(?s)<svg .*?</svg>`)

func TestHTMLChartPerSLO(t *testing.T) {
	t.Parallel()
	r := exampleReport()
	data, err := reports.HTML(r)
	assert.NilError(t, err)
	page := string(data)

	charts := svgPattern.FindAllString(page, -1)
	assert.Equal(t, len(charts), len(r.SLOs))
	for i, svg := range charts {
		assert.Check(t, strings.Contains(svg, `class="fault-window`), "chart %d has no shaded fault window", i)
	}
	for _, want := range []string{`class="mttd`, `class="mttr`, `class="no-data`, `class="success`, ">MTTD 1s<", ">MTTR 25s<"} {
		assert.Check(t, strings.Contains(charts[0], want), "web chart lacks %s", want)
	}

	// Self-contained: nothing to fetch, nothing to run.
	for _, forbidden := range []string{"<script", "<link", " src=", "url(", "@import"} {
		assert.Check(t, !strings.Contains(page, forbidden), "page contains %q", forbidden)
	}
}

func TestHTMLWithoutData(t *testing.T) {
	t.Parallel()
	withFault := exampleReport().SLOs[0].Result.Faults
	single := probeRun("web", time.Second, time.Second, never, never)
	tests := []struct {
		name       string
		slo        reports.SLO
		wantCharts int
	}{
		{name: "no samples, no faults", slo: reports.SLO{Name: "empty"}, wantCharts: 0},
		{name: "no samples, one fault", slo: reports.SLO{Name: "faults only", Result: score.Result{Faults: withFault}}, wantCharts: 1},
		{name: "one sample", slo: reports.SLO{Name: "single", Samples: reports.CompactSamples(single),
			Result: score.Compute(single, nil, score.Options{Objective: 0.99})}, wantCharts: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := errorReport()
			r.SLOs = []reports.SLO{tc.slo}
			page, err := reports.HTML(r)
			assert.NilError(t, err)
			assert.Equal(t, len(svgPattern.FindAll(page, -1)), tc.wantCharts)
			data, err := reports.Marshal(r)
			assert.NilError(t, err)
			assert.NilError(t, reports.Validate(data))
		})
	}
}

func TestRenderersEscapeScenarioText(t *testing.T) {
	t.Parallel()
	const evil = `<script>alert("x")</script>|*`
	r := exampleReport()
	r.Scenario.Name = evil
	r.Scenario.Description = evil
	r.Steps[1].Name = evil
	r.SLOs[0].Name = evil
	r.SLOs[0].Result.Faults[0].Window.Name = evil
	r.Expectations[0].Message = evil
	r.Logs[0].Path = `javascript:alert(1)`

	page, err := reports.HTML(r)
	assert.NilError(t, err)
	assert.Check(t, !strings.Contains(string(page), "<script"), "html does not escape scenario text")
	assert.Check(t, strings.Contains(string(page), "&lt;script&gt;"), "html lost the scenario text")
	assert.Check(t, !strings.Contains(string(page), `href="javascript:`))

	summary, err := reports.Markdown(r)
	assert.NilError(t, err)
	assert.Check(t, !strings.Contains(string(summary), "<script"), "markdown does not escape scenario text")
	assert.Check(t, strings.Contains(string(summary), `&lt;script&gt;alert("x")&lt;/script&gt;\|\*`), "markdown lost the scenario text")

	data, err := reports.JUnit(r)
	assert.NilError(t, err)
	var suites junit.Testsuites
	assert.NilError(t, xml.Unmarshal(data, &suites))
	assert.Equal(t, suites.Suites[0].Name, evil)
}

func TestRedact(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, text, want string
	}{
		{name: "plain error is untouched",
			text: `Get "https://10.96.0.1:443/healthz": dial tcp: connection refused`,
			want: `Get "https://10.96.0.1:443/healthz": dial tcp: connection refused`},
		{name: "authorization header",
			text: "Authorization: Bearer abc.def-ghi_123==",
			want: "Authorization: Bearer [REDACTED]"},
		{name: "kubeconfig token field",
			text: "users:\n- name: admin\n  user:\n    token: s3cr3t-t0ken\n",
			want: "users:\n- name: admin\n  user:\n    token: [REDACTED]\n"},
		{name: "json token fields",
			text: `{"token":"abc","id-token": "def", "refresh_token":"ghi"}`,
			want: `{"token":"[REDACTED]","id-token": "[REDACTED]", "refresh_token":"[REDACTED]"}`},
		{name: "client key and certificate data",
			text: "client-certificate-data: LS0tLS1CRUdJTi==\nclient-key-data: LS0tLS1CRUdJTiBSU0E=\ncertificate-authority-data: \"LS0tQ0E=\"",
			want: "client-certificate-data: [REDACTED]\nclient-key-data: [REDACTED]\ncertificate-authority-data: \"[REDACTED]\""},
		{name: "PEM private key",
			text: "key:\n-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA\n-----END RSA PRIVATE KEY-----\ndone",
			want: "key:\n[REDACTED]\ndone"},
		{name: "truncated PEM block",
			text: "cert -----BEGIN CERTIFICATE-----\nMIIDdzCCAl+gAwIBAgIE",
			want: "cert [REDACTED]"},
		{name: "service account JWT",
			text: "token eyJhbGciOiJSUzI1NiIsImtpZCI6IjEifQ.eyJzdWIiOiJzeXN0ZW0ifQ.c2lnbmF0dXJl rejected",
			want: "token [REDACTED] rejected"},
		{name: "password",
			text: "password=hunter2 user=admin",
			want: "password=[REDACTED] user=admin"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, reports.Redact(tc.text), tc.want)
			assert.Equal(t, reports.Redact(tc.want), tc.want, "redaction is idempotent")
		})
	}
}

func TestWriteRedactsEveryFormat(t *testing.T) {
	t.Parallel()
	const secret = "kubeconfig-token-0123456789"
	r := exampleReport()
	r.Error = "exec plugin: token: " + secret
	r.AbortReason = "Authorization: Bearer " + secret
	r.Steps[1].Error = "client-key-data: " + secret
	r.Expectations[1].Message = `{"token":"` + secret + `"}`
	r.Observations[0].Detail = "Bearer " + secret
	r.SLOs[0].Result.Disruptions[0].FirstError = "token=" + secret
	r.SLOs[0].Samples.Transitions[1].Error = "bearer " + secret
	r.Figures[0].Detail = "measured with password=" + secret

	dir := t.TempDir()
	assert.NilError(t, reports.Write(dir, r))
	for _, file := range []string{reports.JSONFile, reports.MarkdownFile, reports.HTMLFile, reports.JUnitFile} {
		data, err := os.ReadFile(filepath.Join(dir, file))
		assert.NilError(t, err)
		assert.Check(t, !strings.Contains(string(data), secret), "%s leaks the secret", file)
	}
	assert.Equal(t, r.Error, "exec plugin: token: "+secret, "the caller's report is not modified")
}

// humanRenderers are the renderers people read; each must show everything the model holds.
var humanRenderers = []struct {
	name   string
	render func(*reports.Report) ([]byte, error)
}{
	{name: "markdown", render: reports.Markdown},
	{name: "html", render: reports.HTML},
}

// textOf is a rendering with the entities html/template writes decoded, so that one
// check fits markdown and html.
func textOf(page []byte) string {
	return strings.NewReplacer("&#43;", "+", "&#39;", "'", "&lt;", "<", "&gt;", ">").Replace(string(page))
}

func TestRenderersShowFiguresGroupedByStep(t *testing.T) {
	t.Parallel()
	r := errorReport()
	r.Steps = []reports.Step{{Name: "lose-node"}, {Name: "restore"}}
	// Reported out of step order, as actions running side by side would.
	r.Figures = []reports.Figure{
		{Name: "phaseDuration", Step: "restore", Target: "phase/backup", Value: 12.4, Unit: reports.UnitSeconds, Detail: "backup phase"},
		{Name: "injectionTime", Step: "lose-node", Value: 1.5, Unit: reports.UnitSeconds, Detail: "node stopped"},
		{Name: "phaseDuration", Step: "restore", Target: "phase/restore", Value: 0.25, Unit: reports.UnitSeconds, Detail: "restore phase"},
		{Name: "restoredObjects", Step: "unlisted", Value: 42, Unit: reports.UnitCount, Detail: "objects back"},
	}
	// Each figure's row, in the order the section lists them: by step, then as reported.
	wantRows := [][]string{
		{"lose-node", "injectionTime", "1.5s", "node stopped"},
		{"restore", "phaseDuration", "phase/backup", "12.4s", "backup phase"},
		{"restore", "phaseDuration", "phase/restore", "250ms", "restore phase"},
		{"unlisted", "restoredObjects", "42", "objects back"},
	}
	for _, renderer := range humanRenderers {
		t.Run(renderer.name, func(t *testing.T) {
			t.Parallel()
			page, err := renderer.render(r)
			assert.NilError(t, err)
			text := textOf(page)
			section := strings.Index(text, "Figures")
			assert.Assert(t, section >= 0, "no Figures section:\n%s", text)
			at := section
			for _, row := range wantRows {
				line := rowContaining(text[at:], row[len(row)-1])
				assert.Assert(t, line != "", "no row for %v after offset %d:\n%s", row, at, text[section:])
				for _, cell := range row {
					assert.Check(t, strings.Contains(line, cell), "row %q lacks %q", line, cell)
				}
				at += strings.Index(text[at:], line) + len(line)
			}

			r := errorReport()
			page, err = renderer.render(r)
			assert.NilError(t, err)
			assert.Check(t, !strings.Contains(string(page), "Figures"), "a report without figures has a Figures section")
		})
	}
}

// rowContaining is the line of text that contains want, or "".
func rowContaining(text, want string) string {
	for line := range strings.SplitSeq(text, "\n") {
		if strings.Contains(line, want) {
			return line
		}
	}
	return ""
}

func TestRenderersShowAgentClockAndProbeTiming(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		clock    *reports.AgentClock
		timeout  time.Duration
		want     []string
		dontWant []string
	}{
		{name: "clock with uncertainty", timeout: time.Second,
			clock: &reports.AgentClock{OffsetNs: -1234 * time.Millisecond, UncertaintyNs: 18 * time.Millisecond, Heartbeats: 7, Lines: 90},
			want: []string{"corrected by -1.234s", "uncertainty 18ms", "between -1.252s and -1.234s", "90 lines, 7 of them heartbeats",
				"every 250ms, timeout 1s"}},
		{name: "clock without a lower bound", timeout: 2 * time.Second,
			clock: &reports.AgentClock{OffsetNs: 3 * time.Millisecond, UncertaintyNs: -1, Heartbeats: 1, Lines: 2},
			want:  []string{"corrected by +3ms", "uncertainty unknown", "2 lines, 1 of them heartbeats", "every 250ms, timeout 2s"}},
		{name: "no agent, timeout not recorded",
			want:     []string{"every 250ms"},
			dontWant: []string{"Agent sample times", "timeout"}},
	}
	for _, tc := range tests {
		for _, renderer := range humanRenderers {
			t.Run(tc.name+"/"+renderer.name, func(t *testing.T) {
				t.Parallel()
				r := errorReport()
				r.SLOs = []reports.SLO{{Name: "web", Probe: reports.Probe{Kind: "http"}, Interval: 250 * time.Millisecond, Timeout: tc.timeout}}
				r.AgentClock = tc.clock
				page, err := renderer.render(r)
				assert.NilError(t, err)
				text := textOf(page)
				for _, want := range tc.want {
					assert.Check(t, strings.Contains(text, want), "%s lacks %q", renderer.name, want)
				}
				for _, unwanted := range tc.dontWant {
					assert.Check(t, !strings.Contains(text, unwanted), "%s has %q", renderer.name, unwanted)
				}
			})
		}
	}
}

func TestCompactSamples(t *testing.T) {
	t.Parallel()
	hour := probeRun("web", 250*time.Millisecond, time.Hour, func(at time.Duration) bool {
		return at%(20*time.Minute) >= 10*time.Minute && at%(20*time.Minute) < 10*time.Minute+45*time.Second
	}, between(30*time.Minute, 30*time.Minute+20*time.Second))
	flapping := probeRun("web", 250*time.Millisecond, time.Hour, func(at time.Duration) bool { return at/(250*time.Millisecond)%2 == 1 }, never)

	tests := []struct {
		name            string
		samples         []probe.Sample
		wantBucketWidth time.Duration
		wantTransitions int
		wantTruncated   bool
		maxJSONBytes    int
	}{
		{name: "1h at 4 Hz with three outages", samples: hour, wantBucketWidth: 10 * time.Second,
			wantTransitions: 7, maxJSONBytes: 16 << 10},
		{name: "1h at 4 Hz flapping on every sample", samples: flapping, wantBucketWidth: 10 * time.Second,
			wantTransitions: reports.MaxTransitions, wantTruncated: true, maxJSONBytes: 256 << 10},
		{name: "no samples", wantBucketWidth: 0, maxJSONBytes: 200},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			series := reports.CompactSamples(tc.samples)
			assert.Equal(t, series.Count, len(tc.samples))
			buckets := series.Buckets
			assert.Equal(t, buckets.Width, tc.wantBucketWidth)
			assert.Assert(t, buckets.Len() <= reports.MaxBuckets)
			assert.Equal(t, len(buckets.Failed), buckets.Len())
			assert.Equal(t, len(buckets.MeanLatency), buckets.Len())
			assert.Equal(t, len(buckets.MaxLatency), buckets.Len())
			assert.Equal(t, len(series.Transitions), tc.wantTransitions)
			assert.Equal(t, series.TransitionsTruncated, tc.wantTruncated)

			bucketed, failed := 0, 0
			for i := range buckets.Len() {
				bucketed += buckets.Samples[i]
				failed += buckets.Failed[i]
			}
			assert.Equal(t, bucketed, len(tc.samples), "every sample lands in a bucket")
			for _, s := range tc.samples {
				if !s.OK {
					failed--
				}
			}
			assert.Equal(t, failed, 0, "failures are counted once")

			data, err := json.Marshal(series)
			assert.NilError(t, err)
			raw, err := json.Marshal(tc.samples)
			assert.NilError(t, err)
			t.Logf("%d samples: %d bytes raw, %d bytes compacted", len(tc.samples), len(raw), len(data))
			assert.Assert(t, len(data) <= tc.maxJSONBytes, "compacted to %d bytes", len(data))
		})
	}
}

func TestCompactSamplesLeavesOutNoData(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC)
	samples := []probe.Sample{
		{Probe: "web", At: start, OK: true},
		{Probe: "web", At: start.Add(250 * time.Millisecond), Error: probe.OverranError},
		{Probe: "web", At: start.Add(500 * time.Millisecond), Error: "connection refused"},
		{Probe: "web", At: start.Add(750 * time.Millisecond), Error: probe.OverranError},
		{Probe: "web", At: start.Add(time.Second), OK: true},
	}
	series := reports.CompactSamples(samples)
	assert.Equal(t, series.Count, 3, "skipped slots are not attempts")
	failed := 0
	for i := range series.Buckets.Len() {
		failed += series.Buckets.Failed[i]
	}
	assert.Equal(t, failed, 1, "a skipped slot is not a failure")
	assert.Equal(t, len(samples), 5, "the caller's slice keeps its samples")
	assert.Equal(t, samples[1].Error, probe.OverranError)
}
