package scenario_test

import (
	"fmt"
	. "github.com/gameday-dev/gameday/framework/scenario"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

// TestResolveKindConfigOutsideTheRepository keeps the scenario in a folder with no
// go.mod or .git above it, as a user's own repository would be from gameday's point
// of view: what validates (CheckNames, CheckPaths) must be what ResolveKindConfig
// hands to the runner.
func TestResolveKindConfigOutsideTheRepository(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	_, inRepo := RepositoryRoot(dir)
	assert.Assert(t, !inRepo, "%s is inside a repository; the test needs a folder outside any", dir)
	own := filepath.Join(dir, "my-kind.yaml")
	assert.NilError(t, os.WriteFile(own, []byte("kind: Cluster\n"), 0o644))

	tests := []struct {
		name   string
		config string
		want   string // what the runner gets
		errs   string // "" when it validates
		names  bool   // CheckNames reports it too (it reads no file)
	}{
		{name: "none", config: "", want: ""},
		{name: "shipped name", config: "1cp-2w", want: "1cp-2w"},
		{name: "another shipped name", config: "3cp-2w", want: "3cp-2w"},
		{name: "repository path of a shipped config", config: "clusters/kind/1cp-1w.yaml", want: "1cp-1w"},
		{name: "own file next to the scenario", config: "my-kind.yaml", want: own},
		{name: "own file, ./", config: "./my-kind.yaml", want: own},
		{name: "own file, absolute", config: own, want: own},
		{name: "unknown name", config: "9cp-9w", names: true,
			errs: `spec.cluster.kind.config: no shipped kind config named "9cp-9w" (known: 1cp-1w, 1cp-2w, 3cp-2w;`},
		{name: "missing file", config: "nothing.yaml",
			errs: "spec.cluster.kind.config: nothing.yaml not found in " + dir + " (or name a shipped config: 1cp-1w, 1cp-2w, 3cp-2w)"},
		{name: "unknown config under clusters/kind", config: "clusters/kind/9cp.yaml",
			errs: "spec.cluster.kind.config: clusters/kind/9cp.yaml not found"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := minimalScenario
			if tt.config != "" {
				data = strings.Replace(data, "spec:\n", "spec:\n  cluster:\n    kind: {config: "+tt.config+"}\n", 1)
			}
			file := filepath.Join(dir, fmt.Sprintf("scenario-%d.yaml", i))
			assert.NilError(t, os.WriteFile(file, []byte(data), 0o644))
			s, err := LoadFile(file)
			assert.NilError(t, err, "case %d", i)

			got, resolveErr := s.ResolveKindConfig()
			checkErr := s.CheckPaths()
			if tt.errs == "" {
				assert.NilError(t, checkErr)
				assert.NilError(t, s.CheckNames())
				assert.NilError(t, resolveErr)
				assert.Equal(t, got, tt.want)
				return
			}
			assert.Assert(t, resolveErr != nil, "resolved to %q", got)
			lines := errorLines(t, checkErr)
			assert.Assert(t, is.Len(lines, 1))
			assert.Check(t, is.Contains(lines[0], file+":7: "+tt.errs))
			if tt.names {
				assert.Check(t, is.Contains(errorLines(t, s.CheckNames())[0], tt.errs))
			} else {
				assert.NilError(t, s.CheckNames())
			}
		})
	}
}
