package scenario_test

import (
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gameday-dev/gameday/framework/fault/dnsoutage"
	"github.com/gameday-dev/gameday/framework/fault/nodeloss"
	. "github.com/gameday-dev/gameday/framework/scenario"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

// errorLines returns the lines of an Errors value, failing the test for any other error.
func errorLines(t *testing.T, err error) []string {
	t.Helper()
	var errs Errors
	assert.Assert(t, errors.As(err, &errs), "want scenario.Errors, got %T: %v", err, err)
	lines := make([]string, len(errs))
	for i, e := range errs {
		lines[i] = e.Error()
	}
	return lines
}

func TestLoadValidFixtures(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("testdata/valid-*.yaml")
	assert.NilError(t, err)
	assert.Assert(t, len(files) >= 4)
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			t.Parallel()
			s, err := LoadFile(file)
			assert.NilError(t, err)
			assert.Equal(t, s.File, file)
			assert.NilError(t, s.Validate())
		})
	}
}

func TestLoadAppliesDefaults(t *testing.T) {
	t.Parallel()
	s, err := LoadFile("testdata/valid-minimal.yaml")
	assert.NilError(t, err)
	assert.Equal(t, s.APIVersion, APIVersion)
	assert.Equal(t, s.Kind, Kind)
	assert.DeepEqual(t, s.Metadata, Metadata{Name: "minimal"})
	assert.DeepEqual(t, s.Spec, Spec{
		Cluster: Cluster{Kind: &KindCluster{Name: "gameday", Reuse: new(true), Keep: new(true)}},
		SLOs: []SLO{{
			Name: "api", Objective: 0.99, Interval: 250 * time.Millisecond, Timeout: time.Second, Period: 720 * time.Hour,
			Probe: Probe{APIServer: &APIServerProbe{Path: "/readyz"}},
		}},
		Scoring: Scoring{HealthyWindow: 10 * time.Second},
		Steps: []Step{{
			Name: "lose-a-worker", Duration: 30 * time.Second,
			Fault: &nodeloss.Spec{Mode: nodeloss.Stop, Target: nodeloss.Target{Role: nodeloss.RoleWorker, Count: 1}},
		}},
		Abort: Abort{Timeout: time.Hour},
	})
}

