package clusters

import (
	"os"
	"regexp"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

// TestMakefileBuildsTheDefaultNodeImage: `make demo` and `make node-image` build the
// node image of K8S_VERSION, which must be the one a run picks by default.
func TestMakefileBuildsTheDefaultNodeImage(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("../Makefile")
	assert.NilError(t, err)
	m := regexp.MustCompile(`(?m)^K8S_VERSION\s*\?=\s*(\S+)$`).FindSubmatch(data)
	assert.Assert(t, m != nil, "no K8S_VERSION ?= line in the Makefile")
	assert.Equal(t, string(m[1]), DefaultKubernetesVersion)
}

func TestBuildHint(t *testing.T) {
	t.Parallel()
	for image, want := range map[string]string{
		"gameday/gameday:dev":           "`make agent-image`",
		"docker.io/gameday/gameday:dev": "`make agent-image`",
		"gameday/workload:dev":          "`make images`",
		"gameday/node:v1.36.3":          "`make node-image K8S_VERSION=v1.36.3`",
		"gameday/probe:busybox":         "`make testbed`",
		"me/app:v1":                     "`docker pull me/app:v1`",
	} {
		assert.Check(t, is.Contains(BuildHint(image), want), image)
	}
}
