package cli

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/gameday-dev/gameday/framework/runner"
	"github.com/gameday-dev/gameday/framework/scenario"
	"github.com/gameday-dev/gameday/reports"
)

// defaultRevertTimeout is how long a cancelled run may take to revert its faults; the
// runner's default, repeated here for the interrupt message.
const defaultRevertTimeout = 3 * time.Minute

type runFlags struct {
	runsDir       string
	nodeImage     string
	allowContexts []string
	allowProd     bool
	dryRun        bool
	keepCluster   bool
	agentImage    string
	progress      string
}

func (a *app) newRunCommand() *cobra.Command {
	flags := &runFlags{}
	cmd := &cobra.Command{
		Use:   "run SCENARIO...",
		Short: "Run game days: inject faults, measure the SLOs, write the reports",
		Long: `Run loads every scenario first and reports all invalid input at once (exit 2,
nothing touched). It then runs them in order: bring up or connect to the cluster,
apply the fixtures, start the probes, run the steps (steady state, faults, waits),
revert every fault, score the samples and write a run folder under --runs-dir with
report.json, report.md, report.html, junit.xml and the fault journal.

On a terminal the progress is a live status area (current step with elapsed and
remaining time, each SLO healthy or failing and since when); otherwise, or with
CI=true, it is plain timestamped lines.

Ctrl-C (or SIGTERM) once: the run stops, reverts its faults (up to 3m) and writes an
aborted report (exit 4). Ctrl-C twice: gameday exits at once with code 130 and the
faults stay in place; 'gameday recover' reverts them.

An existing cluster (cluster.kubeconfig in the scenario, which must name its
context) is acted on only when its context is allowed: by kubeconfig.allow: true
in the scenario, or by --allow-context CONTEXT. A context whose name or server host
looks like production (a word prod, prd, production or live) also needs
--allow-production-looking. Refusals happen before any request that changes
anything (exit 2).

The exit code is the worst outcome of the scenarios run:
` + exitCodesHelp,
		Example: `  # a game day on the local kind cluster "gameday" (created if missing)
  gameday run scenarios/node-loss.yaml

  # two scenarios in order, run folders under ./out
  gameday run --runs-dir out scenarios/node-loss.yaml scenarios/dns-outage.yaml

  # print every target and planned action without touching anything
  gameday run --dry-run scenarios/dns-outage.yaml

  # an existing cluster: the scenario names cluster.kubeconfig.context: staging
  # and sets allow: true there, or the run allows that context
  gameday run --allow-context staging scenarios/staging.yaml

  # a context that looks like production needs both the allow and the override
  gameday run --allow-context eks-prod-eu --allow-production-looking scenarios/prod.yaml`,
		Args: usageArgs(cobra.MinimumNArgs(1)),
	}
	f := cmd.Flags()
	f.StringVar(&flags.runsDir, "runs-dir", "runs", "folder that holds the run folders")
	f.StringVar(&flags.nodeImage, "node-image", "", "kind node image (default: $GAMEDAY_NODE_IMAGE, the offline test bed's image, or kind's)")
	f.StringArrayVar(&flags.allowContexts, "allow-context", nil, "kubeconfig context the run may inject faults into (repeatable), besides the context a scenario names with kubeconfig.allow: true")
	f.BoolVar(&flags.allowProd, "allow-production-looking", false, "also act on an allowed context whose name or server host looks like production")
	f.BoolVar(&flags.dryRun, "dry-run", false, "resolve and print every target and planned action, touching nothing")
	f.BoolVar(&flags.keepCluster, "keep-cluster", false, "keep a kind cluster the run created, or =false to delete it (default: the scenario's kind.keep, itself true)")
	f.StringVar(&flags.agentImage, "agent-image", "", "image of the in-cluster probe agent (default gameday/gameday:dev)")
	f.StringVar(&flags.progress, "progress", progressAuto, "progress output: auto (live on a terminal, plain when CI=true or not a terminal), live or plain")
	cmd.RunE = runE(func(ctx context.Context, args []string) error {
		var keep *bool // only an explicit --keep-cluster overrides the scenario
		if cmd.Flags().Changed("keep-cluster") {
			keep = &flags.keepCluster
		}
		return a.runScenarios(ctx, flags, keep, args)
	})
	return cmd
}

