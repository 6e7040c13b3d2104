package scenario_test

import (
	"bytes"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gameday-dev/gameday/framework/fault/dnsoutage"
	"github.com/gameday-dev/gameday/framework/fault/nodeloss"
	. "github.com/gameday-dev/gameday/framework/scenario"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

// minimalScenario is a valid scenario that edge-case inputs are built on.
const minimalScenario = `apiVersion: gameday.dev/v1alpha1
kind: Scenario
metadata:
  name: edge
spec:
  slos:
    - name: api
      objective: 0.99
      probe:
        apiServer: {}
  steps:
    - name: steady
      steadyState: {duration: 10s}
`

func TestLoadEdgeCases(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		data string
		want []string // nil: loads without error
	}{
		{name: "minimal", data: minimalScenario},
		{name: "leading document marker", data: "---\n" + minimalScenario},
		{name: "trailing empty document", data: minimalScenario + "---\n# nothing here\n"},
		{name: "empty", data: "", want: []string{
			"x.yaml: file is empty; want a scenario (apiVersion: gameday.dev/v1alpha1, kind: Scenario)",
		}},
		{name: "whitespace and document markers only", data: "\n  \n---\n...\n", want: []string{
			"x.yaml: file is empty; want a scenario (apiVersion: gameday.dev/v1alpha1, kind: Scenario)",
		}},
		{name: "null document", data: "~\n", want: []string{
			"x.yaml: file is empty; want a scenario (apiVersion: gameday.dev/v1alpha1, kind: Scenario)",
		}},
		{name: "scalar document", data: "hello\n", want: []string{
			`x.yaml:1: the document must be a mapping with apiVersion, kind, metadata and spec, got "hello"`,
		}},
		{name: "second document", data: minimalScenario + "---\nkind: Scenario\n", want: []string{
			"x.yaml:15: a second YAML document starts here; a scenario file holds exactly one",
		}},
		{name: "syntax error in a second document", data: minimalScenario + "---\na: [\n", want: []string{
			"x.yaml:15: invalid YAML: did not find expected node content",
		}},
		{name: "syntax error on line 1", data: "apiVersion: a: b\n", want: []string{
			"x.yaml:1: invalid YAML: mapping values are not allowed in this context",
		}},
		{name: "syntax error on a later line", data: "apiVersion: x\nkind: Scenario\nmetadata:\n  name: a: b\n", want: []string{
			"x.yaml:4: invalid YAML: mapping values are not allowed in this context",
		}},
		{name: "bad indentation", data: "metadata:\n  - a\n  b: 1\n", want: []string{
			"x.yaml:3: invalid YAML: did not find expected '-' indicator",
		}},
		{name: "tab indentation", data: "metadata:\n\tname: x\n", want: []string{
			"x.yaml:2: invalid YAML: found character that cannot start any token",
		}},
		{name: "unterminated quote", data: "apiVersion: x\nkind: \"Scenario\n", want: []string{
			"x.yaml:2: invalid YAML: found unexpected end of stream",
		}},
		{name: "unknown anchor", data: "apiVersion: x\nkind: y\nspec: *nope\n", want: []string{
			"x.yaml:3: invalid YAML: unknown anchor 'nope' referenced",
		}},
		{name: "invalid UTF-8", data: "apiVersion: x\nkind: y\nmetadata: {name: \xff}\n", want: []string{
			"x.yaml:3: invalid YAML: invalid leading UTF-8 octet",
		}},
		{name: "apiVersion not a string", data: "apiVersion: [gameday.dev/v1alpha1]\nkind: {}\n", want: []string{
			"x.yaml:1: apiVersion: unsupported apiVersion a list; supported: gameday.dev/v1alpha1",
			"x.yaml:2: kind: unsupported kind a mapping; want Scenario",
		}},
		{name: "apiVersion through an alias", data: "x: &v gameday.dev/v1alpha1\napiVersion: *v\nkind: Scenario\n", want: []string{
			`x.yaml:1: x: unknown field; known fields here: apiVersion, kind, metadata, spec`,
			"x.yaml:1: metadata.name: required",
			"x.yaml:1: spec.slos: at least one SLO is required: a game day measures something",
			"x.yaml:1: spec.steps: at least one step is required",
		}},
		{name: "non-string keys", data: strings.Replace(minimalScenario, "  name: edge\n", "  name: edge\n  ? [a, b]\n  : c\n  ~: d\n", 1), want: []string{
			"x.yaml:5: metadata: field names must be plain strings, got a list",
			"x.yaml:7: metadata: field names must be plain strings, got null",
		}},
		{name: "custom and binary tags", data: strings.Replace(minimalScenario, "name: edge", "name: !shout edge\n  description: !!binary aGk=", 1), want: []string{
			"x.yaml:4: metadata.name: must be a plain string, not a !shout value",
			"x.yaml:5: metadata.description: must be a plain string, not a !!binary value",
		}},
		{name: "numbers", data: strings.Replace(minimalScenario, "objective: 0.99", "objective: .nan", 1), want: []string{
			"x.yaml:8: spec.slos[0].objective: must be greater than 0 and less than 1 (e.g. 0.99), got NaN",
		}},
		{name: "integer overflow", data: strings.Replace(minimalScenario, "steadyState: {duration: 10s}",
			"duration: 1m\n      fault: {nodeLoss: {target: {role: worker, count: 99999999999999999999999}}}", 1), want: []string{
			`x.yaml:14: spec.steps[0].fault.nodeLoss.target.count: must be an integer, got "99999999999999999999999"`,
		}},
		{name: "duration overflow", data: strings.Replace(minimalScenario, "{duration: 10s}", "{duration: 9999999999h}", 1), want: []string{
			`x.yaml:13: spec.steps[0].steadyState.duration: must be a duration such as "250ms", "10s" or "5m", got "9999999999h"`,
		}},
		{name: "planned duration saturates", data: strings.Replace(minimalScenario, "    - name: steady\n      steadyState: {duration: 10s}\n",
			"    - name: a\n      steadyState: {duration: 2562047h}\n    - name: b\n      steadyState: {duration: 2562047h}\n", 1), want: []string{
			"x.yaml:5: spec.abort.timeout: 1h0m0s is shorter than the steps take (2562047h47m16.854775807s), so every run would abort",
		}},
		{name: "null values leave fields unset", data: minimalScenario + "  scoring:\n    healthyWindow: ~\n  fixtures: ~\n"},
		{name: "null section selects its defaults", data: strings.Replace(minimalScenario, "apiServer: {}", "apiServer:", 1) + "  cluster:\n    kind:\n"},
		{name: "alias cycle through a list", data: minimalScenario + "  fixtures: &f [*f]\n", want: []string{
			"x.yaml:14: spec.fixtures[0]: must be a mapping, got a list",
		}},
		{name: "merge key cycle", data: strings.Replace(minimalScenario, "metadata:\n", "metadata: &m\n  <<: *m\n", 1), want: []string{
			"x.yaml:4: metadata: merge key (<<) refers to a mapping that contains it",
		}},
		{name: "merge of a scalar", data: strings.Replace(minimalScenario, "metadata:\n", "metadata:\n  <<: 5\n", 1), want: []string{
			`x.yaml:4: metadata: the value of a merge key (<<) must be a mapping or a list of mappings, got "5"`,
		}},
		{name: "merge of a list of mappings", data: strings.Replace(minimalScenario, "metadata:\n  name: edge\n",
			"x: &a {name: a, description: from a}\ny: &b {name: b}\nmetadata:\n  <<: [*b, *a]\n", 1), want: []string{
			"x.yaml:3: x: unknown field; known fields here: apiVersion, kind, metadata, spec",
			"x.yaml:4: y: unknown field; known fields here: apiVersion, kind, metadata, spec",
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, err := Load("x.yaml", []byte(tc.data))
			if tc.want == nil {
				assert.NilError(t, err)
				assert.Assert(t, s != nil)
				return
			}
			assert.Assert(t, is.Nil(s))
			assert.DeepEqual(t, errorLines(t, err), tc.want)
		})
	}
}

