// Package cli is the gameday command line: one cobra command per file (run, validate,
// cluster, report, recover, agent, version) under a root command that owns the global
// flags, the exit codes and the handling of Ctrl-C.
//
// Main is what cmd/gameday calls; Run is the same program without os.Exit or process
// signals, so that tests can drive every command.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/gameday-dev/gameday/framework/fault"
	"github.com/gameday-dev/gameday/framework/runner"
	"github.com/gameday-dev/gameday/framework/scenario"
)

// Version is gameday's version, set at build time with
// -ldflags "-X github.com/gameday-dev/gameday/framework/cli.Version=v1.2.3".
var Version = "dev"

// The exit codes of every command (docs/design.md).
const (
	// ExitOK: every expectation and SLO passed, or the command did what it was asked.
	ExitOK = 0
	// ExitFailed: an SLO or expectation failed.
	ExitFailed = 1
	// ExitInvalidInput: invalid input (scenario, flag, kubeconfig, report); nothing was touched.
	ExitInvalidInput = 2
	// ExitInfrastructure: infrastructure error (cluster could not be created, API unreachable).
	ExitInfrastructure = 3
	// ExitAborted: aborted by a signal or timeout (faults reverted, report marked aborted).
	ExitAborted = 4
	// ExitInterrupted: a second Ctrl-C ended the process at once; faults may stay in place.
	ExitInterrupted = 130
)

// exitCodesHelp is the exit code table shown by `gameday --help` and `gameday run --help`.
const exitCodesHelp = `Exit codes:
  0    every expectation and SLO passed (or the command succeeded)
  1    an SLO or expectation failed
  2    invalid input (scenario, flag, kubeconfig, report.json); nothing was touched
  3    infrastructure error (cluster could not be created, API unreachable, a fault not reverted)
  4    aborted by a signal or timeout (faults reverted, report marked aborted)
  130  a second Ctrl-C exited at once (faults may stay in place: run 'gameday recover')`

// Main runs gameday with the process's arguments, standard streams and signals, and
// returns the exit code.
func Main() int {
	signals := make(chan os.Signal, 2)
	signal.Notify(signals, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(signals)
	a := &app{stdout: os.Stdout, stderr: os.Stderr, signals: signals, exit: os.Exit, getenv: os.Getenv}
	return a.run(context.Background(), os.Args[1:])
}

// Run runs gameday with args (without the program name), writing to stdout and stderr,
// and returns the exit code. It never calls os.Exit and does not watch process signals:
// cancelling ctx acts as a first Ctrl-C.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	a := &app{stdout: stdout, stderr: stderr, getenv: func(string) string { return "" }}
	return a.run(ctx, args)
}

// app is one invocation of the command line: its streams, signals and global flags.
type app struct {
	stdout, stderr io.Writer
	// signals delivers SIGINT and SIGTERM; nil when the caller handles signals itself.
	signals <-chan os.Signal
	// exit ends the process on a second interrupt.
	exit func(code int)
	// getenv reads the environment (CI, TERM); tests pass their own.
	getenv func(string) string

	verbosity  int
	log        *logger
	interrupts *interrupts

	// Seams for tests; nil means the real thing.
	runScenario func(context.Context, *scenario.Scenario, runner.Options) (*runner.Result, error)
	listKind    func() ([]string, error)
	kindEnv     func(ctx context.Context, cluster string) (*fault.Env, error)
}

func (a *app) run(ctx context.Context, args []string) int {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	a.log = newLogger(a.stderr, &a.verbosity)
	a.interrupts = newInterrupts(a.stderr, cancel, a.exit)
	if a.signals != nil {
		done := make(chan struct{})
		defer close(done)
		go a.interrupts.watch(a.signals, done)
	}

	root := a.newRootCommand()
	root.SetArgs(args)
	root.SetOut(a.stdout)
	root.SetErr(a.stderr)
	err := root.ExecuteContext(ctx)
	code := exitCode(err)
	if msg := errorMessage(err); msg != "" {
		fmt.Fprintf(a.stderr, "gameday: %s\n", msg)
		if cmd, ok := usageOf(err); ok {
			fmt.Fprintf(a.stderr, "Run '%s --help' for usage.\n", cmd)
		}
	}
	return code
}

