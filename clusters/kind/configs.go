// Package kind holds the kind cluster configs gameday ships (clusters/kind/*.yaml),
// embedded in the binary so that a scenario kept anywhere can name one ("1cp-2w"),
// and the one rule that tells a config name from a config file.
package kind

import (
	"embed"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"
)

//go:embed *.yaml
var files embed.FS

// DefaultName is the config used when none is given.
const DefaultName = "1cp-2w"

// Names lists the shipped config names (file names without ".yaml"), sorted.
func Names() []string {
	entries, _ := fs.ReadDir(files, ".")
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		if n, ok := strings.CutSuffix(e.Name(), ".yaml"); ok {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	return names
}

// IsName reports whether a config reference is a name rather than a file path: a
// name has neither a slash nor a dot ("1cp-2w"); "./my-kind.yaml" is a file.
func IsName(ref string) bool {
	return ref != "" && !strings.ContainsAny(ref, `/\.`)
}

// Known reports whether name is a shipped config.
func Known(name string) bool {
	return slices.Contains(Names(), name)
}

// Config returns the contents of a shipped config, or an error listing the names
// that exist.
func Config(name string) ([]byte, error) {
	if !IsName(name) || !Known(name) {
		return nil, UnknownNameError(name)
	}
	return files.ReadFile(name + ".yaml")
}

// UnknownNameError is the error for a config name that is not shipped; it lists the
// names that are.
func UnknownNameError(name string) error {
	return fmt.Errorf("no shipped kind config named %q (known: %s; a file of your own needs a path such as ./%s.yaml)",
		name, strings.Join(Names(), ", "), name)
}

// ShippedPath returns the shipped config name that the relative path
// "clusters/kind/NAME.yaml" of the gameday repository stands for, so that a scenario
// copied out of the repository keeps working; ok is false for any other path.
func ShippedPath(p string) (name string, ok bool) {
	p = path.Clean(strings.ReplaceAll(p, `\`, "/"))
	dir, file := path.Split(p)
	if dir != "clusters/kind/" {
		return "", false
	}
	name, ok = strings.CutSuffix(file, ".yaml")
	if !ok || !IsName(name) || !Known(name) {
		return "", false
	}
	return name, true
}
