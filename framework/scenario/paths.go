package scenario

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
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

// CheckPaths reports, as an Errors value, every file or directory the scenario names
// (cluster config, kubeconfig, fixtures) that ResolvePath cannot find. Load does not
// call it, so that scenarios can be validated away from the files they use.
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
	if k := s.Spec.Cluster.Kind; k != nil {
		check("spec.cluster.kind.config", k.Config)
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
