// Package probe measures a service level from the outside while a game day runs:
// each probe attempts one request every interval and emits a Sample per attempt.
// The samples are what framework/score turns into MTTD, MTTR and availability.
package probe

import "time"

// Sample is the outcome of one probe attempt.
type Sample struct {
	Probe   string        `json:"probe"`           // probe name from the scenario
	At      time.Time     `json:"at"`              // when the attempt started
	OK      bool          `json:"ok"`              // whether the attempt met the probe's success criteria
	Latency time.Duration `json:"latencyNs"`       // how long the attempt took
	Error   string        `json:"error,omitempty"` // why the attempt failed, empty when OK
}
