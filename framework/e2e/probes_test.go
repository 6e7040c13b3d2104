package gamedaye2e

import (
	"context"
	"errors"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	"sigs.k8s.io/e2e-framework/pkg/envconf"

	"github.com/gameday-dev/gameday/clusters"
	"github.com/gameday-dev/gameday/framework/probe"
	"github.com/gameday-dev/gameday/framework/score"
)

func TestStartAndStopProbes(t *testing.T) {
	t.Parallel()
	cfg := envconf.New()
	a := &fakeProbe{name: "a", interval: 2 * time.Millisecond}
	b := &fakeProbe{name: "b", interval: 2 * time.Millisecond, fail: func(n int) bool { return n%2 == 1 }}
	ctx := StartProbes(a, b)(context.Background(), t, cfg)

	rec, ok := RecorderFrom(ctx)
	assert.Assert(t, ok)
	assert.DeepEqual(t, rec.Probes(), []string{"a", "b"})
	s, _ := sessionFrom(ctx)
	assert.Assert(t, s.running())

	// More probes join the running measurement and its recorder.
	c := &fakeProbe{name: "c", interval: 2 * time.Millisecond}
	ctx = StartProbes(c)(ctx, t, cfg)
	rec2, _ := RecorderFrom(ctx)
	assert.Assert(t, rec2 == rec)

	time.Sleep(20 * time.Millisecond)
	ctx = StopProbes()(ctx, t, cfg)
	assert.Assert(t, !s.running())
	n := len(rec.Samples("a"))
	assert.Assert(t, n > 1, "samples: %d", n)
	time.Sleep(10 * time.Millisecond)
	assert.Equal(t, len(rec.Samples("a")), n, "no samples after StopProbes")

	// Stopping twice, or without a session, does nothing.
	StopProbes()(ctx, t, cfg)
	StopProbes()(context.Background(), t, cfg)
}

func TestStartProbesRejectsDuplicateAndNamelessProbes(t *testing.T) {
	t.Parallel()
	ctx, s := ensureSession(context.Background())
	defer s.stopProbes(ctx)
	err := s.startProbes(ctx, []probe.Probe{
		&fakeProbe{name: "a", interval: time.Millisecond}, &fakeProbe{name: "a", interval: time.Millisecond},
	})
	assert.ErrorContains(t, err, `probe name "a" used twice`)

	assert.NilError(t, s.startProbes(ctx, []probe.Probe{&fakeProbe{name: "b", interval: time.Millisecond}}))
	err = s.startProbes(ctx, []probe.Probe{&fakeProbe{name: "b", interval: time.Millisecond}})
	assert.ErrorContains(t, err, `probe name "b" used twice`, "names are unique across calls")

	err = s.startProbes(ctx, []probe.Probe{&fakeProbe{interval: time.Millisecond}})
	assert.ErrorContains(t, err, "a probe has no name")
	assert.ErrorContains(t, s.startProbes(ctx, nil), "no probes given")
}

func TestStartProbesReportsAProbeThatCannotRun(t *testing.T) {
	t.Parallel()
	ctx, s := ensureSession(context.Background())
	err := s.startProbes(ctx, []probe.Probe{&fakeProbe{name: "bad", runErr: errors.New("invalid URL")}})
	assert.ErrorContains(t, err, "invalid URL")
	assert.ErrorContains(t, s.stopProbes(ctx), "invalid URL", "StopProbes reports it too")
}

func TestWaitFirstSamplesTimesOut(t *testing.T) {
	t.Parallel()
	ctx, s := ensureSession(context.Background())
	_, _, err := s.reserve(ctx, []string{"quiet"})
	assert.NilError(t, err)
	s.goRun(s.runCtx, func(ctx context.Context) error {
		return (&fakeProbe{name: "quiet", interval: time.Millisecond, silent: true}).Run(ctx, s.recorder.Emit)
	})
	err = s.waitFirstSamples(ctx, []string{"quiet"}, 20*time.Millisecond)
	assert.ErrorContains(t, err, "no sample from probe quiet after 20ms")
	assert.NilError(t, s.stopProbes(ctx))
}

func TestStartProbesAfterStopStartsANewMeasurement(t *testing.T) {
	t.Parallel()
	ctx, s := ensureSession(context.Background())
	assert.NilError(t, s.startProbes(ctx, []probe.Probe{&fakeProbe{name: "a", interval: time.Millisecond}}))
	s.mu.Lock()
	s.windows = append(s.windows, score.Window{Name: "old", Start: time.Now().Add(-time.Minute)})
	s.mu.Unlock()
	first, _ := RecorderFrom(ctx)
	assert.NilError(t, s.stopProbes(ctx))

	assert.NilError(t, s.startProbes(ctx, []probe.Probe{&fakeProbe{name: "a", interval: time.Millisecond}}))
	defer s.stopProbes(ctx)
	second, _ := RecorderFrom(ctx)
	assert.Assert(t, second != first, "a new recorder")
	res, err := Score(ctx, "a", 0.9, time.Second)
	assert.NilError(t, err)
	assert.Equal(t, len(res.Faults), 0, "windows from before the new measurement are not scored")
	assert.Equal(t, len(FaultWindows(ctx)), 1, "but they are still listed")
}

func TestStartAgentProbesChecksBeforeDeploying(t *testing.T) {
	useFakes(t, &fakeInjector{})
	cfg := envconf.New()
	ctx, s := ensureSession(WithCluster(context.Background(), kindCluster("gd")))
	err := s.startAgent(ctx, cfg, "gd-control-plane", probe.AgentConfig{})
	assert.ErrorContains(t, err, "no probes")

	dns := probe.AgentConfig{DNS: []probe.AgentDNSTarget{{Name: "dns", Host: "kubernetes.default.svc.cluster.local", Server: "10.96.0.10:53"}}}
	refused := &clusters.Cluster{Name: "prod", Provider: "kubeconfig", Context: "prod", REST: kindCluster("x").REST}
	ctx2, s2 := ensureSession(context.WithValue(context.Background(), clusterKey{}, &binding{cluster: refused}))
	assert.ErrorContains(t, s2.startAgent(ctx2, cfg, "n", dns), "refusing to act")
	assert.Assert(t, !s2.running(), "nothing started")
}
