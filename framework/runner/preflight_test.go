package runner

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/gameday-dev/gameday/clusters"
	"github.com/gameday-dev/gameday/framework/scenario"
)

func TestCheckImages(t *testing.T) {
	t.Parallel()
	local := map[string]bool{"gameday/gameday:dev": true, "me/app:v1": true, "gameday/node:v1.35.4": true}
	lookup := func(_ context.Context, image string) (string, error) {
		switch {
		case image == "broken/engine":
			return "", errors.New("cannot connect to the Docker daemon")
		case local[image]:
			return "sha256:" + image, nil
		}
		return "", fmt.Errorf("%s: %w", image, clusters.ErrImageNotLocal)
	}
	tests := []struct {
		name      string
		load      []string
		nodeImage string
		want      []string // substrings of the error; nil: no error
	}{
		{name: "all there", load: []string{"gameday/gameday:dev", "me/app:v1"}, nodeImage: "gameday/node:v1.35.4"},
		{name: "agent missing", load: []string{"gameday/gameday:dev2"}, want: []string{
			"before creating anything: probe agent image gameday/gameday:dev2 is not in the local image store",
		}},
		{name: "fixture image missing", load: []string{"gameday/gameday:dev", "me/app:v2"}, want: []string{
			"fixture image me/app:v2 is not in the local image store: pull it (`docker pull me/app:v2`) or build it",
		}},
		{name: "offline node image missing", load: []string{"gameday/gameday:dev"}, nodeImage: "gameday/node:v1.36.3", want: []string{
			"node image gameday/node:v1.36.3 is not in the local image store: build it with `make node-image K8S_VERSION=v1.36.3`",
		}},
		{name: "public node image: kind pulls it", load: []string{"gameday/gameday:dev"}, nodeImage: "kindest/node:v1.35.0"},
		{name: "engine unreachable", load: []string{"broken/engine"}, want: []string{
			"probe agent image broken/engine: cannot connect to the Docker daemon",
		}},
		{name: "every problem at once", load: []string{"gameday/workload:dev", "other/x"}, nodeImage: "gameday/node:v9", want: []string{
			"probe agent image gameday/workload:dev is not in the local image store: build it with `make images`",
			"; fixture image other/x is not",
			"; node image gameday/node:v9 is not",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkImages(context.Background(), lookup, tt.load, tt.nodeImage)
			if tt.want == nil {
				assert.NilError(t, err)
				return
			}
			assert.Assert(t, err != nil)
			for _, w := range tt.want {
				assert.Check(t, is.Contains(err.Error(), w))
			}
		})
	}
	// The agent image the runner uses by default has the make target that builds it.
	err := checkImages(context.Background(), lookup, []string{"gameday/gameday:dev3"}, "")
	assert.Check(t, is.Contains(err.Error(), "gameday/gameday:dev3"))
	assert.Check(t, is.Contains(clusters.BuildHint("gameday/gameday:dev"), "make agent-image"))
}

// TestRunChecksImagesBeforeTheCluster runs a kind scenario whose agent image does not
// exist locally. Its kind config is not a valid kind config, so were the cluster
// created before the image check, kind's error would come back instead, and no
// cluster would come up either way.
func TestRunChecksImagesBeforeTheCluster(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := filepath.Join(dir, "my-app.yaml")
	data := strings.Replace(kindScenario, "CONFIG", "./not-kind.yaml", 1) + "  fixtures:\n    - path: app.yaml\n"
	for name, content := range map[string]string{
		"my-app.yaml":   data,
		"not-kind.yaml": "kind: NotACluster\n",
		"app.yaml": `apiVersion: apps/v1
kind: Deployment
metadata: {name: app, namespace: default}
spec:
  selector: {matchLabels: {app: app}}
  template:
    metadata: {labels: {app: app}}
    spec:
      containers:
        - {name: app, image: "me/not-built:never"}
`,
	} {
		assert.NilError(t, os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644))
	}
	sc, err := scenario.LoadFile(file)
	assert.NilError(t, err)
	const image = "gameday/gameday:never-built-by-anyone"
	_, err = Run(context.Background(), sc, Options{AgentImage: image, RunsDir: t.TempDir()})
	assert.Assert(t, err != nil)
	assert.Check(t, is.Contains(err.Error(), "before creating anything: probe agent image "+image))
	assert.Check(t, is.Contains(err.Error(), "fixture image me/not-built:never"))
	assert.Check(t, !strings.Contains(err.Error(), "kind"), err.Error())
	if exists, err := (&clusters.Kind{Name: "gd-unit-never-created"}).Exists(); err == nil {
		assert.Check(t, !exists)
	}
}
