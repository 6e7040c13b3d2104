package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/gameday-dev/gameday/reports"
)

func (a *app) newReportCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "report RUN_DIR|RUN_DIR/report.json",
		Short: "Re-render a run's reports from its report.json",
		Long: `Report reads RUN_DIR/report.json, the source of truth of a run, checks it against
the report schema, and writes report.md, report.html and junit.xml next to it again
(after an upgrade of gameday, or when they were deleted). It prints the paths written.
The run folder or its report.json may be given.

Exit code 2 when report.json is missing or not a valid report, 3 when the files cannot
be written.`,
		Example: `  gameday report runs/20260730-120000-node-loss
  gameday report runs/20260730-120000-node-loss/report.json`,
		Args: usageArgs(cobra.ExactArgs(1)),
		RunE: runE(func(_ context.Context, args []string) error {
			dir, err := reportDir(args[0])
			if err != nil {
				return invalidInput(err)
			}
			return a.report(dir)
		}),
	}
}

// reportDir returns the run folder of an argument that names the folder or its
// report.json.
func reportDir(arg string) (string, error) {
	info, err := os.Stat(arg)
	if err != nil || info.IsDir() {
		return arg, nil // a missing folder is reported with the report.json it lacks
	}
	if filepath.Base(arg) != reports.JSONFile {
		return "", fmt.Errorf("%s is a file, not a run folder or its %s", arg, reports.JSONFile)
	}
	return filepath.Dir(arg), nil
}

func (a *app) report(dir string) error {
	r, err := reports.Load(filepath.Join(dir, reports.JSONFile))
	if err != nil {
		return invalidInput(err)
	}
	if err := reports.Render(dir, r); err != nil {
		return fmt.Errorf("rendering the reports of %s: %w", dir, err)
	}
	for _, f := range []string{reports.MarkdownFile, reports.HTMLFile, reports.JUnitFile} {
		fmt.Fprintln(a.stdout, filepath.Join(dir, f))
	}
	fmt.Fprintf(a.stderr, "%s: %s\n", r.Scenario.Name, r.Outcome)
	return nil
}
