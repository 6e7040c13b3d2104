package cli

import (
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"

	"github.com/gameday-dev/gameday/framework/runner"
	"github.com/gameday-dev/gameday/framework/scenario"
)

// The --progress modes of `gameday run`.
const (
	progressAuto  = "auto"  // live on a terminal, plain otherwise or when CI=true
	progressLive  = "live"  // the redrawing status area
	progressPlain = "plain" // timestamped lines, no ANSI, no carriage returns
)

// runProgress is what `gameday run` shows while a scenario runs.
type runProgress interface {
	runner.Progress
	// Close stops the view; the last state stays on screen.
	Close()
}

// RunDirReporter is implemented by the CLI's progress views: a runner that calls
// RunDir as soon as the run folder exists lets a second Ctrl-C name the folder to recover.
type RunDirReporter interface {
	RunDir(dir string)
}

// useLiveProgress decides whether stdout gets the live view.
func useLiveProgress(mode string, stdout io.Writer, getenv func(string) string) bool {
	switch mode {
	case progressLive:
		return true
	case progressPlain:
		return false
	}
	if getenv("CI") == "true" || getenv("TERM") == "dumb" {
		return false
	}
	f, ok := stdout.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// runView is the state both views show: the scenario, the current phase and each SLO.
type runView struct {
	scenario *scenario.Scenario
	now      func() time.Time

	mu         sync.Mutex
	runStart   time.Time
	phase      string
	phaseStart time.Time
	slos       []*sloView
}

type sloView struct {
	name   string
	ok     bool
	since  time.Time
	detail string
}

func newRunView(s *scenario.Scenario, now func() time.Time) *runView {
	if now == nil {
		now = time.Now
	}
	return &runView{scenario: s, now: now, runStart: now()}
}

func (v *runView) setPhase(name string) time.Time {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.phase, v.phaseStart = name, v.now()
	return v.phaseStart
}

// setSLO records an SLO's state and reports whether it is new or changed.
func (v *runView) setSLO(name string, ok bool, at time.Time, detail string) (changed bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	for _, s := range v.slos {
		if s.name == name {
			changed = s.ok != ok
			if changed {
				s.since = at
			}
			s.ok, s.detail = ok, detail
			return changed
		}
	}
	v.slos = append(v.slos, &sloView{name: name, ok: ok, since: at, detail: detail})
	return true
}

// step returns the scenario step a phase named "step NAME" runs, or nil.
func (v *runView) step(phase string) *scenario.Step {
	name, ok := strings.CutPrefix(phase, "step ")
	if !ok || v.scenario == nil {
		return nil
	}
	return v.scenario.Step(strings.TrimSpace(name))
}

// stepDuration is how long a step is planned to take, and whether that is only an upper
// bound (a wait for recovery).
func stepDuration(step *scenario.Step) (d time.Duration, upTo bool) {
	switch {
	case step.SteadyState != nil:
		return step.SteadyState.Duration, false
	case step.Wait != nil && step.Wait.For == scenario.WaitForRecovered:
		return step.Wait.Timeout, true
	case step.Wait != nil:
		return step.Wait.Duration, false
	}
	return step.Duration, false
}

// plannedAfter is the planned time of the steps after the named one.
func (v *runView) plannedAfter(step *scenario.Step) time.Duration {
	var total time.Duration
	after := false
	for i := range v.scenario.Spec.Steps {
		s := &v.scenario.Spec.Steps[i]
		if after {
			if d, upTo := stepDuration(s); !upTo {
				total += d
			}
		}
		if s.Name == step.Name {
			after = true
		}
	}
	return total
}

// phaseLine describes the current phase: its name, elapsed and remaining time.
func (v *runView) phaseLine() string {
	v.mu.Lock()
	phase, phaseStart, runStart := v.phase, v.phaseStart, v.runStart
	v.mu.Unlock()
	now := v.now()
	if phase == "" {
		return fmt.Sprintf("starting  (run %s)", clock(now.Sub(runStart)))
	}
	elapsed := now.Sub(phaseStart)
	line := fmt.Sprintf("%s  %s elapsed", phase, clock(elapsed))
	if step := v.step(phase); step != nil {
		planned, upTo := stepDuration(step)
		left := max(planned-elapsed, 0)
		if upTo {
			line += fmt.Sprintf(", gives up in %s", clock(left))
		} else {
			line += fmt.Sprintf(", %s left", clock(left))
			if rest := v.plannedAfter(step); rest > 0 {
				line += fmt.Sprintf(" (run: about %s left)", clock(left+rest))
			}
		}
	}
	return line + fmt.Sprintf("  [run %s]", clock(now.Sub(runStart)))
}

// sloLines describes each SLO: ✓ or ✗, and since when.
func (v *runView) sloLines() []string {
	v.mu.Lock()
	defer v.mu.Unlock()
	now := v.now()
	lines := make([]string, 0, len(v.slos))
	for _, s := range v.slos {
		lines = append(lines, sloLine(s, now))
	}
	return lines
}

func sloLine(s *sloView, now time.Time) string {
	mark, state := "✓", "healthy"
	if !s.ok {
		mark, state = "✗", "failing"
	}
	line := fmt.Sprintf("%s %s  %s since %s (%s)", mark, s.name, state, s.since.Local().Format("15:04:05"), clock(now.Sub(s.since)))
	if !s.ok && s.detail != "" {
		line += ": " + s.detail
	}
	return line
}

// clock formats a duration as m:ss or h:mm:ss.
func clock(d time.Duration) string {
	d = max(d, 0).Truncate(time.Second)
	h, m, s := int(d/time.Hour), int(d/time.Minute)%60, int(d/time.Second)%60
	if h > 0 {
		return fmt.Sprintf("%d:%02d:%02d", h, m, s)
	}
	return fmt.Sprintf("%d:%02d", m, s)
}

// plainProgress prints one timestamped line per event, with no ANSI escapes and no
// carriage returns, for CI logs and files.
type plainProgress struct {
	view *runView
	mu   sync.Mutex
	w    io.Writer
}

func newPlainProgress(w io.Writer, s *scenario.Scenario, now func() time.Time) *plainProgress {
	return &plainProgress{view: newRunView(s, now), w: w}
}

func (p *plainProgress) line(at time.Time, format string, args ...any) {
	text := sanitize(fmt.Sprintf(format, args...))
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.w, "%s %s\n", at.Format(time.RFC3339), strings.ReplaceAll(text, "\n", "\n    "))
}

