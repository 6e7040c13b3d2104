package scenario

import (
	"math"
	"time"
)

// APIVersion is the only scenario apiVersion this package reads.
const APIVersion = "gameday.dev/v1alpha1"

// Kind is the kind of a scenario document.
const Kind = "Scenario"

// Scenario is one game day: the cluster to use, what to apply, what to measure, the faults
// to inject in order and what the results must show.
type Scenario struct {
	// APIVersion must be APIVersion; Default fills it in when empty.
	APIVersion string `yaml:"apiVersion"`
	// Kind must be Kind; Default fills it in when empty.
	Kind string `yaml:"kind"`
	// Metadata names and describes the scenario.
	Metadata Metadata `yaml:"metadata"`
	// Spec is the game day itself.
	Spec Spec `yaml:"spec"`

	// File is the path the scenario was loaded from, or "" for one built in code.
	// Relative paths inside the scenario are resolved against it (see ResolvePath).
	File string `yaml:"-"`

	// lines maps field paths to the line they were read from; nil when built in code.
	lines map[string]int
}

// Metadata names and describes a scenario.
type Metadata struct {
	// Name identifies the scenario in reports and run folders: a DNS label.
	Name string `yaml:"name"`
	// Description says in a sentence what the game day shows.
	Description string `yaml:"description"`
}

// Spec is the body of a scenario.
type Spec struct {
	// Cluster says where the game day runs.
	Cluster Cluster `yaml:"cluster"`
	// Fixtures are manifests or kustomize directories applied before the run.
	Fixtures []Fixture `yaml:"fixtures"`
	// SLOs are measured throughout the run; at least one is required.
	SLOs []SLO `yaml:"slos"`
	// Scoring tunes how samples become MTTD, MTTR and availability.
	Scoring Scoring `yaml:"scoring"`
	// Steps run in order; each is a steady state, a fault or a wait.
	Steps []Step `yaml:"steps"`
	// Expectations are the pass/fail checks on the results; each is one JUnit test case.
	Expectations []Expectation `yaml:"expectations"`
	// Abort stops the run early; faults are still reverted.
	Abort Abort `yaml:"abort"`
}

// Cluster selects the cluster to run against: exactly one of Kind or Kubeconfig.
// When both are nil, Default selects a kind cluster with default settings.
type Cluster struct {
	// Kind runs against a local kind cluster, created if needed.
	Kind *KindCluster `yaml:"kind"`
	// Kubeconfig runs against an existing cluster reached through a kubeconfig.
	Kubeconfig *KubeconfigCluster `yaml:"kubeconfig"`
}

// KindCluster is a kind cluster the harness may create, reuse and delete.
type KindCluster struct {
	// Name is the kind cluster name; default "gameday".
	Name string `yaml:"name"`
	// Config is the kind cluster config file, relative to the scenario file or the repository.
	// Empty means the cluster package's default.
	Config string `yaml:"config"`
	// NodeImage is the kind node image; empty means the cluster package's default.
	NodeImage string `yaml:"nodeImage"`
	// Reuse uses an existing cluster of that name instead of failing; default true.
	Reuse *bool `yaml:"reuse"`
	// Keep leaves a cluster this run created in place afterwards; default true.
	Keep *bool `yaml:"keep"`
}

// KubeconfigCluster is an existing cluster the harness did not create. A run acts on
// it only when its context is allowed explicitly: by Allow here, or by `gameday run
// --allow-context CONTEXT` (runner.Options.AllowContexts).
type KubeconfigCluster struct {
	// Path is the kubeconfig file; empty means $KUBECONFIG or ~/.kube/config.
	Path string `yaml:"path"`
	// Context is the kubeconfig context, required: gameday never acts on an existing
	// cluster through whatever the kubeconfig's current context happens to be.
	Context string `yaml:"context"`
	// Allow is the scenario's explicit opt-in to inject faults into Context. Without
	// it, the run needs `--allow-context CONTEXT`.
	Allow bool `yaml:"allow"`
}

// Fixture is a manifest file or kustomize directory applied before the run.
type Fixture struct {
	// Path is the file or directory, relative to the scenario file or the repository.
	Path string `yaml:"path"`
	// Namespace, if set, is where namespaced objects without one are applied.
	Namespace string `yaml:"namespace"`
}