func (a *app) newRootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "gameday",
		Short: "Kubernetes game days with measured recovery",
		Long: `gameday runs game days against a Kubernetes cluster: it applies fixtures, measures
SLOs with probes, injects faults (node loss, DNS outage), reverts them, and scores how
long detection and recovery took (MTTD, MTTR, availability, error budget). Every run
writes a folder with report.json, report.md, report.html and junit.xml.

Faults are journaled before they are injected and reverted on success, failure,
Ctrl-C and timeout; 'gameday recover' reverts whatever a crashed run left behind.

` + exitCodesHelp,
		Example: `  # Check a scenario, then run it on a local kind cluster
  gameday validate scenarios/node-loss.yaml
  gameday run scenarios/node-loss.yaml

  # See what a run would do without touching anything
  gameday run --dry-run scenarios/dns-outage.yaml`,
		SilenceErrors: true,
		SilenceUsage:  true,
	}
	root.CompletionOptions.HiddenDefaultCmd = true
	root.PersistentFlags().IntVarP(&a.verbosity, "verbosity", "v", 0, "log verbosity: 1 adds debug messages (kind's, the journal's), higher adds more")
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		return usageError{cmd: cmd.CommandPath(), err: err}
	})
	root.AddCommand(
		a.newRunCommand(),
		a.newValidateCommand(),
		a.newClusterCommand(),
		a.newReportCommand(),
		a.newRecoverCommand(),
		a.newAgentCommand(),
		a.newNodeAgentCommand(),
		a.newVersionCommand(),
	)
	return root
}

// exitError ends a command with an exit code; a nil err prints nothing more (the
// command already said what happened).
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit code %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

// withCode returns an error that makes the command exit with code.
func withCode(code int, err error) error { return &exitError{code: code, err: err} }

// invalidInput marks err as invalid input (exit 2).
func invalidInput(err error) error { return withCode(ExitInvalidInput, err) }

// usageError is a command line that cobra or a command could not make sense of (exit 2).
type usageError struct {
	cmd string // the command path, e.g. "gameday run"; "" for the root
	err error
}

func (e usageError) Error() string {
	if e.cmd == "" {
		return e.err.Error()
	}
	return e.cmd + ": " + e.err.Error()
}

func (e usageError) Unwrap() error { return e.err }

// usageOf reports whether err is a usage error, and the command whose help to suggest.
func usageOf(err error) (cmd string, ok bool) {
	var u usageError
	switch {
	case errors.As(err, &u):
		if u.cmd == "" {
			return "gameday", true
		}
		return u.cmd, true
	case errors.As(err, new(*exitError)):
		return "", false
	}
	return "gameday", err != nil // cobra's own errors: unknown command
}

// usageArgs wraps a cobra argument check so that its errors exit with code 2.
func usageArgs(check cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := check(cmd, args); err != nil {
			return usageError{cmd: cmd.CommandPath(), err: err}
		}
		return nil
	}
}

// runE adapts a command's body to cobra: errors that carry no exit code are
// infrastructure errors (exit 3), or aborts (exit 4) when an interrupt (or the caller of
// Run) cancelled ctx.
func runE(body func(ctx context.Context, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		err := body(cmd.Context(), args)
		if err == nil || errors.As(err, new(*exitError)) || errors.As(err, new(usageError)) {
			return err
		}
		if errors.Is(err, context.Canceled) && cmd.Context().Err() != nil {
			return withCode(ExitAborted, err)
		}
		return withCode(ExitInfrastructure, err)
	}
}

// exitCode maps a command's error to the process exit code.
func exitCode(err error) int {
	if err == nil {
		return ExitOK
	}
	var e *exitError
	if errors.As(err, &e) {
		return e.code
	}
	if errors.Is(err, pflag.ErrHelp) {
		return ExitOK
	}
	// Everything else comes from cobra itself: unknown commands, flags or arguments.
	return ExitInvalidInput
}

// errorMessage is what to print for err, or "" when the command already said it.
func errorMessage(err error) string {
	if err == nil {
		return ""
	}
	var e *exitError
	if errors.As(err, &e) && e.err == nil {
		return ""
	}
	return err.Error()
}

// groupCommand makes a command that only holds subcommands: without arguments it shows
// its help, and an unknown subcommand is a usage error rather than the help text.
func groupCommand(cmd *cobra.Command) *cobra.Command {
	cmd.Args = cobra.ArbitraryArgs
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if len(args) > 0 {
			return usageError{cmd: cmd.CommandPath(), err: fmt.Errorf("unknown command %q", args[0])}
		}
		return cmd.Help()
	}
	return cmd
}
