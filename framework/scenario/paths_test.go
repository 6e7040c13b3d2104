package scenario_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	. "github.com/gameday-dev/gameday/framework/scenario"

	"gotest.tools/v3/assert"
)

func TestResolvePathAndCheckPaths(t *testing.T) {
	t.Parallel()
	// A repository with a go.mod at its root and the scenario one level down.
	repo := t.TempDir()
	for _, dir := range []string{"scenarios", "clusters/kind", "fixtures/workload", "scenarios/local"} {
		assert.NilError(t, os.MkdirAll(filepath.Join(repo, dir), 0o755))
	}
	for _, file := range []string{"go.mod", "clusters/kind/1cp-2w.yaml", "scenarios/local/extra.yaml"} {
		assert.NilError(t, os.WriteFile(filepath.Join(repo, file), nil, 0o644))
	}
	data := strings.Replace(minimalScenario, "spec:\n", `spec:
  cluster:
    kind: {config: clusters/kind/1cp-2w.yaml}
  fixtures:
    - path: fixtures/workload
    - path: local/extra.yaml
    - path: fixtures/missing
`, 1)
	file := filepath.Join(repo, "scenarios", "paths.yaml")
	assert.NilError(t, os.WriteFile(file, []byte(data), 0o644))

	s, err := LoadFile(file)
	assert.NilError(t, err)

	got, err := s.ResolvePath("clusters/kind/1cp-2w.yaml")
	assert.NilError(t, err)
	assert.Equal(t, got, filepath.Join(repo, "clusters/kind/1cp-2w.yaml")) // from the repository root
	got, err = s.ResolvePath("local/extra.yaml")
	assert.NilError(t, err)
	assert.Equal(t, got, filepath.Join(repo, "scenarios/local/extra.yaml")) // next to the scenario

	assert.DeepEqual(t, errorLines(t, s.CheckPaths()), []string{
		file + ":11: spec.fixtures[2].path: fixtures/missing not found in " +
			filepath.Join(repo, "scenarios") + " or " + repo,
	})
}

func TestResolvePathInCode(t *testing.T) {
	t.Parallel()
	s := &Scenario{}
	got, err := s.ResolvePath("testdata/valid-full.yaml") // from the working directory
	assert.NilError(t, err)
	assert.Equal(t, got, "testdata/valid-full.yaml")

	_, err = s.ResolvePath("")
	assert.Error(t, err, "empty path")

	abs, err := filepath.Abs("testdata")
	assert.NilError(t, err)
	got, err = s.ResolvePath(abs)
	assert.NilError(t, err)
	assert.Equal(t, got, abs)

	home, err := os.UserHomeDir()
	if err == nil {
		_, err = s.ResolvePath("~/")
		assert.NilError(t, err, "home %s", home)
	}
}
