// Package reports is the game-day report: a versioned JSON document, report.json,
// which is the source of truth, and the renderers that derive report.md (a CI job
// summary), report.html (one self-contained file with a timeline chart per SLO) and
// junit.xml (one test case per expectation) from it.
//
// Nothing in a Report carries cluster credentials, and Write scrubs every
// free-text field with Redact before anything reaches the disk.
package reports

import (
	"time"

	"github.com/gameday-dev/gameday/framework/score"
)

// APIVersion and Kind identify a report document.
const (
	APIVersion = "gameday.dev/report/v1"
	Kind       = "GameDayReport"
)

// The files Write and Render put in a run folder.
const (
	JSONFile     = "report.json"
	MarkdownFile = "report.md"
	HTMLFile     = "report.html"
	JUnitFile    = "junit.xml"
)

// Outcome is the verdict of a run.
type Outcome string

// The outcomes of a run; they map to the exit codes in docs/design.md.
const (
	OutcomePassed  Outcome = "passed"  // every SLO and expectation passed
	OutcomeFailed  Outcome = "failed"  // an SLO or expectation failed
	OutcomeAborted Outcome = "aborted" // stopped by a signal or timeout; faults reverted
	OutcomeError   Outcome = "error"   // infrastructure error: cluster or API unreachable
)

// Report is one game-day run.
type Report struct {
	APIVersion string   `json:"apiVersion"`
	Kind       string   `json:"kind"`
	RunID      string   `json:"runID"`
	Scenario   Scenario `json:"scenario"`
	// Start and End bound the run; chart offsets are measured from Start.
	Start   time.Time `json:"start"`
	End     time.Time `json:"end"`
	Outcome Outcome   `json:"outcome"`
	// AbortReason says why an aborted run stopped (signal, timeout).
	AbortReason string `json:"abortReason,omitempty"`
	// Error is the infrastructure error of a run with outcome "error".
	Error        string        `json:"error,omitempty"`
	Cluster      Cluster       `json:"cluster"`
	Steps        []Step        `json:"steps"`
	SLOs         []SLO         `json:"slos"`
	Expectations []Expectation `json:"expectations"`
	// Observations are what Kubernetes itself noticed, and when.
	Observations []Observation `json:"observations"`
	// Figures are what the actions measured on their own (docs/scoring.md).
	Figures []Figure `json:"figures,omitempty"`
	Logs    []Log    `json:"logs"`
	// AgentClock is the in-cluster agent's clock offset as estimated from its output; absent
	// when no agent ran.
	AgentClock *AgentClock `json:"agentClock,omitempty"`
}

// AgentClock is how far the in-cluster probe agent's clock was from the harness clock, as
// estimated from the times written in the agent's lines and the times the harness received
// them. The agent's sample times in the report are corrected by OffsetNs (harness time =
// agent time + OffsetNs). The estimate assumes the fastest line arrived without delay, so
// the true offset lies between OffsetNs - UncertaintyNs and OffsetNs.
type AgentClock struct {
	OffsetNs      time.Duration `json:"offsetNs"`
	UncertaintyNs time.Duration `json:"uncertaintyNs"`
	Heartbeats    int           `json:"heartbeats"` // heartbeat lines received
	Lines         int           `json:"lines"`      // lines (heartbeats and samples) the estimate used
}

// New returns a report with APIVersion and Kind set.
func New() *Report { return &Report{APIVersion: APIVersion, Kind: Kind} }

// Scenario identifies the scenario that ran.
type Scenario struct {
	Name        string `json:"name"`
	File        string `json:"file,omitempty"`
	Description string `json:"description,omitempty"`
}

// Cluster describes the cluster the run acted on. It never holds credentials.
type Cluster struct {
	Name              string `json:"name"`
	Provider          string `json:"provider"` // e.g. "kind", "kubeconfig"
	KubernetesVersion string `json:"kubernetesVersion,omitempty"`
	Nodes             []Node `json:"nodes"`
}

