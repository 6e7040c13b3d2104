package runner

import (
	"time"

	"github.com/gameday-dev/gameday/framework/score"
	"github.com/gameday-dev/gameday/reports"
)

// The run is the fault.Sink of its actions: windows are scored against the SLOs'
// samples, observations and figures go into the report.

// OpenWindow starts a fault window when the action's first change begins.
func (r *run) OpenWindow(name string, start time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.windows = append(r.windows, score.Window{Name: name, Start: start})
}

// Effective records when the fault of a window took effect.
func (r *run) Effective(name string, at time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := range r.windows {
		if r.windows[i].Name == name && r.windows[i].End.IsZero() {
			r.windows[i].Effective = at
		}
	}
}

// CloseWindow sets a window's end when its action is settled.
func (r *run) CloseWindow(name string, end time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := range r.windows {
		if r.windows[i].Name == name && r.windows[i].End.IsZero() {
			r.windows[i].End = end
		}
	}
}

// Observe stores an observation, relating it to the fault step it falls in.
func (r *run) Observe(o reports.Observation) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if o.Step == "" {
		for i := len(r.windows) - 1; i >= 0; i-- {
			if !o.At.Before(r.windows[i].Start) {
				o.Step = r.windows[i].Name
				break
			}
		}
	}
	r.observations = append(r.observations, o)
}

// Figure stores a figure an action measured.
func (r *run) Figure(f reports.Figure) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.figures = append(r.figures, f)
}
