package gamedaye2e

import (
	"time"

	"github.com/gameday-dev/gameday/framework/score"
	"github.com/gameday-dev/gameday/reports"
)

// The session is the fault.Sink of the actions its steps start: windows are scored
// by Score, observations and figures are kept for Figures and Observations.

// OpenWindow starts a fault window.
func (s *session) OpenWindow(name string, start time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.windows = append(s.windows, score.Window{Name: name, Start: start})
}

// Effective records when a window's fault took effect.
func (s *session) Effective(name string, at time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.windows {
		if s.windows[i].Name == name && s.windows[i].End.IsZero() {
			s.windows[i].Effective = at
		}
	}
}

// CloseWindow ends a window once its fault is reverted.
func (s *session) CloseWindow(name string, end time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.windows {
		if s.windows[i].Name == name && s.windows[i].End.IsZero() {
			s.windows[i].End = end
		}
	}
}

// Observe keeps an observation.
func (s *session) Observe(o reports.Observation) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.notes = append(s.notes, o)
}

// Figure keeps a figure.
func (s *session) Figure(f reports.Figure) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.figures = append(s.figures, f)
}