func TestLoadDecodesEveryField(t *testing.T) {
	t.Parallel()
	s, err := LoadFile("testdata/valid-full.yaml")
	assert.NilError(t, err)
	assert.DeepEqual(t, s.Metadata, Metadata{Name: "full", Description: "Every field set."})
	assert.DeepEqual(t, s.Spec, Spec{
		Cluster: Cluster{Kind: &KindCluster{
			Name: "gameday-full", Config: "clusters/kind.yaml", NodeImage: "kindest/node:v1.35.0",
			Reuse: new(false), Keep: new(false),
		}},
		Fixtures: []Fixture{
			{Path: "fixtures/workload", Namespace: "gameday-workload"},
			{Path: "fixtures/extra.yaml"},
		},
		SLOs: []SLO{
			{
				Name: "workload-http", Objective: 0.99, Interval: 250 * time.Millisecond, Timeout: time.Second,
				Period: 168 * time.Hour, Latency: &LatencyObjective{Max: 500 * time.Millisecond},
				Probe: Probe{HTTP: &HTTPProbe{Service: "gameday-workload/workload", Port: 80, Path: "/healthz", From: FromInCluster}},
			},
			{
				Name: "workload-external", Objective: 0.95, Interval: time.Second, Timeout: 2 * time.Second, Period: 720 * time.Hour,
				Probe: Probe{HTTP: &HTTPProbe{Service: "gameday-workload/workload-nodeport", Port: 80, Path: "/", From: FromNodeNetwork}},
			},
			{
				Name: "dns", Objective: 0.9, Interval: 5 * time.Second, Timeout: 500 * time.Millisecond, Period: 720 * time.Hour,
				Probe: Probe{DNS: &DNSProbe{Name: "workload.gameday-workload.svc.cluster.local.", From: FromInCluster}},
			},
			{
				Name: "api-server", Objective: 0.999, Interval: 250 * time.Millisecond, Timeout: time.Second, Period: 720 * time.Hour,
				Probe: Probe{APIServer: &APIServerProbe{Path: "/livez"}},
			},
			{
				Name: "workload-ready", Objective: 0.5, Interval: 250 * time.Millisecond, Timeout: time.Second, Period: 720 * time.Hour,
				Probe: Probe{Workload: &WorkloadProbe{Deployment: "gameday-workload/workload"}},
			},
		},
		Scoring: Scoring{HealthyWindow: 15 * time.Second},
		Steps: []Step{
			{Name: "steady", SteadyState: &SteadyState{Duration: 20 * time.Second}},
			{Name: "stop-worker", Duration: time.Minute, Fault: &nodeloss.Spec{
				Mode: nodeloss.Stop, Target: nodeloss.Target{Role: nodeloss.RoleWorker, Count: 1},
			}},
			{Name: "pause-named", Duration: 90 * time.Second, Fault: &nodeloss.Spec{
				Mode: nodeloss.Pause, Target: nodeloss.Target{Names: []string{"gameday-full-worker", "gameday-full-worker2"}},
			}},
			{Name: "kill-kubelet", Duration: 10 * time.Second, Fault: &nodeloss.Spec{
				Mode: nodeloss.KillKubelet, Target: nodeloss.Target{Role: nodeloss.RoleControlPlane, Count: 1},
			}},
			{Name: "scale-down-dns", Duration: 45 * time.Second, Fault: &dnsoutage.Spec{Mode: dnsoutage.ScaleDown, Names: []string{}}},
			{Name: "servfail", Duration: 45 * time.Second, Fault: &dnsoutage.Spec{
				Mode: dnsoutage.Servfail, Names: []string{"workload.gameday-workload.svc.cluster.local", "example.com."},
			}},
			{Name: "pause", Wait: &Wait{For: WaitForDuration, Duration: 15 * time.Second}},
			{Name: "settle", Wait: &Wait{For: WaitForRecovered, Timeout: 5 * time.Minute}},
		},
		Expectations: []Expectation{
			{
				Name: "workload recovers within 3m", SLO: "workload-http", Step: "stop-worker",
				MTTR: &DurationLimit{Max: 3 * time.Minute}, MTTD: &DurationLimit{Max: 30 * time.Second},
				Detection: DetectionRequired, Availability: &RatioLimit{Min: 0.95},
			},
			{Name: "whole run availability", SLO: "workload-external", Availability: &RatioLimit{Min: 0.9}},
			{
				Name: "the DNS outage is detected quickly", SLO: "dns", Step: "scale-down-dns",
				MTTD: &DurationLimit{Max: 10 * time.Second}, Detection: DetectionOptional,
			},
			{Name: "workload stays up while steady", SLO: "workload-http", Step: "steady", Availability: &RatioLimit{Min: 0.99}},
		},
		Abort: Abort{Timeout: 20 * time.Minute, Conditions: []AbortCondition{
			{SLO: "api-server", FailingFor: 2 * time.Minute},
			{SLO: "workload-http", FailingFor: 5 * time.Minute},
		}},
	})
}

func TestLoadAnchorsAndMergeKeys(t *testing.T) {
	t.Parallel()
	s, err := LoadFile("testdata/valid-anchors.yaml")
	assert.NilError(t, err)
	external := s.SLO("workload-external")
	assert.Assert(t, external != nil)
	// Merged from the anchor, except what the mapping sets itself.
	assert.Equal(t, external.Objective, 0.99)
	assert.Equal(t, external.Interval, 500*time.Millisecond)
	assert.DeepEqual(t, external.Probe.HTTP, &HTTPProbe{
		Service: "gameday-workload/workload-nodeport", Port: 80, Path: "/", From: FromNodeNetwork,
	})
	assert.DeepEqual(t, s.Step("steady-again").SteadyState, &SteadyState{Duration: 20 * time.Second})
	assert.DeepEqual(t, s.Step("dns-down").Fault, FaultSpec(&dnsoutage.Spec{Mode: dnsoutage.ScaleDown}))
}

