package cli

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/gameday-dev/gameday/reports"
)

// userScenario is a scenario as a user keeps it in their own repository: no fixtures
// of gameday's, a shipped kind config by name.
const userScenario = `apiVersion: gameday.dev/v1alpha1
kind: Scenario
metadata:
  name: my-app
spec:
  cluster:
    kind: {name: mine, config: CONFIG}
  slos:
    - name: api
      objective: 0.99
      probe:
        apiServer: {}
  steps:
    - name: steady
      steadyState: {duration: 10s}
`

// writeUserScenario writes userScenario with a kind config into a fresh folder
// outside any repository and returns its path.
func writeUserScenario(t *testing.T, config string) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), "my-app.yaml")
	assert.NilError(t, os.WriteFile(file, []byte(strings.Replace(userScenario, "CONFIG", config, 1)), 0o644))
	return file
}

func TestValidateShippedKindConfigOutsideTheRepository(t *testing.T) {
	t.Parallel()
	for _, config := range []string{"1cp-2w", "clusters/kind/3cp-2w.yaml"} {
		file := writeUserScenario(t, config)
		for _, args := range [][]string{{"validate", file}, {"validate", "--check-paths", file}} {
			code, stdout, stderr := runCLI(t, args...)
			assert.Equal(t, code, ExitOK, "%s: %s", config, stderr)
			assert.Check(t, is.Equal(stdout, "ok "+file+" (1 step, 1 SLO, planned duration 10s)\n"))
		}
	}
}

func TestValidateUnknownKindConfigName(t *testing.T) {
	t.Parallel()
	file := writeUserScenario(t, "2cp-9w")
	// A name needs no file to be checked: validate reports it without --check-paths.
	for _, args := range [][]string{{"validate", file}, {"validate", "--check-paths", file}} {
		code, stdout, stderr := runCLI(t, args...)
		assert.Equal(t, code, ExitInvalidInput, stdout)
		assert.Check(t, is.Contains(stderr, file+`:7: spec.cluster.kind.config: no shipped kind config named "2cp-9w" (known: 1cp-1w, 1cp-2w, 3cp-2w;`))
	}
}

func TestValidateSameFileTwice(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "my-app.yaml")
	assert.NilError(t, os.WriteFile(file, []byte(strings.Replace(userScenario, "CONFIG", "1cp-2w", 1)), 0o644))
	link := filepath.Join(dir, "link.yaml")
	assert.NilError(t, os.Symlink(file, link))
	t.Chdir(dir)
	for _, args := range [][]string{
		{"my-app.yaml", "my-app.yaml"},
		{"./my-app.yaml", "my-app.yaml"},
		{"my-app.yaml", file},
		{"my-app.yaml", "link.yaml"},
	} {
		code, stdout, stderr := runCLI(t, append([]string{"validate"}, args...)...)
		assert.Equal(t, code, ExitOK, "%v: %s", args, stderr)
		assert.Check(t, is.Equal(stdout, "ok "+args[0]+" (1 step, 1 SLO, planned duration 10s)\n"), "%v", args)
	}
	// Two files with the same scenario name still conflict.
	other := filepath.Join(dir, "copy.yaml")
	assert.NilError(t, os.WriteFile(other, []byte(strings.Replace(userScenario, "CONFIG", "1cp-2w", 1)), 0o644))
	code, _, stderr := runCLI(t, "validate", "my-app.yaml", "copy.yaml")
	assert.Equal(t, code, ExitInvalidInput)
	assert.Check(t, is.Contains(stderr, `copy.yaml:4: metadata.name: scenario name "my-app" is also used by my-app.yaml:4`))
}

func TestReportAcceptsFolderOrReportJSON(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile(filepath.Join(reportsTestdata, "failed.json"))
	assert.NilError(t, err)
	for _, viaFile := range []bool{false, true} {
		dir := t.TempDir()
		assert.NilError(t, os.WriteFile(filepath.Join(dir, reports.JSONFile), data, 0o644))
		arg := dir
		if viaFile {
			arg = filepath.Join(dir, reports.JSONFile)
		}
		code, stdout, stderr := runCLI(t, "report", arg)
		assert.Equal(t, code, ExitOK, stderr)
		for _, f := range []string{reports.MarkdownFile, reports.HTMLFile, reports.JUnitFile} {
			assert.Check(t, is.Contains(stdout, filepath.Join(dir, f)+"\n"))
			_, err := os.Stat(filepath.Join(dir, f))
			assert.Check(t, err)
		}
	}
	// Another file is refused, and nothing is written next to it.
	dir := t.TempDir()
	other := filepath.Join(dir, "failed.json")
	assert.NilError(t, os.WriteFile(other, data, 0o644))
	code, _, stderr := runCLI(t, "report", other)
	assert.Equal(t, code, ExitInvalidInput)
	assert.Check(t, is.Contains(stderr, other+" is a file, not a run folder or its report.json"))
	_, err = os.Stat(filepath.Join(dir, reports.MarkdownFile))
	assert.Check(t, os.IsNotExist(err))
}

// TestRunMissingAgentImageExitsThree: a kind run whose agent image is not built stops
// with exit code 3 and says which image and how to build it, before anything exists.
func TestRunMissingAgentImageExitsThree(t *testing.T) {
	t.Parallel()
	file := writeUserScenario(t, "./not-kind.yaml")
	// Not a kind config: had the run got as far as creating the cluster, kind would
	// have failed with another message.
	assert.NilError(t, os.WriteFile(filepath.Join(filepath.Dir(file), "not-kind.yaml"), []byte("kind: NotACluster\n"), 0o644))
	code, stdout, stderr := runCLI(t, "run", "--progress", "plain", "--runs-dir", t.TempDir(),
		"--agent-image", "gameday/gameday:never-built", file)
	assert.Equal(t, code, ExitInfrastructure, stdout+stderr)
	assert.Check(t, is.Contains(stdout+stderr, "before creating anything: probe agent image gameday/gameday:never-built"))
}

// TestClusterLoadChecksFirst: cluster load reports every missing image and a missing
// cluster at once, with exit code 2, and copies nothing.
func TestClusterLoadChecksFirst(t *testing.T) {
	t.Parallel()
	if err := exec.Command("docker", "version").Run(); err != nil {
		t.Skipf("needs a Docker engine to ask for images: %v", err)
	}
	code, stdout, stderr := runCLI(t, "cluster", "load", "--name", "gd-no-such-cluster", "gameday/gameday:never-built", "me/app:never")
	assert.Equal(t, code, ExitInvalidInput, stdout)
	assert.Check(t, is.Equal(stdout, ""))
	for _, want := range []string{
		"gameday/gameday:never-built: image not in the local image store",
		"me/app:never: image not in the local image store: pull it (`docker pull me/app:never`) or build it",
		`no kind cluster named "gd-no-such-cluster" (create it with ` + "`gameday cluster up --name gd-no-such-cluster`)",
	} {
		assert.Check(t, is.Contains(stderr, want))
	}
	code, _, stderr = runCLI(t, "cluster", "load")
	assert.Equal(t, code, ExitInvalidInput)
	assert.Check(t, is.Contains(stderr, "requires at least 1 arg"))
}
