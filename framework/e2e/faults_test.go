package gamedaye2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	"sigs.k8s.io/e2e-framework/pkg/envconf"

	"github.com/gameday-dev/gameday/clusters"
	"github.com/gameday-dev/gameday/framework/fault/dnsoutage"
)

var dnsDown = &dnsoutage.Spec{Mode: dnsoutage.ScaleDown}

// These tests replace package variables (useFakes), so they do not run in parallel.

func TestInjectThenRevertFaults(t *testing.T) {
	inj := &fakeInjector{targets: []string{"node/w1", "node/w2"}, verifyFailures: 3}
	useFakes(t, inj)
	cfg := envconf.New()
	ctx := WithCluster(context.Background(), kindCluster("gd"))

	before := time.Now().UTC()
	ctx = InjectFault("lose-workers", dnsDown)(ctx, t, cfg)
	_, injected, recovered, _ := inj.calls()
	assert.DeepEqual(t, injected, []string{"node/w1", "node/w2"})
	assert.Equal(t, len(recovered), 0)

	recs := FaultRecords(ctx)
	assert.Equal(t, len(recs), 2)
	s, _ := sessionFrom(ctx)
	for _, r := range recs {
		assert.Equal(t, r.Step, "lose-workers")
		assert.Equal(t, r.RunID, s.runID)
		assert.Equal(t, r.Cluster, "gd")
	}
	windows := FaultWindows(ctx)
	assert.Equal(t, len(windows), 1)
	assert.Equal(t, windows[0].Name, "lose-workers")
	assert.Assert(t, !windows[0].Start.Before(before))
	assert.Assert(t, windows[0].End.IsZero(), "the window is open until the fault is reverted")

	ctx = RevertFaults()(ctx, t, cfg)
	_, _, recovered, verified := inj.calls()
	assert.DeepEqual(t, recovered, []string{"node/w2", "node/w1"}) // newest first
	assert.DeepEqual(t, verified, []string{"node/w1", "node/w2"})  // after the verifier's failures
	windows = FaultWindows(ctx)
	assert.Assert(t, !windows[0].End.Before(windows[0].Start))

	// Idempotent: nothing is reverted or verified twice.
	RevertFaults()(ctx, t, cfg)
	_, _, recovered, verified = inj.calls()
	assert.Equal(t, len(recovered), 2)
	assert.Equal(t, len(verified), 2)
	assert.DeepEqual(t, FaultWindows(ctx)[0].End, windows[0].End)

	// Without a session RevertFaults has nothing to do.
	RevertFaults()(context.Background(), t, cfg)
}

func TestFaultInjectedByAFailedAssessmentIsStillReverted(t *testing.T) {
	inj := &fakeInjector{targets: []string{"node/w1"}}
	useFakes(t, inj)
	cfg := envconf.New()
	// Setup stored the session (StartProbes); the Assess that injects returns a
	// context e2e-framework drops when the assessment then fails.
	setupCtx, _ := ensureSession(WithCluster(context.Background(), kindCluster("gd")))
	_ = InjectFault("lose-worker", dnsDown)(setupCtx, t, cfg)
	RevertFaults()(setupCtx, t, cfg)
	_, _, recovered, _ := inj.calls()
	assert.DeepEqual(t, recovered, []string{"node/w1"})
}

func TestInjectFailureRevertsWhatWasInjected(t *testing.T) {
	inj := &fakeInjector{targets: []string{"node/w1", "node/w2", "node/w3"}, failInject: "node/w2"}
	useFakes(t, inj)
	ctx, s := ensureSession(WithCluster(context.Background(), kindCluster("gd")))
	err := s.inject(ctx, envconf.New(), "lose", dnsDown, t.Logf)
	assert.ErrorContains(t, err, "fake inject failure")
	_, injected, recovered, _ := inj.calls()
	// Injecting stops at the first failure; the half-done record is reverted too.
	assert.DeepEqual(t, injected, []string{"node/w1", "node/w2"})
	assert.DeepEqual(t, recovered, []string{"node/w2", "node/w1"})
	assert.Assert(t, !FaultWindows(ctx)[0].End.IsZero(), "the window is closed")
}