// invalidFixtures lists, for every testdata/invalid-*.yaml, exactly the errors it gives.
var invalidFixtures = map[string][]string{
	"invalid-empty.yaml": {
		"testdata/invalid-empty.yaml: file is empty; want a scenario (apiVersion: gameday.dev/v1alpha1, kind: Scenario)",
	},
	"invalid-list.yaml": {
		"testdata/invalid-list.yaml:1: the document must be a mapping with apiVersion, kind, metadata and spec, got a list",
	},
	"invalid-two-documents.yaml": {
		"testdata/invalid-two-documents.yaml:6: a second YAML document starts here; a scenario file holds exactly one",
	},
	"invalid-syntax.yaml": {
		"testdata/invalid-syntax.yaml:8: invalid YAML: did not find expected ',' or '}'",
	},
	"invalid-typemeta.yaml": {
		`testdata/invalid-typemeta.yaml:2: apiVersion: unsupported apiVersion "gameday.dev/v1"; supported: gameday.dev/v1alpha1`,
		"testdata/invalid-typemeta.yaml:2: kind: required; want Scenario",
	},
	"invalid-kind.yaml": {
		`testdata/invalid-kind.yaml:2: kind: unsupported kind "Cluster"; want Scenario`,
	},
	"invalid-missing-sections.yaml": {
		"testdata/invalid-missing-sections.yaml:1: metadata.name: required",
		"testdata/invalid-missing-sections.yaml:1: spec.slos: at least one SLO is required: a game day measures something",
		"testdata/invalid-missing-sections.yaml:1: spec.steps: at least one step is required",
	},
	"invalid-unknown-fields.yaml": {
		"testdata/invalid-unknown-fields.yaml:5: metadata.labels: unknown field; known fields here: name, description",
		"testdata/invalid-unknown-fields.yaml:12: spec.slos[0].threshold: unknown field; known fields here: name, objective, interval, timeout, period, latency, probe",
		"testdata/invalid-unknown-fields.yaml:19: spec.steps[0].fault.nodeLoss.target.zone: unknown field; known fields here: role, count, names",
		`testdata/invalid-unknown-fields.yaml:20: spec.steps[1].name: "lose-a-worker" is already used by spec.steps[0].name`,
		"testdata/invalid-unknown-fields.yaml:22: spec.steps[1].steadyState: duplicate field (first set on line 21)",
	},
	"invalid-types.yaml": {
		"testdata/invalid-types.yaml:4: metadata.name: must be a string, got a list",
		`testdata/invalid-types.yaml:8: spec.cluster.kind.reuse: must be true or false, got "yes"`,
		`testdata/invalid-types.yaml:9: spec.cluster.kind.keep: must be true or false, got "1"`,
		`testdata/invalid-types.yaml:10: spec.fixtures: must be a list, got "fixtures/workload"`,
		`testdata/invalid-types.yaml:13: spec.slos[0].objective: must be a number, got "high"`,
		`testdata/invalid-types.yaml:14: spec.slos[0].interval: must be a duration such as "250ms", "10s" or "5m", got "250" (add a unit)`,
		`testdata/invalid-types.yaml:15: spec.slos[0].timeout: must be greater than 0, got "-1s"`,
		`testdata/invalid-types.yaml:17: spec.slos[0].probe.http.port: must be an integer, got "eighty"`,
		`testdata/invalid-types.yaml:20: spec.steps[0].steadyState.duration: must be greater than 0, got "0s"`,
		`testdata/invalid-types.yaml:22: spec.steps[1].duration: must be a duration such as "250ms", "10s" or "5m", got "1 minute"`,
		`testdata/invalid-types.yaml:25: spec.steps[1].fault.nodeLoss.target.count: must be an integer, got "1.5"`,
		`testdata/invalid-types.yaml:27: spec.steps[2].wait: must be a mapping, got "5m"`,
	},
	"invalid-fault-kind.yaml": {
		`testdata/invalid-fault-kind.yaml:15: spec.steps[0].fault: unknown fault kind "cpuHog"; known kinds: dnsOutage, nodeLoss`,
		"testdata/invalid-fault-kind.yaml:20: spec.steps[1].fault: sets more than one fault kind (nodeLoss, dnsOutage); a step injects exactly one",
		"testdata/invalid-fault-kind.yaml:23: spec.steps[2].fault: must set one fault kind: dnsOutage, nodeLoss",
		`testdata/invalid-fault-kind.yaml:26: spec.steps[3].fault: must be a mapping with one fault kind (dnsOutage, nodeLoss), got "nodeLoss"`,
	},
	"invalid-one-of.yaml": {
		"testdata/invalid-one-of.yaml:6: spec.cluster: sets both kind and kubeconfig; set exactly one",
		"testdata/invalid-one-of.yaml:12: spec.slos[0].probe: must set one probe: http, dns, apiServer or workload (apiServer: {} needs no settings)",
		"testdata/invalid-one-of.yaml:15: spec.slos[1].probe: sets apiServer and workload; set exactly one probe",
		"testdata/invalid-one-of.yaml:19: spec.steps[0]: must set one of steadyState, fault or wait",
		"testdata/invalid-one-of.yaml:20: spec.steps[1]: sets steadyState and wait; a step does exactly one of steadyState, fault or wait",
		"testdata/invalid-one-of.yaml:24: spec.steps[2].duration: only fault steps take a duration; steadyState and wait set their own",
	},
	"invalid-references.yaml": {
		`testdata/invalid-references.yaml:11: spec.slos[1].name: "api" is already used by spec.slos[0].name`,
		`testdata/invalid-references.yaml:18: spec.steps[1].name: "steady" is already used by spec.steps[0].name`,
		`testdata/invalid-references.yaml:22: spec.expectations[0].slo: no SLO named "workload" in spec.slos`,
		`testdata/invalid-references.yaml:23: spec.expectations[0].step: no step named "lose-a-worker" in spec.steps`,
		`testdata/invalid-references.yaml:25: spec.expectations[1].name: "unknown slo and step" is already used by spec.expectations[0].name`,
		`testdata/invalid-references.yaml:28: spec.expectations[1].mttr: needs a fault step, but step "steady" does not inject a fault`,
		"testdata/invalid-references.yaml:31: spec.expectations[2].mttd: needs a fault step, but spec.steps injects no fault",
		"testdata/invalid-references.yaml:32: spec.expectations[3]: must set at least one of mttr, mttd or availability",
		"testdata/invalid-references.yaml:34: spec.expectations[4].name: required",
		"testdata/invalid-references.yaml:34: spec.expectations[4].slo: required: the SLO whose results are checked",
		`testdata/invalid-references.yaml:38: spec.abort.conditions[0].slo: no SLO named "missing" in spec.slos`,
		"testdata/invalid-references.yaml:40: spec.abort.conditions[1].failingFor: required: how long the SLO must fail before the run aborts",
	},
	"invalid-values.yaml": {
		`testdata/invalid-values.yaml:4: metadata.name: must be a DNS label (lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63 characters), got "Node_Loss"`,
		`testdata/invalid-values.yaml:7: spec.cluster.kind.name: must be a DNS label (lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63 characters), got "Game.Day"`,
		"testdata/invalid-values.yaml:9: spec.fixtures[0].path: required: a manifest file or kustomize directory",
		`testdata/invalid-values.yaml:11: spec.fixtures[2].path: "fixtures/workload" is already applied by spec.fixtures[1]`,
		"testdata/invalid-values.yaml:14: spec.slos[0].objective: must be greater than 0 and less than 1 (e.g. 0.99), got 1",
		"testdata/invalid-values.yaml:15: spec.slos[0].interval: must be at most 5s, got 10s",
		`testdata/invalid-values.yaml:17: spec.slos[0].probe.http.service: must be a Service as namespace/name, e.g. gameday-workload/workload, got "workload"`,
		"testdata/invalid-values.yaml:17: spec.slos[0].probe.http.port: must be a port number from 1 to 65535, got 0",
		`testdata/invalid-values.yaml:17: spec.slos[0].probe.http.path: must be an HTTP path starting with /, got "healthz"`,
		`testdata/invalid-values.yaml:17: spec.slos[0].probe.http.from: must be one of inCluster, nodeNetwork, got "outside"`,
		"testdata/invalid-values.yaml:19: spec.slos[1].objective: must be greater than 0 and less than 1 (e.g. 0.99), got 0",
		`testdata/invalid-values.yaml:21: spec.slos[1].probe.dns.name: must be a DNS name such as workload.gameday-workload.svc.cluster.local, got "bad name"`,
		`testdata/invalid-values.yaml:21: spec.slos[1].probe.dns.from: must be inCluster, got "nodeNetwork" (DNS is probed from inside the cluster only)`,
		"testdata/invalid-values.yaml:24: spec.slos[2].interval: must not be longer than spec.scoring.healthyWindow (3s), got 5s",
		`testdata/invalid-values.yaml:26: spec.slos[2].probe.workload.deployment: must be a Deployment as namespace/name, e.g. gameday-workload/workload, got "gameday-workload/"`,
		`testdata/invalid-values.yaml:34: spec.steps[0].fault.nodeLoss.mode: must be one of stop, pause, killKubelet, got "halt"`,
		`testdata/invalid-values.yaml:35: spec.steps[0].fault.nodeLoss.target.role: must be one of worker, control-plane, got "master"`,
		"testdata/invalid-values.yaml:35: spec.steps[0].fault.nodeLoss.target.count: must be at least 1, got 0",
		"testdata/invalid-values.yaml:40: spec.steps[1].fault.nodeLoss.target.count: only applies with role; names already says which nodes",
		`testdata/invalid-values.yaml:40: spec.steps[1].fault.nodeLoss.target.names[1]: "gameday-worker" is already used by spec.steps[1].fault.nodeLoss.target.names[0]`,
		`testdata/invalid-values.yaml:40: spec.steps[1].fault.nodeLoss.target.names[2]: must be a DNS subdomain (dot-separated DNS labels, at most 253 characters), got "Bad_Name"`,
		"testdata/invalid-values.yaml:41: spec.steps[2].duration: required for a fault step: how long the fault stays before it is reverted",
		"testdata/invalid-values.yaml:44: spec.steps[2].fault.nodeLoss.target: sets both role and names; set exactly one",
		"testdata/invalid-values.yaml:48: spec.steps[3].fault.dnsOutage.names: required for mode servfail: the names to answer with SERVFAIL",
		"testdata/invalid-values.yaml:52: spec.steps[4].fault.dnsOutage.names: only for mode servfail; scaleDown takes all of DNS down",
		`testdata/invalid-values.yaml:54: spec.steps[5].wait.for: must be one of recovered, duration, got "ever"`,
		"testdata/invalid-values.yaml:56: spec.steps[6].wait.duration: only for: duration takes a duration; for: recovered uses timeout",
		"testdata/invalid-values.yaml:58: spec.steps[7].wait.timeout: only for: recovered takes a timeout; for: duration uses duration",
		"testdata/invalid-values.yaml:62: spec.expectations[0].availability.min: must be greater than 0 and less than 1 (e.g. 0.95), got 1.5",
		"testdata/invalid-values.yaml:64: spec.abort.timeout: 1m0s is shorter than the steps take (2m10s), so every run would abort",
	},
	"invalid-scoring.yaml": {
		"testdata/invalid-scoring.yaml:11: spec.slos[0].period: must be at least the interval (1s), got 500ms",
		"testdata/invalid-scoring.yaml:12: spec.slos[0].latency.max: must not be longer than the timeout (1s), got 2s: no attempt could be that slow",
		`testdata/invalid-scoring.yaml:17: spec.slos[1].period: must be greater than 0, got "-1h"`,
		`testdata/invalid-scoring.yaml:18: spec.slos[1].latency.max: must be greater than 0, got "0s"`,
		"testdata/invalid-scoring.yaml:35: spec.expectations[0].mttd: needs step: MTTD is measured per fault step; set step to one of lose-a-worker, dns-down",
		"testdata/invalid-scoring.yaml:38: spec.expectations[1].mttr: needs step: MTTR is measured per fault step; set step to one of lose-a-worker, dns-down",
		`testdata/invalid-scoring.yaml:39: spec.expectations[1].detection: must be one of required, optional, got "sometimes"`,
		"testdata/invalid-scoring.yaml:43: spec.expectations[2].detection: only applies to mttd and mttr",
		`testdata/invalid-scoring.yaml:47: spec.expectations[3].mttr: needs a fault step, but step "steady" does not inject a fault`,
	},
	"invalid-existing-cluster.yaml": {
		"testdata/invalid-existing-cluster.yaml:9: spec.cluster.kubeconfig.context: required: name the kubeconfig context to act on; gameday never acts on an existing cluster through the kubeconfig's current context",
		"testdata/invalid-existing-cluster.yaml:20: spec.steps[0].fault.nodeLoss.allowExistingCluster: must be true to lose nodes of an existing cluster (spec.cluster.kubeconfig)",
	},
}