func TestLoadMergeKeyPrecedence(t *testing.T) {
	t.Parallel()
	data := strings.Replace(minimalScenario, "metadata:\n  name: edge\n",
		"metadata:\n  <<: [{name: first, description: first}, {name: second, description: second}]\n  name: own\n", 1)
	s, err := Load("x.yaml", []byte(data))
	assert.NilError(t, err)
	assert.DeepEqual(t, s.Metadata, Metadata{Name: "own", Description: "first"})
}

func TestLoadNullSectionSelectsDefaults(t *testing.T) {
	t.Parallel()
	data := strings.Replace(minimalScenario, "apiServer: {}", "apiServer:", 1) + "  cluster:\n    kind:\n"
	s, err := Load("x.yaml", []byte(data))
	assert.NilError(t, err)
	assert.DeepEqual(t, s.Spec.SLOs[0].Probe, Probe{APIServer: &APIServerProbe{Path: "/readyz"}})
	assert.DeepEqual(t, s.Spec.Cluster, Cluster{Kind: &KindCluster{Name: "gameday", Reuse: new(true), Keep: new(true)}})
}

func TestLoadRejectsHugeFiles(t *testing.T) {
	t.Parallel()
	data := []byte(minimalScenario + "# " + strings.Repeat("x", MaxFileSize) + "\n")
	_, err := Load("big.yaml", data)
	assert.DeepEqual(t, errorLines(t, err), []string{
		"big.yaml: file is larger than 1048576 bytes (1 MiB), the limit for scenario files",
	})
}

