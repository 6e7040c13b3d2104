package reports

import "time"

// Figure is a number an action measured on its own, beside the SLO scores: a
// restore drill's RTO, the time one node took to upgrade, the injection time of a
// fault. docs/scoring.md defines each figure an action reports.
type Figure struct {
	// Name identifies the figure, e.g. "injectionTime" or "rto".
	Name string `json:"name"`
	// Step is the scenario step whose action measured it.
	Step string `json:"step,omitempty"`
	// Target is what it was measured on, e.g. "node/kind-worker"; empty for the step.
	Target string `json:"target,omitempty"`
	// Value is the figure in Unit: seconds for durations.
	Value float64 `json:"value"`
	// Unit is "seconds", "count" or "ratio".
	Unit string `json:"unit"`
	// At is when it was measured.
	At time.Time `json:"at,omitzero"`
	// Detail says how it was measured.
	Detail string `json:"detail,omitempty"`
}
