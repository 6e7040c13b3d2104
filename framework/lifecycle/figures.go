package lifecycle

import (
	"time"

	"github.com/gameday-dev/gameday/reports"
)

// phaseFigure is the duration of one drill phase that just ended.
func phaseFigure(step, phase string, started time.Time) reports.Figure {
	now := time.Now().UTC()
	return reports.Figure{
		Name: "phaseDuration", Step: step, Target: "phase/" + phase,
		Value: now.Sub(started).Seconds(), Unit: reports.UnitSeconds, At: now,
		Detail: "from the phase's journaled start to its end",
	}
}
