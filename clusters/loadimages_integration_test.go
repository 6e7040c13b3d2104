package clusters_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/gameday-dev/gameday/clusters"
	"github.com/gameday-dev/gameday/fixtures"
	"github.com/gameday-dev/gameday/framework/probe"
)

// oneNodeConfig is the smallest kind cluster: the load check needs nodes, not workers.
const oneNodeConfig = `kind: Cluster
apiVersion: kind.x-k8s.io/v1alpha4
nodes:
  - role: control-plane
kubeadmConfigPatches:
  - |
    kind: KubeletConfiguration
    failCgroupV1: false
`

// TestIntegrationLoadImagesSkipsNodesThatHaveIt loads an image twice into a real
// kind node and checks that the second call copies nothing, then retags another
// image under the same name and checks that it is copied again: the check compares
// image IDs, not names.
func TestIntegrationLoadImagesSkipsNodesThatHaveIt(t *testing.T) {
	if testing.Short() {
		t.Skip("real cluster test; run without -short after `make testbed`")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	nodeImage := clusters.OfflineNodeImage(clusters.DefaultKubernetesVersion)
	requireImage(t, nodeImage)
	requireImage(t, probe.DefaultAgentImage)
	requireImage(t, fixtures.WorkloadImage)

	// A name of the test's own, so that retagging touches no image others use.
	const image = "gameday/load-test:dev"
	tag := func(source string) {
		t.Helper()
		out, err := exec.Command("docker", "tag", source, image).CombinedOutput()
		assert.NilError(t, err, "%s", out)
	}
	tag(probe.DefaultAgentImage)
	t.Cleanup(func() { _ = exec.Command("docker", "rmi", image).Run() })

	config := filepath.Join(t.TempDir(), "kind.yaml")
	assert.NilError(t, os.WriteFile(config, []byte(oneNodeConfig), 0o644))
	kind := &clusters.Kind{Name: "gd-load", Config: config, NodeImage: nodeImage, WaitForReady: 4 * time.Minute}
	if exists, _ := kind.Exists(); exists {
		assert.NilError(t, kind.Down(ctx)) // left by an earlier crashed run
	}
	_, err := kind.Up(ctx)
	assert.NilError(t, err)
	t.Cleanup(func() {
		if err := kind.Down(context.Background()); err != nil {
			t.Errorf("deleting cluster: %v", err)
		}
	})
	const node = "gd-load-control-plane"

	load := func(want string) clusters.ImageLoad {
		t.Helper()
		start := time.Now()
		got, err := kind.LoadImagesReport(ctx, image)
		assert.NilError(t, err)
		assert.Assert(t, is.Len(got, 1))
		t.Logf("%s: loaded into %v, present on %v, in %s", want, got[0].Loaded, got[0].Present, time.Since(start).Round(time.Millisecond))
		return got[0]
	}
	first := load("first load")
	assert.Check(t, is.DeepEqual(first.Loaded, []string{node}))
	assert.Check(t, is.Len(first.Present, 0))

	second := load("same image again")
	assert.Check(t, is.Len(second.Loaded, 0))
	assert.Check(t, is.DeepEqual(second.Present, []string{node}))

	tag(fixtures.WorkloadImage)
	third := load("another image under the same name")
	assert.Check(t, third.ID != first.ID)
	assert.Check(t, is.DeepEqual(third.Loaded, []string{node}))
}