// runScenarios loads every scenario, then runs them in order and returns the worst outcome.
func (a *app) runScenarios(ctx context.Context, flags *runFlags, keep *bool, paths []string) error {
	switch flags.progress {
	case progressAuto, progressLive, progressPlain:
	default:
		return usageError{cmd: "gameday run", err: fmt.Errorf("--progress %q: want auto, live or plain", flags.progress)}
	}
	loaded, problems := loadScenarios(paths, true)
	if len(problems) > 0 {
		for _, p := range problems {
			fmt.Fprintln(a.stderr, p.Error())
		}
		return invalidInput(fmt.Errorf("%s in %s; nothing was run", plural(len(problems), "problem"), plural(problems.files(), "file")))
	}

	tracker := &runDirTracker{runsDir: flags.runsDir}
	a.interrupts.say(fmt.Sprintf("interrupt: reverting faults, this can take up to %s; press Ctrl-C again to exit immediately (faults stay in place; run `gameday recover` afterwards)",
		formatDuration(defaultRevertTimeout)), tracker.secondInterruptMessage)

	live := useLiveProgress(flags.progress, a.stdout, a.getenv)
	worst := ExitOK
	var summaries []runSummary
	for _, l := range loaded {
		if ctx.Err() != nil {
			break // interrupted: start nothing more
		}
		sc := l.scenario
		var view runProgress
		restoreLog, restoreInterrupts := func() {}, func() {}
		if live {
			lp := newLiveProgress(a.stdout, sc, flags.progress == progressLive)
			view = lp
			// Anything written to the terminal behind the live view's back is drawn over.
			restoreLog = a.log.setWriter(lp.Writer())
			restoreInterrupts = a.interrupts.sayThroughLiveView(lp.Writer())
		} else {
			view = newPlainProgress(a.stdout, sc, nil)
		}
		verb := "running"
		if flags.dryRun {
			verb = "planning"
		}
		view.Printf("%s %s (%s): %s, planned %s", verb, sc.Metadata.Name, sc.File,
			plural(len(sc.Spec.Steps), "step"), formatDuration(sc.Spec.PlannedDuration()))
		opts := runner.Options{
			RunsDir:                flags.runsDir,
			NodeImage:              flags.nodeImage,
			AllowContexts:          flags.allowContexts,
			AllowProductionLooking: flags.allowProd,
			DryRun:                 flags.dryRun,
			AgentImage:             flags.agentImage,
			KeepCluster:            keep,
			Progress:               &trackedProgress{Progress: view, tracker: tracker},
			RevertTimeout:          defaultRevertTimeout,
		}
		runScenario := a.runScenario
		if runScenario == nil {
			runScenario = runner.Run
		}
		res, err := runScenario(ctx, sc, opts)
		view.Close()
		restoreInterrupts()
		restoreLog()

		summary := summarize(ctx, sc, res, err)
		if summary.dir != "" {
			tracker.set(summary.dir)
		}
		a.printSummary(summary)
		summaries = append(summaries, summary)
		worst = max(worst, summary.code)
		if summary.code == ExitAborted && ctx.Err() != nil {
			break // interrupted: start nothing more
		}
	}
	if len(summaries) < len(loaded) {
		worst = max(worst, ExitAborted) // interrupted before every scenario ran
	}
	if len(loaded) > 1 {
		a.printTotals(summaries, len(loaded))
	}
	if worst != ExitOK {
		return withCode(worst, nil)
	}
	return nil
}

// runDirTracker remembers the folder of the run in progress, for a second Ctrl-C.
type runDirTracker struct {
	runsDir string
	mu      sync.Mutex
	dir     string
}

func (t *runDirTracker) set(dir string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.dir = dir
}