// SLO is a service level objective measured by one probe throughout the run.
type SLO struct {
	// Name identifies the SLO in expectations, abort conditions and reports: a DNS label.
	Name string `yaml:"name"`
	// Objective is the target fraction of good samples, strictly between 0 and 1 (e.g. 0.99).
	Objective float64 `yaml:"objective"`
	// Interval is the time between probe attempts; default 250ms, at most 5s.
	Interval time.Duration `yaml:"interval"`
	// Timeout bounds one probe attempt; default 1s.
	Timeout time.Duration `yaml:"timeout"`
	// Period is the rolling window the objective is promised over, against which the
	// report counts error budget consumed (OpenSLO style); default 720h (30 days).
	Period time.Duration `yaml:"period"`
	// Latency, if set, is a latency objective: an OK attempt slower than Latency.Max is bad.
	Latency *LatencyObjective `yaml:"latency"`
	// Probe is what is measured.
	Probe Probe `yaml:"probe"`
}

// LatencyObjective makes slow successes bad attempts (docs/scoring.md).
type LatencyObjective struct {
	// Max is the slowest an OK attempt may be and still count as good; at most the timeout.
	Max time.Duration `yaml:"max"`
}

// Probe is what an SLO measures: exactly one of its fields is set.
type Probe struct {
	// HTTP sends GET requests to a Service.
	HTTP *HTTPProbe `yaml:"http"`
	// DNS resolves a name through the cluster DNS.
	DNS *DNSProbe `yaml:"dns"`
	// APIServer checks the Kubernetes API server's readiness endpoint.
	APIServer *APIServerProbe `yaml:"apiServer"`
	// Workload checks that a Deployment has all its replicas available.
	Workload *WorkloadProbe `yaml:"workload"`
}

// ProbeOrigin is where a probe's requests start from.
type ProbeOrigin string

const (
	// FromInCluster probes from the in-cluster agent, through cluster DNS and Service IPs.
	FromInCluster ProbeOrigin = "inCluster"
	// FromNodeNetwork probes from the harness through the nodes' network (NodePort).
	FromNodeNetwork ProbeOrigin = "nodeNetwork"
)

// HTTPProbe sends GET requests to a Service; a 2xx answer is a good sample.
type HTTPProbe struct {
	// Service is the target Service as "namespace/name".
	Service string `yaml:"service"`
	// Port is the Service port.
	Port int `yaml:"port"`
	// Path is the request path; default "/".
	Path string `yaml:"path"`
	// From is where requests start; default inCluster.
	From ProbeOrigin `yaml:"from"`
}

// DNSProbe resolves a name; an answer with at least one address is a good sample.
type DNSProbe struct {
	// Name is the name to resolve, e.g. workload.gameday-workload.svc.cluster.local.
	Name string `yaml:"name"`
	// From is where queries start; only inCluster is supported, and it is the default.
	From ProbeOrigin `yaml:"from"`
}

// APIServerProbe checks the API server; an HTTP 200 is a good sample.
type APIServerProbe struct {
	// Path is the endpoint checked; default "/readyz".
	Path string `yaml:"path"`
}

// WorkloadProbe checks a Deployment; all desired replicas available is a good sample.
type WorkloadProbe struct {
	// Deployment is the Deployment as "namespace/name".
	Deployment string `yaml:"deployment"`
}

// Scoring tunes how samples are turned into results.
type Scoring struct {
	// HealthyWindow is how long an SLO must stay healthy for an outage to count as over;
	// default 10s.
	HealthyWindow time.Duration `yaml:"healthyWindow"`
}

// Step is one stage of the run: exactly one of SteadyState, Fault or Wait is set.
type Step struct {
	// Name identifies the step in expectations and reports: a DNS label.
	Name string `yaml:"name"`
	// Duration is how long a fault stays before it is reverted; required for fault steps
	// and not allowed on others.
	Duration time.Duration `yaml:"duration"`
	// SteadyState observes the SLOs without changing anything.
	SteadyState *SteadyState `yaml:"steadyState"`
	// Fault is the step's action (e.g. *nodeloss.Spec): a fault is injected for Duration,
	// then reverted; a drill runs its phases. Kinds register with fault.RegisterWithSpec.
	Fault FaultSpec `yaml:"fault"`
	// Wait pauses the run until a condition holds.
	Wait *Wait `yaml:"wait"`
}

// SteadyState observes the SLOs for a while, typically to show the baseline is healthy.
type SteadyState struct {
	// Duration is how long to observe.
	Duration time.Duration `yaml:"duration"`
}

