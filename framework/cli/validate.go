package cli

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/gameday-dev/gameday/framework/scenario"
)

type validateFlags struct {
	checkPaths bool
}

func (a *app) newValidateCommand() *cobra.Command {
	flags := &validateFlags{}
	cmd := &cobra.Command{
		Use:   "validate FILE...",
		Short: "Check scenario files without running them",
		Long: `Validate loads every scenario file given and reports all problems at once, one per
line as "file:line: field.path: message", or one "ok" line per valid file with its
number of steps and SLOs and its planned duration. A file given more than once (as
x.yaml and ./x.yaml, say) is validated once. A kind config name (spec.cluster.kind.config)
is checked against the configs built into gameday; --check-paths also checks files.
It never contacts a cluster.

Exit code 0 when every file is valid, 2 when any has a problem.`,
		Example: `  gameday validate scenarios/*.yaml

  # also check that the files a scenario names (kind config, kubeconfig, fixtures) exist
  gameday validate --check-paths scenarios/node-loss.yaml`,
		Args: usageArgs(cobra.MinimumNArgs(1)),
		RunE: runE(func(ctx context.Context, args []string) error {
			return a.validate(ctx, flags, args)
		}),
	}
	cmd.Flags().BoolVar(&flags.checkPaths, "check-paths", false, "also check that every file or folder a scenario names exists")
	return cmd
}

func (a *app) validate(_ context.Context, flags *validateFlags, paths []string) error {
	loaded, problems := loadScenarios(paths, flags.checkPaths)
	for _, l := range loaded {
		if mine := problems.of(l.path); len(mine) > 0 {
			for _, p := range mine {
				fmt.Fprintln(a.stderr, p.Error())
			}
			continue
		}
		s := l.scenario
		if s == nil {
			continue // cannot happen: a file that does not load has problems
		}
		fmt.Fprintf(a.stdout, "ok %s (%s, %s, planned duration %s)\n", l.path,
			plural(len(s.Spec.Steps), "step"), plural(len(s.Spec.SLOs), "SLO"), formatDuration(s.Spec.PlannedDuration()))
	}
	if len(problems) > 0 {
		return invalidInput(fmt.Errorf("%s in %s", plural(len(problems), "problem"), plural(problems.files(), "file")))
	}
	return nil
}

// loadedScenario is one file given on the command line and, when it loaded on its own,
// its scenario.
type loadedScenario struct {
	path     string
	scenario *scenario.Scenario
}

// scenarioProblems are the problems found in the files given, in the order given.
type scenarioProblems scenario.Errors

func (p scenarioProblems) of(path string) scenario.Errors {
	var out scenario.Errors
	for _, e := range p {
		if e.File == path {
			out = append(out, e)
		}
	}
	return out
}

func (p scenarioProblems) files() int {
	seen := map[string]bool{}
	for _, e := range p {
		seen[e.File] = true
	}
	return len(seen)
}

// loadScenarios loads every file and returns every problem at once: what
// scenario.LoadFiles finds (including names used twice) and, with checkPaths, the files
// and folders each scenario names that do not exist. The problems come grouped by file
// in the order given. A file's scenario is set when the file loaded on its own.
func loadScenarios(paths []string, checkPaths bool) ([]loadedScenario, scenarioProblems) {
	paths = uniqueFiles(paths)
	var problems scenario.Errors
	loaded := make([]loadedScenario, len(paths))
	all, err := scenario.LoadFiles(paths...)
	if err == nil {
		for i, s := range all {
			loaded[i] = loadedScenario{path: paths[i], scenario: s}
		}
	} else {
		problems = append(problems, asErrors(err)...)
		// Load the files one by one too, to tell which are valid on their own and to
		// check their paths as well.
		for i, path := range paths {
			loaded[i].path = path
			if s, err := scenario.LoadFile(path); err == nil {
				loaded[i].scenario = s
			}
		}
	}
	for _, l := range loaded {
		if l.scenario == nil {
			continue
		}
		if checkPaths {
			// CheckPaths covers CheckNames' kind config check and resolves files too.
			problems = append(problems, asErrors(l.scenario.CheckPaths())...)
		} else {
			problems = append(problems, asErrors(l.scenario.CheckNames())...)
		}
	}
	order := map[string]int{}
	for i, p := range paths {
		if _, ok := order[p]; !ok {
			order[p] = i
		}
	}
	slices.SortStableFunc(problems, func(a, b scenario.FieldError) int { return order[a.File] - order[b.File] })
	return loaded, scenarioProblems(problems)
}

// uniqueFiles drops the arguments that name a file given earlier ("x.yaml",
// "./x.yaml", an absolute path or a symbolic link to it), keeping the first spelling,
// so that a file given twice is loaded once instead of conflicting with itself.
func uniqueFiles(paths []string) []string {
	seen := map[string]bool{}
	out := make([]string, 0, len(paths))
	for _, p := range paths {
		key := filepath.Clean(p)
		if abs, err := filepath.Abs(key); err == nil {
			key = abs
		}
		if real, err := filepath.EvalSymlinks(key); err == nil {
			key = real
		}
		if seen[key] {
			continue
		}
		seen[key] = true
		out = append(out, p)
	}
	return out
}

// asErrors returns the problems of an error from the scenario package.
func asErrors(err error) scenario.Errors {
	if err == nil {
		return nil
	}
	var errs scenario.Errors
	if errors.As(err, &errs) {
		return errs
	}
	return scenario.Errors{{Message: err.Error()}}
}

// plural formats a count with its noun, e.g. "1 step", "3 SLOs".
func plural(n int, noun string) string {
	if n == 1 {
		return fmt.Sprintf("1 %s", noun)
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// formatDuration prints a duration in whole seconds (sub-second durations as they are),
// without zero units at the end: "1m20s", "3m", "1h".
func formatDuration(d time.Duration) string {
	if d < time.Second && d > -time.Second {
		return d.String()
	}
	s := d.Round(time.Second).String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