func (t *runDirTracker) secondInterruptMessage() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.dir == "" {
		return fmt.Sprintf("interrupt: exiting immediately; faults stay in place: run `gameday recover --runs-dir %s`", t.runsDir)
	}
	return fmt.Sprintf("interrupt: exiting immediately; faults stay in place (run folder %s): run `gameday recover --run %s`", t.dir, t.dir)
}

// trackedProgress passes a run's progress to the view and remembers the run folder.
type trackedProgress struct {
	runner.Progress
	tracker *runDirTracker
}

// RunDir records the run folder; the runner calls it once the folder exists.
func (t *trackedProgress) RunDir(dir string) {
	t.tracker.set(dir)
	if r, ok := t.Progress.(RunDirReporter); ok {
		r.RunDir(dir)
	}
}

var _ RunDirReporter = (*trackedProgress)(nil)

// runSummary is how one scenario's run ended.
type runSummary struct {
	name    string
	code    int
	outcome string
	dir     string
	report  *reports.Report
	err     error
}

// summarize maps a run's result to its exit code.
func summarize(ctx context.Context, sc *scenario.Scenario, res *runner.Result, err error) runSummary {
	s := runSummary{name: sc.Metadata.Name, err: err}
	if res != nil {
		s.dir, s.report = res.Dir, res.Report
	}
	if s.report != nil {
		s.outcome = string(s.report.Outcome)
		s.code = outcomeCode(s.report.Outcome)
	}
	switch {
	case err == nil:
		if s.report == nil {
			s.outcome = "done"
		}
	case errors.Is(err, runner.ErrInvalidInput), errors.Is(err, runner.ErrRefused):
		s.outcome, s.code = "invalid input", max(s.code, ExitInvalidInput)
	case errors.Is(err, context.Canceled) && ctx.Err() != nil:
		s.outcome, s.code = string(reports.OutcomeAborted), max(s.code, ExitAborted)
	default:
		if s.outcome == "" {
			s.outcome = string(reports.OutcomeError)
		}
		s.code = max(s.code, ExitInfrastructure)
	}
	return s
}

// outcomeCode is the exit code of a report's outcome.
func outcomeCode(o reports.Outcome) int {
	switch o {
	case reports.OutcomePassed:
		return ExitOK
	case reports.OutcomeFailed:
		return ExitFailed
	case reports.OutcomeAborted:
		return ExitAborted
	}
	return ExitInfrastructure
}

func (a *app) printSummary(s runSummary) {
	fmt.Fprintf(a.stdout, "\n%s: %s (exit %d)\n", s.name, s.outcome, s.code)
	if r := s.report; r != nil {
		if r.AbortReason != "" {
			fmt.Fprintf(a.stdout, "  aborted: %s\n", r.AbortReason)
		}
		for _, e := range r.Expectations {
			if !e.Passed {
				fmt.Fprintf(a.stdout, "  ✗ %s", e.Name)
				if e.Message != "" {
					fmt.Fprintf(a.stdout, ": %s", e.Message)
				}
				fmt.Fprintln(a.stdout)
			}
		}
	}
	if s.err != nil {
		fmt.Fprintf(a.stderr, "  error: %v\n", s.err)
	}
	if s.dir != "" {
		fmt.Fprintf(a.stdout, "  run folder: %s\n", s.dir)
		if s.report != nil {
			fmt.Fprintf(a.stdout, "  report:     %s (also %s, %s, %s)\n", filepath.Join(s.dir, reports.HTMLFile),
				reports.MarkdownFile, reports.JUnitFile, reports.JSONFile)
		}
	}
}

func (a *app) printTotals(summaries []runSummary, total int) {
	fmt.Fprintf(a.stdout, "\n%d of %d scenarios run:\n", len(summaries), total)
	for _, s := range summaries {
		fmt.Fprintf(a.stdout, "  %-8s %s", s.outcome, s.name)
		if s.dir != "" {
			fmt.Fprintf(a.stdout, "  %s", s.dir)
		}
		fmt.Fprintln(a.stdout)
	}
}
