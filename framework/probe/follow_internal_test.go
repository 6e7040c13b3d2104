package probe

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

func line(t *testing.T, l agentLine) string {
	t.Helper()
	data, err := json.Marshal(l)
	assert.NilError(t, err)
	return string(data) + "\n"
}

// TestAgentLogReaderAcrossReconnects feeds the reader the streams a reconnecting follower
// would get: the second stream starts before the end of the first, which was cut mid-line.
func TestAgentLogReaderAcrossReconnects(t *testing.T) {
	t.Parallel()
	base := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	s := func(probe string, ms int) Sample {
		return Sample{Probe: probe, At: base.Add(time.Duration(ms) * time.Millisecond), OK: true, Latency: time.Millisecond}
	}
	a0, b0, a1, b1, a2 := s("a", 0), s("b", 100), s("a", 1000), s("b", 1100), s("a", 2000)

	r := newAgentLogReader()
	_, ok := r.resumeFrom()
	assert.Assert(t, !ok, "before any line: read the whole log")

	var got []Sample
	emit := func(s Sample) { got = append(got, s) }
	first := line(t, agentLine{Sample: a0}) + line(t, agentLine{Heartbeat: base.Add(500 * time.Millisecond)}) +
		line(t, agentLine{Sample: b0}) + line(t, agentLine{Sample: a1})
	partial := line(t, agentLine{Sample: b1})
	assert.NilError(t, r.read(strings.NewReader(first+partial[:len(partial)/2]), emit))
	assert.DeepEqual(t, got, []Sample{a0, b0, a1})

	since, ok := r.resumeFrom()
	assert.Assert(t, ok)
	// Latest time seen is a1 at 10:00:01; minus the margin, whole seconds: 09:59:59.
	assert.Equal(t, since, base.Add(-time.Second))

	second := line(t, agentLine{Sample: a0}) + line(t, agentLine{Sample: b0}) + line(t, agentLine{Sample: a1}) +
		partial + line(t, agentLine{Sample: a2})
	assert.NilError(t, r.read(strings.NewReader(second), emit))
	assert.DeepEqual(t, got, []Sample{a0, b0, a1, b1, a2})
}

func TestAgentLogReaderForgetsOldSamples(t *testing.T) {
	t.Parallel()
	base := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	r := newAgentLogReader()
	old := Sample{Probe: "a", At: base}
	recent := Sample{Probe: "a", At: base.Add(5 * time.Minute)}
	assert.NilError(t, r.read(strings.NewReader(line(t, agentLine{Sample: old})+line(t, agentLine{Sample: recent})), func(Sample) {}))
	assert.Equal(t, len(r.seen), 2)
	_, _ = r.resumeFrom()
	assert.Equal(t, len(r.seen), 1)
	_, remembered := r.seen[sampleKey{probe: "a", at: recent.At.UnixNano()}]
	assert.Assert(t, remembered)
}

// TestFollowAgentDropsASilentStream checks the watchdog: a stream that hangs without data
// (a paused control plane) is abandoned after the idle time and the follower reconnects.
func TestFollowAgentDropsASilentStream(t *testing.T) {
	t.Parallel()
	base := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	first := Sample{Probe: "web", At: base, OK: true}
	second := Sample{Probe: "web", At: base.Add(time.Second), OK: true}
	firstLine, secondLine := line(t, agentLine{Sample: first}), line(t, agentLine{Sample: second})
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch calls.Add(1) {
		case 1:
			_, _ = w.Write([]byte(firstLine))
			w.(http.Flusher).Flush()
			<-r.Context().Done() // hangs, sending nothing, until the client gives up
		case 2:
			_, _ = w.Write([]byte(firstLine + secondLine))
			w.(http.Flusher).Flush()
			<-r.Context().Done()
		default:
			<-r.Context().Done()
		}
	}))
	t.Cleanup(srv.Close)
	client, err := kubernetes.NewForConfig(&rest.Config{Host: srv.URL})
	assert.NilError(t, err)

	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	var got []Sample
	timing := followTiming{retryFirst: 10 * time.Millisecond, retryMax: 10 * time.Millisecond, idle: 300 * time.Millisecond}
	err = followAgent(ctx, client, "gameday", "agent", nil, func(s Sample) {
		got = append(got, s)
		if len(got) == 2 {
			cancel()
		}
	}, timing)
	assert.NilError(t, err)
	assert.DeepEqual(t, got, []Sample{first, second})
	assert.Equal(t, calls.Load(), int32(2))
}

// TestAgentProbesRunAtTheirOwnTiming checks that the probes the agent runs get each target's
// own interval and timeout, not one shared schedule.
func TestAgentProbesRunAtTheirOwnTiming(t *testing.T) {
	t.Parallel()
	cfg, err := ParseAgentArgs([]string{
		"--http=fast=http://10.96.0.20/,interval=250ms,timeout=1s", "--http=inherit=http://10.96.0.20/",
		"--dns=dns=x.test@10.96.0.10,interval=5s,timeout=500ms", "--interval=1s", "--timeout=2s",
	})
	assert.NilError(t, err)
	probes, err := cfg.probes()
	assert.NilError(t, err)
	got := map[string]Timing{}
	for _, p := range probes {
		got[p.Name()] = p.(interface{ Timing() Timing }).Timing()
	}
	assert.DeepEqual(t, got, map[string]Timing{
		"fast":    {Interval: 250 * time.Millisecond, Timeout: time.Second},
		"inherit": {Interval: time.Second, Timeout: 2 * time.Second},
		"dns":     {Interval: 5 * time.Second, Timeout: 500 * time.Millisecond},
	})
	assert.DeepEqual(t, got, cfg.Timings())
}
