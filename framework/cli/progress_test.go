package cli

import (
	"strings"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/gameday-dev/gameday/framework/scenario"
)

func loadTestScenario(t *testing.T, path string) *scenario.Scenario {
	t.Helper()
	s, err := scenario.LoadFile(path)
	assert.NilError(t, err)
	return s
}

func TestPlainProgressIsCleanForCILogs(t *testing.T) {
	t.Parallel()
	var out syncBuffer
	start := time.Date(2026, 7, 30, 12, 0, 0, 0, time.UTC)
	now := start
	p := newPlainProgress(&out, loadTestScenario(t, nodeLossScenario), func() time.Time { return now })

	p.Phase("cluster")
	p.Printf("kind says \x1b[32m✓ Ensuring node image\x1b[0m\r\n\x1b]0;title\x07done\b")
	now = now.Add(20 * time.Second)
	p.Phase("step lose-a-worker")
	p.SLO("workload-http", false, now.Add(3*time.Second), "GET http://workload: \x1b[31mconnection refused\x1b[0m")
	p.SLO("workload-http", false, now.Add(4*time.Second), "still refused") // no change: not printed
	p.SLO("workload-http", true, now.Add(50*time.Second), "")
	p.Phase("step settle")
	p.RunDir("runs/x")
	p.Close()

	got := out.String()
	assert.Check(t, !strings.ContainsAny(got, "\x1b\r\b\x07"), "ANSI escapes or control characters in %q", got)
	want := `2026-07-30T12:00:00Z == cluster
2026-07-30T12:00:00Z kind says ✓ Ensuring node image
    done
2026-07-30T12:00:20Z == step lose-a-worker (1m)
2026-07-30T12:00:23Z SLO workload-http FAILING: GET http://workload: connection refused
2026-07-30T12:01:10Z SLO workload-http healthy
2026-07-30T12:00:20Z == step settle (up to 5m)
2026-07-30T12:00:20Z run folder runs/x
`
	assert.Equal(t, got, want)
}

func TestUseLiveProgress(t *testing.T) {
	t.Parallel()
	env := func(vars ...string) func(string) string {
		return func(key string) string {
			for i := 0; i+1 < len(vars); i += 2 {
				if vars[i] == key {
					return vars[i+1]
				}
			}
			return ""
		}
	}
	var buf syncBuffer
	assert.Check(t, !useLiveProgress(progressAuto, &buf, env()), "a buffer is not a terminal")
	assert.Check(t, useLiveProgress(progressLive, &buf, env("CI", "true")), "--progress=live wins")
	assert.Check(t, !useLiveProgress(progressPlain, &buf, env()))
	assert.Check(t, !useLiveProgress(progressAuto, &buf, env("CI", "true")))
}

func TestRunViewPhaseLine(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 7, 30, 12, 0, 0, 0, time.UTC)
	now := start
	v := newRunView(loadTestScenario(t, nodeLossScenario), func() time.Time { return now })
	now = now.Add(20 * time.Second)
	v.setPhase("step lose-a-worker")
	now = now.Add(42 * time.Second)
	assert.Equal(t, v.phaseLine(), "step lose-a-worker  0:42 elapsed, 0:18 left  [run 1:02]")
	now = start.Add(30 * time.Second)
	assert.Equal(t, v.phaseLine(), "step lose-a-worker  0:10 elapsed, 0:50 left  [run 0:30]")

	v.setPhase("step settle")
	assert.Equal(t, v.phaseLine(), "step settle  0:00 elapsed, gives up in 5:00  [run 0:30]")

	v.setSLO("api-server", true, start, "")
	v.setSLO("workload-http", false, start.Add(10*time.Second), "refused")
	lines := v.sloLines()
	assert.Equal(t, len(lines), 2)
	assert.Check(t, is.Contains(lines[0], "✓ api-server  healthy since "))
	assert.Check(t, is.Contains(lines[1], "✗ workload-http  failing since "))
	assert.Check(t, is.Contains(lines[1], "(0:20): refused"))
}

func TestRunViewPlannedTimeLeft(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 7, 30, 12, 0, 0, 0, time.UTC)
	now := start
	v := newRunView(loadTestScenario(t, dnsOutageScenario), func() time.Time { return now })
	first := v.scenario.Spec.Steps[0]
	v.setPhase("step " + first.Name)
	assert.Check(t, is.Contains(v.phaseLine(), "(run: about "))
}

func TestLiveProgressDraws(t *testing.T) {
	t.Parallel()
	var out syncBuffer
	lp := newLiveProgress(&out, loadTestScenario(t, nodeLossScenario), true)
	lp.Phase("step lose-a-worker")
	lp.SLO("workload-http", false, time.Now(), "refused")
	lp.Printf("stopping node %s", "gameday-worker")
	time.Sleep(2 * liveRefresh)
	lp.Close()
	got := out.String()
	assert.Check(t, is.Contains(got, "✗ workload-http  failing since"))
	assert.Check(t, is.Contains(got, "stopping node gameday-worker"))
	assert.Check(t, is.Contains(got, "step lose-a-worker  0:0"))
}

func TestClock(t *testing.T) {
	t.Parallel()
	assert.Equal(t, clock(0), "0:00")
	assert.Equal(t, clock(-time.Second), "0:00")
	assert.Equal(t, clock(62*time.Second+time.Millisecond), "1:02")
	assert.Equal(t, clock(time.Hour+2*time.Minute+3*time.Second), "1:02:03")
}

func TestFormatDuration(t *testing.T) {
	t.Parallel()
	for d, want := range map[time.Duration]string{
		0:                                     "0s",
		250 * time.Millisecond:                "250ms",
		80 * time.Second:                      "1m20s",
		3 * time.Minute:                       "3m",
		time.Hour:                             "1h",
		time.Hour + 30*time.Second:            "1h0m30s",
		2*time.Hour + 5*time.Minute:           "2h5m",
		90*time.Second + 400*time.Millisecond: "1m30s",
	} {
		assert.Check(t, is.Equal(formatDuration(d), want), d.String())
	}
}
