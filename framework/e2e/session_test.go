package gamedaye2e

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gotest.tools/v3/assert"
	"sigs.k8s.io/e2e-framework/pkg/envconf"
	"sigs.k8s.io/e2e-framework/support"

	"github.com/gameday-dev/gameday/clusters"
	"github.com/gameday-dev/gameday/framework/guard"
)

func TestEnsureSessionStoresOneSession(t *testing.T) {
	t.Parallel()
	base := context.Background()
	_, ok := sessionFrom(base)
	assert.Assert(t, !ok)
	_, ok = RecorderFrom(base)
	assert.Assert(t, !ok, "no recorder before a step stored a session")
	assert.Assert(t, FaultWindows(base) == nil)
	assert.Assert(t, FaultRecords(base) == nil)

	ctx, s := ensureSession(base)
	assert.Assert(t, s != nil)
	assert.Assert(t, strings.HasPrefix(s.runID, "e2e-"), s.runID)
	again, s2 := ensureSession(ctx)
	assert.Assert(t, s2 == s, "a second step must reuse the session")
	assert.Assert(t, again == ctx, "the context is unchanged when it has a session")
	rec, ok := RecorderFrom(ctx)
	assert.Assert(t, ok && rec != nil)

	// Another context from the same base gets its own session (parallel features).
	_, other := ensureSession(base)
	assert.Assert(t, other != s)
	assert.Assert(t, other.runID != s.runID)
}

func TestWithClusterAndClusterFrom(t *testing.T) {
	t.Parallel()
	_, ok := ClusterFrom(context.Background())
	assert.Assert(t, !ok)
	c := kindCluster("a")
	ctx := WithCluster(context.Background(), c)
	got, ok := ClusterFrom(ctx)
	assert.Assert(t, ok)
	assert.Assert(t, got == c)
	_, ok = ClusterFrom(WithCluster(context.Background(), nil))
	assert.Assert(t, !ok, "a nil cluster is no cluster")
}

func TestTargetGuardRails(t *testing.T) {
	useFakes(t, &fakeInjector{})
	existing := func(context string) *clusters.Cluster {
		return &clusters.Cluster{Name: context, Provider: "kubeconfig", Context: context, REST: kindCluster("x").REST}
	}
	tests := []struct {
		name    string
		ctx     context.Context
		wantErr string
	}{
		{name: "kind cluster", ctx: WithCluster(context.Background(), kindCluster("a"))},
		{name: "kind cluster stored by CreateKindCluster",
			ctx: context.WithValue(context.Background(), clusterKey{}, &binding{cluster: kindCluster("a")})},
		{name: "existing cluster named with WithCluster", ctx: WithCluster(context.Background(), existing("staging"))},
		{name: "existing cluster not allowed",
			ctx:     context.WithValue(context.Background(), clusterKey{}, &binding{cluster: existing("staging")}),
			wantErr: "gamedaye2e.WithCluster"},
		{name: "production-looking context", ctx: WithCluster(context.Background(), existing("eks-prod-eu")),
			wantErr: "looks like production"},
		{name: "production-looking context allowed",
			ctx: WithCluster(context.Background(), existing("eks-prod-eu"), guard.AllowProductionLooking())},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, client, err := target(tc.ctx, envconf.New())
			if tc.wantErr != "" {
				assert.ErrorContains(t, err, tc.wantErr)
				var refused *guard.RefusedError
				assert.Assert(t, errors.As(err, &refused), "the guard's error is wrapped: %v", err)
				return
			}
			assert.NilError(t, err)
			assert.Assert(t, c != nil && client != nil)
		})
	}
}

func TestTargetFallsBackToTheEnvironmentKubeconfig(t *testing.T) {
	useFakes(t, &fakeInjector{})
	path := filepath.Join(t.TempDir(), "kubeconfig")
	assert.NilError(t, os.WriteFile(path, []byte(`apiVersion: v1
kind: Config
clusters:
- name: c
  cluster: {server: "https://10.0.0.1:6443"}
users:
- name: u
  user: {token: t}
contexts:
- name: staging
  context: {cluster: c, user: u}
current-context: staging
`), 0o600))

	// A kubeconfig context that is neither kind's nor allowed is refused.
	_, _, err := target(context.Background(), envconf.NewWithKubeConfig(path))
	assert.ErrorContains(t, err, `refusing to act on context "staging"`)

	// Without any kubeconfig the error says how to name a cluster.
	_, _, err = target(context.Background(), envconf.NewWithKubeConfig(filepath.Join(t.TempDir(), "missing")))
	assert.ErrorContains(t, err, "no cluster in the context")
}

func TestDestroyKindClusterNeedsItsProvider(t *testing.T) {
	t.Parallel()
	_, err := DestroyKindCluster("gd-x")(context.Background(), envconf.New())
	assert.ErrorContains(t, err, `no gameday kind provider of that name`)

	// A provider in the context that did not create its cluster is not destroyed.
	p := NewProvider()
	p.WithName("gd-x")
	p.cluster = &clusters.Cluster{Name: "gd-x", Created: false}
	p.kind = &clusters.Kind{Name: "gd-x"}
	ctx := context.WithValue(context.Background(), support.ClusterNameContextKey("gd-x"), p)
	_, err = DestroyKindCluster("gd-x")(ctx, envconf.New())
	assert.NilError(t, err)
}
