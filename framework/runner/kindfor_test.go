package runner

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gotest.tools/v3/assert"

	"github.com/gameday-dev/gameday/clusters"
	"github.com/gameday-dev/gameday/framework/scenario"
)

// kindScenario is a valid scenario on a kind cluster; CONFIG is its kind config.
const kindScenario = `apiVersion: gameday.dev/v1alpha1
kind: Scenario
metadata:
  name: my-app
spec:
  cluster:
    kind: {name: gd-unit-never-created, config: CONFIG}
  slos:
    - name: api
      objective: 0.99
      probe:
        apiServer: {}
  steps:
    - name: steady
      steadyState: {duration: 10s}
`

// loadKindScenario writes kindScenario into a folder outside any repository and
// loads it.
func loadKindScenario(t *testing.T, config string) *scenario.Scenario {
	t.Helper()
	file := filepath.Join(t.TempDir(), "my-app.yaml")
	assert.NilError(t, os.WriteFile(file, []byte(strings.Replace(kindScenario, "CONFIG", config, 1)), 0o644))
	sc, err := scenario.LoadFile(file)
	assert.NilError(t, err)
	return sc
}

// TestKindForUsesTheValidatedConfig: a scenario kept outside the gameday repository
// that passes CheckPaths gets, for the run, a kind config that clusters.Kind can read.
func TestKindForUsesTheValidatedConfig(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ config, want string }{
		{config: "1cp-2w", want: "1cp-2w"},
		{config: "clusters/kind/3cp-2w.yaml", want: "3cp-2w"},
	} {
		sc := loadKindScenario(t, tt.config)
		assert.NilError(t, sc.CheckPaths())
		k := (&run{sc: sc}).kindFor()
		assert.Equal(t, k.Config, tt.want)
		raw, err := clusters.KindConfig(k.Config)
		assert.NilError(t, err)
		assert.Assert(t, strings.Contains(string(raw), "kind: Cluster"))
	}
}
