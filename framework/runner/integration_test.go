package runner_test

import (
	"context"
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/gameday-dev/gameday/clusters"
	"github.com/gameday-dev/gameday/framework/lifecycle"
	"github.com/gameday-dev/gameday/framework/runner"
	"github.com/gameday-dev/gameday/framework/scenario"
	"github.com/gameday-dev/gameday/reports"
)

// e2eCluster is the kind cluster every real-cluster test of this package shares;
// TestMain deletes it at the end.
const e2eCluster = "gd-e2e"

func TestMain(m *testing.M) {
	code := m.Run()
	if !testing.Short() && os.Getenv("GAMEDAY_KEEP_E2E_CLUSTER") == "" {
		_ = (&clusters.Kind{Name: e2eCluster}).Down(context.Background())
	}
	os.Exit(code)
}

// e2eScenario loads a scenario file of the repository and points it at the shared
// test cluster.
func e2eScenario(t *testing.T, yaml string) *scenario.Scenario {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "scenario.yaml")
	root, err := filepath.Abs("../..")
	assert.NilError(t, err)
	yaml = strings.ReplaceAll(yaml, "$ROOT", root)
	yaml = strings.ReplaceAll(yaml, "$CLUSTER", e2eCluster)
	assert.NilError(t, os.WriteFile(path, []byte(yaml), 0o644))
	sc, err := scenario.LoadFile(path)
	assert.NilError(t, err)
	return sc
}

func requireTestbed(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("real cluster test; run without -short after `make testbed`")
	}
	if clusters.DefaultNodeImage(context.Background()) == "" {
		t.Fatalf("no offline node image %s: run `make testbed` first", clusters.OfflineNodeImage(clusters.DefaultKubernetesVersion))
	}
}

// runScenario runs sc and checks the report files are valid.
func runScenario(t *testing.T, sc *scenario.Scenario) *runner.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	res, err := runner.Run(ctx, sc, runner.Options{RunsDir: t.TempDir(), Progress: testProgress{t}})
	assert.NilError(t, err)
	assertReportFilesValid(t, res.Dir)
	return res
}

// assertReportFilesValid checks the JSON against its schema, that JUnit parses and
// that the HTML carries a chart per SLO.
func assertReportFilesValid(t *testing.T, dir string) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(dir, reports.JSONFile))
	assert.NilError(t, err)
	assert.NilError(t, reports.Validate(raw))
	rep, err := reports.Load(filepath.Join(dir, reports.JSONFile))
	assert.NilError(t, err)
	junit, err := os.ReadFile(filepath.Join(dir, reports.JUnitFile))
	assert.NilError(t, err)
	var suites struct {
		XMLName xml.Name `xml:"testsuites"`
		Suites  []struct {
			Cases []struct {
				Name    string    `xml:"name,attr"`
				Failure *struct{} `xml:"failure"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	assert.NilError(t, xml.Unmarshal(junit, &suites))
	html, err := os.ReadFile(filepath.Join(dir, reports.HTMLFile))
	assert.NilError(t, err)
	assert.Assert(t, strings.Count(string(html), "<svg") >= len(rep.SLOs), "expected a chart per SLO")
}

// junitFailures counts failed test cases in a run's junit.xml.
func junitFailures(t *testing.T, dir string) int {
	t.Helper()
	junit, err := os.ReadFile(filepath.Join(dir, reports.JUnitFile))
	assert.NilError(t, err)
	return strings.Count(string(junit), "<failure")
}

func sloByName(rep *reports.Report, name string) reports.SLO {
	for _, s := range rep.SLOs {
		if s.Name == name {
			return s
		}
	}
	return reports.SLO{}
}

func observations(rep *reports.Report, what string) []reports.Observation {
	var out []reports.Observation
	for _, o := range rep.Observations {
		if o.What == what {
			out = append(out, o)
		}
	}
	return out
}

// noMarkers checks that no gameday fault marker is left anywhere in the cluster.
func noMarkers(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	cl, err := (&clusters.Kind{Name: e2eCluster, Reuse: true}).Up(ctx)
	assert.NilError(t, err)
	client, err := cl.Clientset()
	assert.NilError(t, err)
	left, err := lifecycle.Leftovers(ctx, client)
	assert.NilError(t, err)
	assert.Equal(t, len(left), 0, "left in the cluster: %v", left)
	nodes, err := client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	assert.NilError(t, err)
	for _, n := range nodes.Items {
		for _, c := range n.Status.Conditions {
			if c.Type == corev1.NodeReady {
				assert.Equal(t, c.Status, corev1.ConditionTrue, "node %s not Ready after the run", n.Name)
			}
		}
	}
}

type testProgress struct{ t *testing.T }

func (p testProgress) Phase(name string)                 { p.t.Logf("== %s", name) }
func (p testProgress) Printf(format string, args ...any) { p.t.Logf(format, args...) }
func (p testProgress) SLO(name string, ok bool, at time.Time, detail string) {
	p.t.Logf("slo %s ok=%v at %s %s", name, ok, at.Format("15:04:05.000"), detail)
}
