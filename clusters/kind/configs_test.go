package kind

import (
	"os"
	"path/filepath"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

// TestEmbeddedConfigsMatchTheFiles checks that every clusters/kind/*.yaml is in the
// binary, byte for byte.
func TestEmbeddedConfigsMatchTheFiles(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("*.yaml")
	assert.NilError(t, err)
	assert.Assert(t, len(files) > 0)
	var names []string
	for _, f := range files {
		name := f[:len(f)-len(".yaml")]
		names = append(names, name)
		want, err := os.ReadFile(f)
		assert.NilError(t, err)
		got, err := Config(name)
		assert.NilError(t, err)
		assert.Check(t, is.Equal(string(got), string(want)), name)
	}
	assert.DeepEqual(t, Names(), names)
	assert.Check(t, Known(DefaultName))
}

func TestConfigReferences(t *testing.T) {
	t.Parallel()
	tests := []struct {
		ref     string
		isName  bool
		shipped string // ShippedPath's answer, "" for none
	}{
		{ref: "1cp-2w", isName: true},
		{ref: "9cp", isName: true},
		{ref: ""},
		{ref: "my-kind.yaml"},
		{ref: "./1cp-2w"},
		{ref: `dir\1cp-2w`},
		{ref: "clusters/kind/1cp-2w.yaml", shipped: "1cp-2w"},
		{ref: "./clusters/kind/3cp-2w.yaml", shipped: "3cp-2w"},
		{ref: "clusters/kind/9cp.yaml"},
		{ref: "clusters/kind/1cp-2w.yml"},
		{ref: "my/clusters/kind/1cp-2w.yaml"},
		{ref: "/abs/clusters/kind/1cp-2w.yaml"},
	}
	for _, tt := range tests {
		assert.Check(t, is.Equal(IsName(tt.ref), tt.isName), "IsName(%q)", tt.ref)
		name, ok := ShippedPath(tt.ref)
		assert.Check(t, is.Equal(name, tt.shipped), "ShippedPath(%q)", tt.ref)
		assert.Check(t, is.Equal(ok, tt.shipped != ""), "ShippedPath(%q)", tt.ref)
	}
	_, err := Config("9cp")
	assert.Error(t, err, `no shipped kind config named "9cp" (known: 1cp-1w, 1cp-2w, 3cp-2w; a file of your own needs a path such as ./9cp.yaml)`)
	_, err = Config("../kind/1cp-2w")
	assert.Check(t, err != nil)
}