func TestInjectRejectsBadSteps(t *testing.T) {
	inj := &fakeInjector{targets: []string{"node/w1"}}
	useFakes(t, inj)
	cfg := envconf.New()
	ctx, s := ensureSession(WithCluster(context.Background(), kindCluster("gd")))

	assert.ErrorContains(t, s.inject(ctx, cfg, "", dnsDown, t.Logf), "needs a name")
	assert.ErrorContains(t, s.inject(ctx, cfg, "x", nil, t.Logf), "no fault spec")
	assert.NilError(t, s.inject(ctx, cfg, "x", dnsDown, t.Logf))
	assert.ErrorContains(t, s.inject(ctx, cfg, "x", dnsDown, t.Logf), `named "x" was already injected`)

	// A cluster the guard rails refuse is never planned against.
	refused := &clusters.Cluster{Name: "prod", Provider: "kubeconfig", Context: "prod", REST: kindCluster("x").REST}
	ctx2, s2 := ensureSession(context.WithValue(context.Background(), clusterKey{}, &binding{cluster: refused}))
	planned, _, _, _ := inj.calls()
	assert.ErrorContains(t, s2.inject(ctx2, cfg, "y", dnsDown, t.Logf), "refusing to act")
	after, _, _, _ := inj.calls()
	assert.Equal(t, after, planned)

	inj.targets = nil
	assert.ErrorContains(t, s.inject(ctx, cfg, "z", dnsDown, t.Logf), "the dnsOutage fault found no target")
}

func TestRevertFailureLeavesTheRecordOutstanding(t *testing.T) {
	inj := &fakeInjector{targets: []string{"node/w1"}, recoverFailures: 1}
	useFakes(t, inj)
	cfg := envconf.New()
	ctx, s := ensureSession(WithCluster(context.Background(), kindCluster("gd")))
	assert.NilError(t, s.inject(ctx, cfg, "lose", dnsDown, t.Logf))

	err := s.revert(ctx, t.Logf, "")
	assert.ErrorContains(t, err, "fake recover failure")
	assert.Assert(t, FaultWindows(ctx)[0].End.IsZero(), "still injected")
	assert.NilError(t, s.verify(ctx, t.Logf), "nothing reverted, nothing to verify")

	assert.NilError(t, s.revert(ctx, t.Logf, ""), "a second revert tries again")
	_, _, recovered, _ := inj.calls()
	assert.DeepEqual(t, recovered, []string{"node/w1"})
	assert.NilError(t, s.verify(ctx, t.Logf))
}

func TestVerifyGivesUpWithTheLastReason(t *testing.T) {
	inj := &fakeInjector{targets: []string{"node/w1"}, verifyFailures: 1 << 30}
	useFakes(t, inj)
	ctx, s := ensureSession(WithCluster(context.Background(), kindCluster("gd")))
	assert.NilError(t, s.inject(ctx, envconf.New(), "lose", dnsDown, t.Logf))
	assert.NilError(t, s.revert(ctx, t.Logf, ""))
	vctx, cancel := context.WithTimeout(ctx, 30*time.Millisecond)
	defer cancel()
	err := s.verify(vctx, t.Logf)
	assert.ErrorContains(t, err, "after reverting fake fault on node/w1: node/w1 not back yet")
}

func TestHoldFaultWaitsFromTheInjection(t *testing.T) {
	inj := &fakeInjector{targets: []string{"node/w1"}}
	useFakes(t, inj)
	cfg := envconf.New()
	ctx := InjectFault("lose", dnsDown)(WithCluster(context.Background(), kindCluster("gd")), t, cfg)
	start := FaultWindows(ctx)[0].Start
	HoldFault(30*time.Millisecond)(ctx, t, cfg)
	assert.Assert(t, time.Since(start) >= 30*time.Millisecond)

	// A hold already over returns at once.
	begin := time.Now()
	HoldFault(time.Millisecond)(ctx, t, cfg)
	assert.Assert(t, time.Since(begin) < 20*time.Millisecond)
	assert.Assert(t, !strings.Contains(FaultRecords(ctx)[0].ID, "//"))
}
