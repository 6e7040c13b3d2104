package cli

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/mattn/go-runewidth"
	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"

	"github.com/gameday-dev/gameday/framework/scenario"
)

// liveRefresh is how often the live view redraws.
const liveRefresh = 200 * time.Millisecond

// liveProgress is the terminal view of a run: events scroll by above a status area that
// redraws in place, showing the current phase with its elapsed and remaining time and
// one line per SLO (✓ or ✗, since when). mpb draws the area: each line is one mpb bar
// whose filler prints our text, and mpb's Write prints events above it.
type liveProgress struct {
	view *runView
	p    *mpb.Progress

	mu     sync.Mutex
	bars   map[string]*mpb.Bar // SLO name -> its line
	all    []*mpb.Bar
	closed bool
}

// newLiveProgress starts the live view on w; forceRefresh redraws even when w is not a
// terminal (--progress=live into a pipe, and tests).
func newLiveProgress(w io.Writer, s *scenario.Scenario, forceRefresh bool) *liveProgress {
	lp := &liveProgress{view: newRunView(s, nil), bars: map[string]*mpb.Bar{}}
	opts := []mpb.ContainerOption{mpb.WithOutput(w), mpb.WithRefreshRate(liveRefresh)}
	if forceRefresh {
		opts = append(opts, mpb.WithAutoRefresh())
	}
	lp.p = mpb.New(opts...)
	lp.addLine(func(width int) string {
		spin := spinnerFrames[int(time.Now().UnixMilli()/int64(liveRefresh/time.Millisecond))%len(spinnerFrames)]
		return spin + " " + lp.view.phaseLine()
	})
	return lp
}

var spinnerFrames = []string{"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"}

// addLine adds a status line drawn by text; lines are shown in the order added.
func (lp *liveProgress) addLine(text func(width int) string) *mpb.Bar {
	filler := mpb.BarFillerFunc(func(w io.Writer, stat decor.Statistics) error {
		line := strings.ReplaceAll(sanitize(text(stat.AvailableWidth)), "\n", " ")
		if stat.AvailableWidth > 0 && runewidth.StringWidth(line) > stat.AvailableWidth {
			line = runewidth.Truncate(line, stat.AvailableWidth, "…")
		}
		_, err := io.WriteString(w, line)
		return err
	})
	lp.mu.Lock()
	defer lp.mu.Unlock()
	if lp.closed {
		return nil
	}
	bar := lp.p.MustAdd(0, filler, mpb.BarFillerTrim())
	lp.all = append(lp.all, bar)
	return bar
}

// event prints one line above the status area.
func (lp *liveProgress) event(at time.Time, format string, args ...any) {
	text := sanitize(fmt.Sprintf(format, args...))
	_, _ = fmt.Fprintf(lp.p, "%s %s\n", at.Local().Format("15:04:05"), strings.ReplaceAll(text, "\n", "\n         "))
}

// Phase shows the new phase in the status area and logs it above.
func (lp *liveProgress) Phase(name string) {
	at := lp.view.setPhase(name)
	lp.event(at, "▶ %s", name)
}

// Printf logs one event above the status area.
func (lp *liveProgress) Printf(format string, args ...any) {
	lp.event(time.Now(), format, args...)
}

// SLO updates the SLO's status line, adding it on first sight, and logs changes above.
func (lp *liveProgress) SLO(name string, ok bool, at time.Time, detail string) {
	if !lp.view.setSLO(name, ok, at, detail) {
		return
	}
	lp.mu.Lock()
	_, known := lp.bars[name]
	lp.bars[name] = nil // claimed: a concurrent call for the same SLO adds no second line
	lp.mu.Unlock()
	if !known {
		bar := lp.addLine(func(int) string { return lp.sloLine(name) })
		lp.mu.Lock()
		lp.bars[name] = bar
		lp.mu.Unlock()
	}
	if ok {
		lp.event(at, "✓ SLO %s healthy", name)
	} else {
		lp.event(at, "✗ SLO %s failing: %s", name, detail)
	}
}

func (lp *liveProgress) sloLine(name string) string {
	lp.view.mu.Lock()
	defer lp.view.mu.Unlock()
	for _, s := range lp.view.slos {
		if s.name == name {
			return "  " + sloLine(s, lp.view.now())
		}
	}
	return ""
}

// RunDir logs the run folder.
func (lp *liveProgress) RunDir(dir string) { lp.Printf("run folder %s", dir) }

// Close draws the status area one last time and leaves it on screen.
func (lp *liveProgress) Close() {
	lp.mu.Lock()
	bars := lp.all
	lp.closed = true
	lp.mu.Unlock()
	for _, b := range bars {
		b.Abort(false)
	}
	lp.p.Wait()
}

// Writer prints above the status area while the view is open.
func (lp *liveProgress) Writer() io.Writer { return lp.p }
