package clusters

import (
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strings"
)

//go:embed kind/*.yaml
var kindConfigs embed.FS

// KindConfigNames lists the named kind cluster configs shipped in clusters/kind
// (e.g. "1cp-2w"), sorted.
func KindConfigNames() []string {
	entries, _ := fs.ReadDir(kindConfigs, "kind")
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, strings.TrimSuffix(e.Name(), ".yaml"))
	}
	sort.Strings(names)
	return names
}

// KindConfig returns the raw kind config for a shipped config name, so a binary
// installed away from the repository still has them.
func KindConfig(name string) ([]byte, error) {
	raw, err := kindConfigs.ReadFile("kind/" + name + ".yaml")
	if err != nil {
		return nil, fmt.Errorf("no kind config named %q (known: %s)", name, strings.Join(KindConfigNames(), ", "))
	}
	return raw, nil
}