func TestLoadInvalidFixtures(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("testdata/invalid-*.yaml")
	assert.NilError(t, err)
	var names []string
	for _, file := range files {
		names = append(names, filepath.Base(file))
	}
	var listed []string
	for name := range invalidFixtures {
		listed = append(listed, name)
	}
	slices.Sort(listed)
	assert.DeepEqual(t, names, listed) // every fixture has expectations, and every expectation a fixture

	for name, want := range invalidFixtures {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s, err := LoadFile(filepath.Join("testdata", name))
			assert.Assert(t, is.Nil(s))
			assert.DeepEqual(t, errorLines(t, err), want)
		})
	}
}

func TestLoadFileErrors(t *testing.T) {
	t.Parallel()
	_, err := LoadFile("testdata/does-not-exist.yaml")
	assert.DeepEqual(t, errorLines(t, err), []string{
		"testdata/does-not-exist.yaml: cannot read file: no such file or directory",
	})

	_, err = LoadFile("testdata")
	assert.DeepEqual(t, errorLines(t, err), []string{"testdata: cannot read file: is a directory"})
}

func TestLoadFilesReportsEveryFile(t *testing.T) {
	t.Parallel()
	scenarios, err := LoadFiles("testdata/valid-minimal.yaml", "testdata/invalid-kind.yaml", "testdata/invalid-empty.yaml")
	assert.Assert(t, is.Nil(scenarios))
	assert.DeepEqual(t, errorLines(t, err), []string{
		`testdata/invalid-kind.yaml:2: kind: unsupported kind "Cluster"; want Scenario`,
		"testdata/invalid-empty.yaml: file is empty; want a scenario (apiVersion: gameday.dev/v1alpha1, kind: Scenario)",
	})

	_, err = LoadFiles("testdata/valid-minimal.yaml", "testdata/valid-full.yaml", "testdata/valid-minimal.yaml")
	assert.DeepEqual(t, errorLines(t, err), []string{
		`testdata/valid-minimal.yaml:5: metadata.name: scenario name "minimal" is also used by testdata/valid-minimal.yaml:5`,
	})

	scenarios, err = LoadFiles("testdata/valid-full.yaml", "testdata/valid-minimal.yaml")
	assert.NilError(t, err)
	assert.Equal(t, len(scenarios), 2)
	assert.Equal(t, scenarios[0].Metadata.Name, "full")
	assert.Equal(t, scenarios[1].Metadata.Name, "minimal")
}

func TestErrorsFormat(t *testing.T) {
	t.Parallel()
	errs := Errors{
		{File: "a.yaml", Line: 3, Path: "spec.steps[0].name", Message: "required"},
		{File: "a.yaml", Message: "file is empty"},
		{Path: "spec", Message: "in code"},
		{Line: 7, Message: "no file"},
	}
	assert.Equal(t, errs.Error(), strings.Join([]string{
		"a.yaml:3: spec.steps[0].name: required",
		"a.yaml: file is empty",
		"spec: in code",
		"line 7: no file",
	}, "\n"))
	var fe FieldError
	assert.Assert(t, errors.As(error(errs), &fe))
	assert.Equal(t, fe.Path, "spec.steps[0].name")
}