// Phase prints the phase that starts, with its planned duration for steps.
func (p *plainProgress) Phase(name string) {
	at := p.view.setPhase(name)
	if step := p.view.step(name); step != nil {
		if d, upTo := stepDuration(step); upTo {
			p.line(at, "== %s (up to %s)", name, formatDuration(d))
		} else {
			p.line(at, "== %s (%s)", name, formatDuration(d))
		}
		return
	}
	p.line(at, "== %s", name)
}

// Printf prints one event.
func (p *plainProgress) Printf(format string, args ...any) {
	p.line(p.view.now(), format, args...)
}

// SLO prints an SLO's change of state.
func (p *plainProgress) SLO(name string, ok bool, at time.Time, detail string) {
	if !p.view.setSLO(name, ok, at, detail) {
		return
	}
	if ok {
		p.line(at, "SLO %s healthy", name)
	} else {
		p.line(at, "SLO %s FAILING: %s", name, detail)
	}
}

// RunDir prints the run folder.
func (p *plainProgress) RunDir(dir string) { p.Printf("run folder %s", dir) }

// Close does nothing: every line is already written.
func (p *plainProgress) Close() {}

// ansiEscape matches ANSI escape sequences (CSI, OSC and two-byte escapes).
var ansiEscape = regexp.MustCompile(`\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[@-Z\\-_])`)

// sanitize removes ANSI escapes and control characters other than newline and tab, so
// that text from the cluster or from commands cannot garble a log.
func sanitize(s string) string {
	s = ansiEscape.ReplaceAllString(s, "")
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\n' || r == '\t':
			return r
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0):
			return -1
		}
		return r
	}, s)
}
