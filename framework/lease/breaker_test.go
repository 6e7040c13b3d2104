package lease

import (
	"context"
	"testing"

	"gotest.tools/v3/assert"
	"k8s.io/client-go/kubernetes/fake"
)

func TestBreakForRun(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	client := fake.NewClientset()
	l, err := Acquire(ctx, client, "ci@runner pid 42, run node-loss-20261122T010203Z, scenario node-loss")
	assert.NilError(t, err)
	defer l.Release(ctx)

	broke, err := BreakForRun(ctx, client, "node-loss-20261122T0102")
	assert.NilError(t, err)
	assert.Assert(t, !broke, "a run ID prefix must not match")
	broke, err = BreakForRun(ctx, client, "other-run")
	assert.NilError(t, err)
	assert.Assert(t, !broke)

	broke, err = BreakForRun(ctx, client, "node-loss-20261122T010203Z")
	assert.NilError(t, err)
	assert.Assert(t, broke)
	broke, err = BreakForRun(ctx, client, "node-loss-20261122T010203Z")
	assert.NilError(t, err)
	assert.Assert(t, !broke, "nothing left to break")
}