func TestLoadStopsAliasBombs(t *testing.T) {
	t.Parallel()
	// Each alias expands to a valid SLO, so type checks alone would not stop this one:
	// 20000 aliases of a 13-node mapping are far more nodes than the budget allows.
	bomb := strings.Replace(minimalScenario, "  slos:\n    - name: api\n", "  slos:\n    - &slo\n      name: api\n", 1)
	bomb = strings.Replace(bomb, "  steps:\n", strings.Repeat("    - *slo\n", 20_000)+"  steps:\n", 1)

	start := time.Now()
	_, err := Load("bomb.yaml", []byte(bomb))
	lines := errorLines(t, err)
	assert.Equal(t, len(lines), 1, "%q", lines)
	assert.Assert(t, is.Contains(lines[0], "document too large: more than 100000 values after expanding aliases"))
	assert.Assert(t, time.Since(start) < 5*time.Second)
}

func TestLoadStopsMergeKeyBombs(t *testing.T) {
	t.Parallel()
	// The classic "billion laughs" built from merge keys, which are not type-checked on
	// the way down: nine levels of nine merges each, used as one fixture.
	var b strings.Builder
	b.WriteString("x0: &m0 {path: fixtures/workload}\n")
	for i := 1; i <= 9; i++ {
		fmt.Fprintf(&b, "x%d: &m%d {<<: [", i, i)
		for j := range 9 {
			if j > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "*m%d", i-1)
		}
		b.WriteString("]}\n")
	}
	b.WriteString(minimalScenario)
	b.WriteString("  fixtures: [*m9]\n")

	start := time.Now()
	_, err := Load("laughs.yaml", []byte(b.String()))
	lines := errorLines(t, err)
	assert.Assert(t, time.Since(start) < 5*time.Second)
	assert.Assert(t, is.Contains(lines, "laughs.yaml:1: spec.fixtures[0]: document too large: more than 100000 values after expanding aliases"))
}

func TestLoadStopsWideMerges(t *testing.T) {
	t.Parallel()
	// A mapping of 20000 keys merged 2000 times: few nodes to decode, many to merge.
	var keys strings.Builder
	for i := range 20_000 {
		fmt.Fprintf(&keys, "k%d: 1, ", i)
	}
	data := "x: &m {" + keys.String() + "name: a}\n" + minimalScenario +
		"  fixtures: [{<<: [" + strings.Repeat("*m, ", 2000) + "*m]}]\n"

	start := time.Now()
	_, err := Load("wide.yaml", []byte(data))
	assert.Assert(t, is.Contains(errorLines(t, err), "wide.yaml:1: spec.fixtures[0]: document too large: more than 100000 values after expanding aliases"))
	assert.Assert(t, time.Since(start) < 10*time.Second)
}

func TestLoadFindsLateSyntaxErrors(t *testing.T) {
	t.Parallel()
	data := minimalScenario + "  fixtures:\n" + strings.Repeat("    - path: a\n", 5_000) + "    - path: a: b\n"
	_, err := Load("late.yaml", []byte(data))
	assert.DeepEqual(t, errorLines(t, err), []string{
		"late.yaml:5015: invalid YAML: mapping values are not allowed in this context",
	})
}

func TestLoadCapsReportedErrors(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	b.WriteString(minimalScenario)
	b.WriteString("  fixtures:\n")
	for range 300 {
		b.WriteString("    - {}\n")
	}
	_, err := Load("many.yaml", b.Bytes())
	lines := errorLines(t, err)
	assert.Equal(t, len(lines), MaxReportedErrors+1)
	assert.Equal(t, lines[0], "many.yaml:15: spec.fixtures[0].path: required: a manifest file or kustomize directory")
	assert.Equal(t, lines[MaxReportedErrors], "many.yaml: too many problems: 200 more not shown")
}

// TestEveryFieldIsDecodable walks the scenario types, so that a field of a type the
// decoder does not handle fails here rather than in a user's scenario.
func TestEveryFieldIsDecodable(t *testing.T) {
	t.Parallel()
	seen := map[reflect.Type]bool{}
	var walk func(path string, typ reflect.Type)
	walk = func(path string, typ reflect.Type) {
		switch {
		case typ == DurationType:
		case typ == FaultSpecType:
			for _, kind := range KnownFaultKinds() {
				walk(path+"."+kind, FaultKindTypes()[kind])
			}
		case typ.Kind() == reflect.Pointer:
			assert.Assert(t, typ.Elem().Kind() == reflect.Struct || typ.Elem().Kind() == reflect.Bool, "%s: %s", path, typ)
			walk(path, typ.Elem())
		case typ.Kind() == reflect.Slice:
			walk(path+"[]", typ.Elem())
		case typ.Kind() == reflect.Struct:
			if seen[typ] {
				return
			}
			seen[typ] = true
			for name, i := range FieldIndex(typ) {
				walk(path+"."+name, typ.Field(i).Type)
			}
		default:
			assert.Assert(t, slices.Contains([]reflect.Kind{reflect.String, reflect.Bool, reflect.Int, reflect.Float64}, typ.Kind()),
				"%s: the decoder cannot decode %s", path, typ)
		}
	}
	walk("", reflect.TypeFor[Scenario]())
	assert.Assert(t, seen[reflect.TypeFor[nodeloss.Spec]()] && seen[reflect.TypeFor[dnsoutage.Spec]()])
}