// WaitCondition is what a wait step waits for.
type WaitCondition string

const (
	// WaitForRecovered waits until every SLO has been healthy for scoring.healthyWindow.
	WaitForRecovered WaitCondition = "recovered"
	// WaitForDuration waits for a fixed time.
	WaitForDuration WaitCondition = "duration"
)

// Wait pauses the run.
type Wait struct {
	// For is the condition; default "duration" when Duration is set, else "recovered".
	For WaitCondition `yaml:"for"`
	// Timeout bounds a wait for recovery; default 5m. Only for "recovered".
	Timeout time.Duration `yaml:"timeout"`
	// Duration is how long to wait. Only for "duration", where it is required.
	Duration time.Duration `yaml:"duration"`
}

// Expectation is a pass/fail check on one SLO's results, over the whole run or one step.
// At least one of MTTR, MTTD and Availability is set. docs/scoring.md defines the verdicts.
type Expectation struct {
	// Name is the check's name in reports and JUnit (free text, unique).
	Name string `yaml:"name"`
	// SLO names the SLO whose results are checked.
	SLO string `yaml:"slo"`
	// Step names the step checked: required with MTTR and MTTD (a fault step); for
	// Availability, a fault step's attribution range or another step's time range, and
	// empty means the whole run.
	Step string `yaml:"step"`
	// MTTR bounds the time from the fault taking effect to the sustained healthy window
	// that ended its disruption.
	MTTR *DurationLimit `yaml:"mttr"`
	// MTTD bounds the time from the fault taking effect to the first bad attempt.
	MTTD *DurationLimit `yaml:"mttd"`
	// Detection says whether the fault must be detected by the SLO's probe for MTTD and
	// MTTR to pass; default required when MTTD or MTTR is set.
	Detection Detection `yaml:"detection"`
	// Availability is the lowest acceptable fraction of good attempts.
	Availability *RatioLimit `yaml:"availability"`
}

// Detection says how an MTTD or MTTR expectation treats a fault the probe never saw.
type Detection string

const (
	// DetectionRequired fails MTTD and MTTR when the probe saw no disruption.
	DetectionRequired Detection = "required"
	// DetectionOptional passes MTTD and MTTR, unmeasured, when the probe saw no disruption.
	DetectionOptional Detection = "optional"
)

// DurationLimit is an upper bound on a measured duration.
type DurationLimit struct {
	// Max is the longest acceptable duration.
	Max time.Duration `yaml:"max"`
}

// RatioLimit is a lower bound on a measured fraction.
type RatioLimit struct {
	// Min is the lowest acceptable fraction, strictly between 0 and 1.
	Min float64 `yaml:"min"`
}

// Abort stops the run early. Faults are still reverted and the report is marked aborted.
type Abort struct {
	// Timeout bounds the whole run; default 1h.
	Timeout time.Duration `yaml:"timeout"`
	// Conditions abort the run when any of them holds.
	Conditions []AbortCondition `yaml:"conditions"`
}

// AbortCondition aborts the run when an SLO has been failing for too long.
type AbortCondition struct {
	// SLO names the SLO watched.
	SLO string `yaml:"slo"`
	// FailingFor is how long the SLO's probe must fail without a good sample.
	FailingFor time.Duration `yaml:"failingFor"`
}

// SLO returns the SLO with the given name, or nil.
func (s *Scenario) SLO(name string) *SLO {
	for i := range s.Spec.SLOs {
		if s.Spec.SLOs[i].Name == name {
			return &s.Spec.SLOs[i]
		}
	}
	return nil
}

// Step returns the step with the given name, or nil.
func (s *Scenario) Step(name string) *Step {
	for i := range s.Spec.Steps {
		if s.Spec.Steps[i].Name == name {
			return &s.Spec.Steps[i]
		}
	}
	return nil
}

// PlannedDuration is the least time the steps take: steady states, fault durations and
// fixed waits added up (waits for recovery count as zero). It saturates rather than overflows.
func (s *Spec) PlannedDuration() time.Duration {
	var total time.Duration
	for _, step := range s.Steps {
		var d time.Duration
		switch {
		case step.SteadyState != nil:
			d = step.SteadyState.Duration
		case isSet(step.Fault):
			d = step.Duration
		case step.Wait != nil && step.Wait.For == WaitForDuration:
			d = step.Wait.Duration
		}
		if d > 0 {
			total += min(d, math.MaxInt64-total)
		}
	}
	return total
}