// Node is one cluster node at the start of the run.
type Node struct {
	Name           string   `json:"name"`
	Roles          []string `json:"roles,omitempty"`
	KubeletVersion string   `json:"kubeletVersion,omitempty"`
}

// Step is one scenario step as it ran.
type Step struct {
	Name  string    `json:"name"`
	Kind  string    `json:"kind"` // fault kind (e.g. "nodeLoss") or "wait"
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
	// Targets are the objects the step acted on, e.g. "node/kind-worker2".
	Targets []string `json:"targets,omitempty"`
	// Reverted is true when the step's fault was undone.
	Reverted bool   `json:"reverted"`
	Error    string `json:"error,omitempty"`
}

// SLO is one service level objective: its probe, its score and its samples.
type SLO struct {
	Name          string        `json:"name"`
	Probe         Probe         `json:"probe"`
	Objective     float64       `json:"objective"`
	HealthyWindow time.Duration `json:"healthyWindowNs"`
	Interval      time.Duration `json:"intervalNs"`
	// Period is the SLO period the error budget is counted against (docs/scoring.md).
	Period time.Duration `json:"periodNs,omitempty"`
	// LatencyMax is the latency objective: an OK attempt slower than it is bad; 0 means none.
	LatencyMax time.Duration `json:"latencyMaxNs,omitempty"`
	// Timeout bounds one probe attempt, as the probe ran; absent in older reports.
	Timeout time.Duration `json:"timeoutNs,omitempty"`
	Result  score.Result  `json:"result"`
	Samples SampleSeries  `json:"samples"`
}

// Probe describes how an SLO was measured.
type Probe struct {
	Name string `json:"name"`
	Kind string `json:"kind"` // e.g. "http", "apiServer", "workloadReady"
	// Path is the documented vantage point and network path of the probe, e.g.
	// "harness → kind node network → NodePort 30080 → kube-proxy → pod".
	Path string `json:"path"`
}

// Expectation is one check the scenario asked for, with what was measured.
type Expectation struct {
	Name  string `json:"name"`
	SLO   string `json:"slo,omitempty"`
	Step  string `json:"step,omitempty"`
	Check string `json:"check"` // what was checked, e.g. "mttr", "availability"
	// Outcome is the fault outcome an mttd or mttr check judged (score.Outcome), e.g.
	// "failingAtInjection"; empty for availability or when the fault never ran.
	Outcome string `json:"outcome,omitempty"`
	// Unit of Measured and Threshold: UnitSeconds, UnitRatio or UnitCount.
	Unit       string  `json:"unit"`
	Comparison string  `json:"comparison"` // "<=", "<", ">=", ">" or "=="
	Threshold  float64 `json:"threshold"`
	// Measured is absent when there was nothing to measure (e.g. never recovered).
	Measured *float64 `json:"measured,omitempty"`
	Passed   bool     `json:"passed"`
	Message  string   `json:"message,omitempty"`
}

// Units of an Expectation.
const (
	UnitSeconds = "seconds"
	UnitRatio   = "ratio"
	UnitCount   = "count"
)

// Observation is one thing Kubernetes noticed, e.g. a node turning NotReady.
type Observation struct {
	What   string    `json:"what"`   // e.g. "nodeNotReady"
	At     time.Time `json:"at"`     // when it was seen
	Source string    `json:"source"` // where it was seen, e.g. "node/kind-worker .status.conditions[Ready]"
	// Step and After relate the observation to the fault step it followed:
	// After is the time Kubernetes took to notice, from when the fault took effect
	// (docs/scoring.md, Observations).
	Step   string         `json:"step,omitempty"`
	After  *time.Duration `json:"afterNs,omitempty"`
	Detail string         `json:"detail,omitempty"`
}

// Log is a collected log file, relative to the run folder.
type Log struct {
	What string `json:"what"` // e.g. "kubelet on kind-worker2"
	Path string `json:"path"`
}
