package probe

import (
	"context"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// TestAgentClockEstimate feeds the log reader synthetic agent output written on a clock
// with a known skew and delivered with known delays: a start-up backlog that arrives late
// in one batch, then lines that arrive after a random delay above a floor. The estimate
// must be off by exactly the fastest line's delay, and the true offset must lie within the
// reported uncertainty.
func TestAgentClockEstimate(t *testing.T) {
	t.Parallel()
	ms := time.Millisecond
	cases := []struct {
		name      string
		skew      time.Duration // agent clock minus harness clock
		minDelay  time.Duration // floor of every line's delay
		startup   time.Duration // pod creation to the agent's first line
		backlog   time.Duration // how late the lines of the first second arrive
		notBefore bool          // whether the harness knows when it created the pod
	}{
		{name: "agent clock ahead", skew: 3700 * ms, minDelay: 15 * ms, startup: 800 * ms, backlog: 1200 * ms, notBefore: true},
		{name: "agent clock behind", skew: -2 * time.Second, minDelay: 40 * ms, startup: 1500 * ms, backlog: 2 * time.Second, notBefore: true},
		{name: "same clock, no delay floor", skew: 0, minDelay: 0, startup: 300 * ms, backlog: 500 * ms, notBefore: true},
		{name: "no lower bound known", skew: time.Hour, minDelay: 5 * ms, startup: time.Second, backlog: time.Second},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			harnessStart := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC) // pod created
			agentStart := harnessStart.Add(tc.startup).Add(tc.skew)        // first line, agent clock
			rng := rand.New(rand.NewPCG(1, uint64(len(tc.name))))

			var notBefore time.Time
			if tc.notBefore {
				notBefore = harnessStart
			}
			clock := NewAgentClock(notBefore)
			r := newAgentLogReader()
			r.clock = clock
			var emitted []Sample
			fastest := time.Duration(1<<63 - 1)
			feed := func(l agentLine, written time.Time) {
				delay := tc.minDelay + time.Duration(rng.Int64N(int64(200*ms)))
				if written.Sub(agentStart) < time.Second {
					delay = tc.backlog + agentStart.Add(time.Second).Sub(written) // all arrive together
				}
				fastest = min(fastest, delay)
				received := written.Add(-tc.skew).Add(delay) // harness clock
				r.now = func() time.Time { return received }
				assert.NilError(t, r.read(strings.NewReader(line(t, l)), func(s Sample) { emitted = append(emitted, s) }))
			}
			for i := range 60 { // a minute: a heartbeat every second, an attempt every 250ms
				at := agentStart.Add(time.Duration(i) * time.Second)
				feed(agentLine{Heartbeat: at}, at)
				for j := range 4 {
					s := Sample{Probe: "web", At: at.Add(time.Duration(j) * 250 * ms), OK: true, Latency: 3 * ms}
					feed(agentLine{Sample: s}, s.At.Add(s.Latency))
				}
			}

			est, ok := clock.Estimate()
			assert.Assert(t, ok)
			assert.Equal(t, est.Heartbeats, 60)
			assert.Equal(t, est.Lines, 300)
			trueOffset := -tc.skew // harness = agent + offset
			assert.Equal(t, est.Offset-trueOffset, fastest, "the estimate is off by the fastest line's delay")
			if !tc.notBefore {
				assert.Assert(t, est.Uncertainty < 0, "no lower bound: uncertainty unknown, got %s", est.Uncertainty)
			} else {
				assert.Assert(t, trueOffset <= est.Offset && trueOffset >= est.Offset-est.Uncertainty,
					"true offset %s outside [%s, %s]", trueOffset, est.Offset-est.Uncertainty, est.Offset)
				// The lower bound comes from the first line, written startup after creation.
				assert.Equal(t, est.Uncertainty, fastest+tc.startup)
			}

			// Corrected samples are on the harness clock, off by the fastest delay only.
			assert.Equal(t, len(emitted), 240)
			for _, s := range emitted {
				harnessAt := s.At.Add(-tc.skew)
				assert.Equal(t, est.Correct(s).At.Sub(harnessAt), fastest)
			}
		})
	}
}

func TestAgentClockBeforeAnyLine(t *testing.T) {
	t.Parallel()
	_, ok := NewAgentClock(time.Now()).Estimate()
	assert.Assert(t, !ok)
}

// TestFollowAgentWithClock follows a log whose lines are written on a clock one hour
// ahead, through a real HTTP stream: the estimate finds the hour, within the delivery delay.
func TestFollowAgentWithClock(t *testing.T) {
	t.Parallel()
	const skew = time.Hour
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ticker := time.NewTicker(20 * time.Millisecond)
		defer ticker.Stop()
		for {
			now := time.Now().Add(skew)
			data, _ := agentLine{Heartbeat: now}.MarshalJSON()
			if _, err := w.Write(append(data, '\n')); err != nil {
				return
			}
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
				return
			case <-ticker.C:
			}
		}
	}))
	t.Cleanup(srv.Close)
	client, err := kubernetes.NewForConfig(&rest.Config{Host: srv.URL})
	assert.NilError(t, err)

	clock := NewAgentClock(time.Now())
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	assert.NilError(t, FollowAgentWithClock(ctx, client, "gameday", "agent", clock, func(Sample) {}))
	est, ok := clock.Estimate()
	assert.Assert(t, ok)
	assert.Assert(t, est.Heartbeats >= 3, "heartbeats: %d", est.Heartbeats)
	assert.Assert(t, est.Offset >= -skew && est.Offset < -skew+time.Second, "offset %s", est.Offset)
	assert.Assert(t, -skew >= est.Offset-est.Uncertainty, "true offset below [%s, %s]", est.Offset-est.Uncertainty, est.Offset)
}
