package cli

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/gameday-dev/gameday/reports"
)

func (a *app) newReportCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "report RUN_DIR",
		Short: "Re-render a run's reports from its report.json",
		Long: `Report reads RUN_DIR/report.json, the source of truth of a run, checks it against
the report schema, and writes report.md, report.html and junit.xml next to it again
(after an upgrade of gameday, or when they were deleted). It prints the paths written.

Exit code 2 when report.json is missing or not a valid report, 3 when the files cannot
be written.`,
		Example: `  gameday report runs/20260730-120000-node-loss`,
		Args:    usageArgs(cobra.ExactArgs(1)),
		RunE: runE(func(_ context.Context, args []string) error {
			return a.report(args[0])
		}),
	}
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
