package clusters

import (
	kindconfigs "github.com/gameday-dev/gameday/clusters/kind"
)

// KindConfigNames lists the named kind cluster configs shipped in clusters/kind
// (e.g. "1cp-2w"), sorted.
func KindConfigNames() []string { return kindconfigs.Names() }

// KindConfig returns the raw kind config for a shipped config name; the configs are
// embedded, so a binary installed away from the repository still has them.
func KindConfig(name string) ([]byte, error) { return kindconfigs.Config(name) }
