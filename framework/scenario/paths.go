package scenario

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	kindconfigs "github.com/gameday-dev/gameday/clusters/kind"
)

// ResolvePath returns the file or directory a path written in the scenario refers to.
// "~/" is the home directory; a relative path is looked up next to the scenario file,
// then from the root of the repository holding it (the nearest parent directory with a
// go.mod or .git), and for a scenario built in code, from the working directory.
func (s *Scenario) ResolvePath(p string) (string, error) {
	if p == "" {
		return "", fmt.Errorf("empty path")
	}
	if rest, ok := strings.CutPrefix(p, "~/"); ok {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("cannot expand ~: %w", err)
		}
		p = filepath.Join(home, rest)
	}
	if filepath.IsAbs(p) {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("%s does not exist", p)
		}
		return p, nil
	}
	var bases []string
	if s.File == "" {
		bases = append(bases, ".")
	} else {
		dir := filepath.Dir(s.File)
		bases = append(bases, dir)
		if root, ok := repositoryRoot(dir); ok && root != dir {
			bases = append(bases, root)
		}
	}
	for _, base := range bases {
		candidate := filepath.Join(base, p)
		if _, err := os.Stat(candidate); err == nil {
			return candidate, nil
		}
	}
	return "", fmt.Errorf("%s not found in %s", p, strings.Join(bases, " or "))
}

// ResolveKindConfig returns what spec.cluster.kind.config refers to, in the form
// clusters.Kind.Config takes: "" when the scenario names none (the default config), a
// shipped config name such as "1cp-2w" (embedded in the binary, so it resolves from
// anywhere), or the absolute path of a kind config file found by ResolvePath. The
// repository path of a shipped config, "clusters/kind/NAME.yaml", stands for the
// shipped config when no such file is found, so that scenarios copied out of the
// gameday repository keep working. Validation (CheckPaths, CheckNames) and the
// runner both call it, so what validates is what runs.
func (s *Scenario) ResolveKindConfig() (string, error) {
	k := s.Spec.Cluster.Kind
	if k == nil || k.Config == "" {
		return "", nil
	}
	ref := k.Config
	if kindconfigs.IsName(ref) {
		if !kindconfigs.Known(ref) {
			return "", kindconfigs.UnknownNameError(ref)
		}
		return ref, nil
	}
	p, err := s.ResolvePath(ref)
	if err != nil {
		if name, ok := kindconfigs.ShippedPath(ref); ok {
			return name, nil
		}
		return "", fmt.Errorf("%w (or name a shipped config: %s)", err, strings.Join(kindconfigs.Names(), ", "))
	}
	if abs, err := filepath.Abs(p); err == nil {
		p = abs
	}
	return p, nil
}

// CheckNames reports, as an Errors value, names in the scenario that must refer to
// something shipped with gameday and do not (today: a kind config name that is not
// shipped). It reads no file, so `gameday validate` runs it even without
// --check-paths.
func (s *Scenario) CheckNames() error {
	v := &validator{s: s}
	if k := s.Spec.Cluster.Kind; k != nil && kindconfigs.IsName(k.Config) && !kindconfigs.Known(k.Config) {
		v.errorf("spec.cluster.kind.config", "%v", kindconfigs.UnknownNameError(k.Config))
	}
	for i := range v.errs {
		v.errs[i].File = s.File
	}
	return v.errs.orNil()
}

// CheckPaths reports, as an Errors value, every file or directory the scenario names
// (cluster config, kubeconfig, fixtures) that ResolvePath cannot find, and a kind
// config that ResolveKindConfig cannot resolve. Load does not call it, so that
// scenarios can be validated away from the files they use.
func (s *Scenario) CheckPaths() error {
	v := &validator{s: s}
	check := func(path, p string) {
		if p == "" {
			return
		}
		if _, err := s.ResolvePath(p); err != nil {
			v.errorf(path, "%v", err)
		}
	}
	if _, err := s.ResolveKindConfig(); err != nil {
		v.errorf("spec.cluster.kind.config", "%v", err)
	}
	if k := s.Spec.Cluster.Kubeconfig; k != nil {
		check("spec.cluster.kubeconfig.path", k.Path)
	}
	for i, f := range s.Spec.Fixtures {
		check(fmt.Sprintf("spec.fixtures[%d].path", i), f.Path)
	}
	for i := range v.errs {
		v.errs[i].File = s.File
	}
	return v.errs.orNil()
}

// repositoryRoot returns the nearest directory at or above dir holding a go.mod or .git.
func repositoryRoot(dir string) (string, bool) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", false
	}
	for {
		for _, marker := range []string{"go.mod", ".git"} {
			if _, err := os.Stat(filepath.Join(abs, marker)); err == nil {
				return relativeToWorkingDir(abs, dir), true
			}
		}
		parent := filepath.Dir(abs)
		if parent == abs {
			return "", false
		}
		abs = parent
	}
}

// relativeToWorkingDir keeps root relative when dir was, so that messages stay short.
func relativeToWorkingDir(root, dir string) string {
	if filepath.IsAbs(dir) {
		return root
	}
	wd, err := os.Getwd()
	if err != nil {
		return root
	}
	if rel, err := filepath.Rel(wd, root); err == nil {
		return rel
	}
	return root
}
