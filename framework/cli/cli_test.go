package cli

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/gameday-dev/gameday/framework/runner"
	"github.com/gameday-dev/gameday/framework/scenario"
	"github.com/gameday-dev/gameday/reports"
)

// Paths from this package's folder.
const (
	nodeLossScenario  = "../../scenarios/node-loss.yaml"
	dnsOutageScenario = "../../scenarios/dns-outage.yaml"
	invalidScenario   = "../../framework/scenario/testdata/invalid-values.yaml"
	syntaxScenario    = "../../framework/scenario/testdata/invalid-syntax.yaml"
	reportsTestdata   = "../../reports/testdata"
)

// syncBuffer is a bytes.Buffer safe for the goroutines of a run.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// runCLI runs the command line through Run and returns its exit code and output.
func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut syncBuffer
	code = Run(context.Background(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestValidateValidFiles(t *testing.T) {
	t.Parallel()
	code, stdout, stderr := runCLI(t, "validate", "--check-paths", nodeLossScenario, dnsOutageScenario)
	assert.Equal(t, code, ExitOK, stderr)
	assert.Check(t, is.Contains(stdout, "ok "+nodeLossScenario+" (3 steps, 3 SLOs, planned duration 1m20s)\n"))
	assert.Check(t, is.Contains(stdout, "ok "+dnsOutageScenario+" ("))
	assert.Equal(t, stderr, "")
}

func TestValidateReportsEveryProblem(t *testing.T) {
	t.Parallel()
	code, stdout, stderr := runCLI(t, "validate", nodeLossScenario, invalidScenario, syntaxScenario)
	assert.Equal(t, code, ExitInvalidInput)
	// The valid file is still reported as valid.
	assert.Check(t, is.Contains(stdout, "ok "+nodeLossScenario))
	assert.Check(t, !strings.Contains(stdout, "ok "+invalidScenario))
	// Problems of both invalid files, as file:line: path: message.
	assert.Check(t, is.Contains(stderr, invalidScenario+":4: metadata.name: must be a DNS label"))
	assert.Check(t, is.Contains(stderr, invalidScenario+":15: spec.slos[0].interval: must be at most 5s"))
	assert.Check(t, is.Contains(stderr, syntaxScenario+":"))
	assert.Check(t, is.Contains(stderr, "in 2 files"))
	// Problems come in the order the files were given.
	assert.Check(t, strings.Index(stderr, invalidScenario) < strings.Index(stderr, syntaxScenario))
}

func TestValidateCheckPaths(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "missing-fixture.yaml")
	data, err := os.ReadFile("../../framework/scenario/testdata/valid-minimal.yaml")
	assert.NilError(t, err)
	data = append(data, []byte("  fixtures:\n    - path: no-such-folder\n")...)
	assert.NilError(t, os.WriteFile(path, data, 0o644))

	code, stdout, _ := runCLI(t, "validate", path)
	assert.Equal(t, code, ExitOK)
	assert.Check(t, is.Contains(stdout, "ok "+path))

	code, _, stderr := runCLI(t, "validate", "--check-paths", path)
	assert.Equal(t, code, ExitInvalidInput)
	assert.Check(t, is.Contains(stderr, path+":"))
	assert.Check(t, is.Contains(stderr, "spec.fixtures[0].path: no-such-folder not found"))
}

func TestUsageErrorsExitTwo(t *testing.T) {
	t.Parallel()
	tests := [][]string{
		{"nope"},
		{"--no-such-flag"},
		{"run"},
		{"run", "--bogus", nodeLossScenario},
		{"run", "--progress", "fancy", nodeLossScenario},
		{"validate"},
		{"report"},
		{"report", "a", "b"},
		{"cluster", "nope"},
		{"cluster", "up", "extra"},
		{"cluster", "up", "--config", "no-such-config"},
		{"cluster", "up", "--wait", "soon"},
		{"recover", "--cluster", "a", "--context", "b"},
		{"recover", "--run", "no/such/run/folder"},
		{"agent"},
		{"agent", "--http", "no-equals-sign"},
		{"version", "extra"},
		{"-v", "many", "version"},
	}
	for _, args := range tests {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			t.Parallel()
			code, stdout, stderr := runCLI(t, args...)
			assert.Equal(t, code, ExitInvalidInput, "stdout: %s\nstderr: %s", stdout, stderr)
			assert.Check(t, is.Contains(stderr, "gameday: "))
		})
	}
}

func TestHelpAndVersion(t *testing.T) {
	t.Parallel()
	code, stdout, _ := runCLI(t, "--help")
	assert.Equal(t, code, ExitOK)
	assert.Check(t, is.Contains(stdout, "Exit codes:"))
	assert.Check(t, is.Contains(stdout, "130"))

	for _, cmd := range [][]string{{"run"}, {"validate"}, {"cluster"}, {"cluster", "up"}, {"cluster", "down"}, {"cluster", "list"}, {"report"}, {"recover"}, {"agent"}, {"version"}} {
		code, stdout, _ := runCLI(t, append(cmd, "--help")...)
		assert.Equal(t, code, ExitOK)
		assert.Check(t, is.Contains(stdout, "Examples:"), "gameday %s --help", strings.Join(cmd, " "))
	}

	code, stdout, _ = runCLI(t, "version")
	assert.Equal(t, code, ExitOK)
	assert.Check(t, is.Contains(stdout, "gameday dev\n"))
	assert.Check(t, is.Contains(stdout, "kind library v"))
}

func TestRunDryRunInvalidScenarioTouchesNothing(t *testing.T) {
	t.Parallel()
	var out, errOut syncBuffer
	called := false
	a := &app{stdout: &out, stderr: &errOut, getenv: noEnv,
		runScenario: func(context.Context, *scenario.Scenario, runner.Options) (*runner.Result, error) {
			called = true
			return nil, nil
		}}
	code := a.run(context.Background(), []string{"run", "--dry-run", nodeLossScenario, invalidScenario})
	assert.Equal(t, code, ExitInvalidInput)
	assert.Check(t, !called, "no scenario may run when one is invalid")
	assert.Check(t, is.Contains(errOut.String(), invalidScenario+":4: metadata.name"))
	assert.Check(t, is.Contains(errOut.String(), "nothing was run"))
}

func noEnv(string) string { return "" }

// fakeRun returns a runner that finishes each scenario with the outcome or error
// listed for its name.
func fakeRun(outcomes map[string]any) func(context.Context, *scenario.Scenario, runner.Options) (*runner.Result, error) {
	return func(_ context.Context, sc *scenario.Scenario, opts runner.Options) (*runner.Result, error) {
		opts.Progress.Phase("step " + sc.Spec.Steps[0].Name)
		opts.Progress.SLO(sc.Spec.SLOs[0].Name, false, time.Now(), "connection refused")
		dir := filepath.Join(opts.RunsDir, sc.Metadata.Name)
		switch o := outcomes[sc.Metadata.Name].(type) {
		case reports.Outcome:
			r := reports.New()
			r.Outcome = o
			return &runner.Result{Dir: dir, Report: r}, nil
		case error:
			return nil, o
		}
		return nil, fmt.Errorf("no outcome for %s", sc.Metadata.Name)
	}
}

func TestRunExitCodeIsTheWorstOutcome(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		nodeLoss  any
		dnsOutage any
		want      int
	}{
		{"all passed", reports.OutcomePassed, reports.OutcomePassed, ExitOK},
		{"one failed", reports.OutcomePassed, reports.OutcomeFailed, ExitFailed},
		{"refused", fmt.Errorf("context prod: %w", runner.ErrRefused), reports.OutcomeFailed, ExitInvalidInput},
		{"invalid input", fmt.Errorf("kubeconfig: %w", runner.ErrInvalidInput), reports.OutcomePassed, ExitInvalidInput},
		{"infrastructure", fmt.Errorf("creating kind cluster: boom"), reports.OutcomeFailed, ExitInfrastructure},
		{"error outcome", reports.OutcomeError, reports.OutcomePassed, ExitInfrastructure},
		{"aborted by timeout", reports.OutcomeAborted, reports.OutcomeError, ExitAborted},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var out, errOut syncBuffer
			a := &app{stdout: &out, stderr: &errOut, getenv: noEnv,
				runScenario: fakeRun(map[string]any{"node-loss": tc.nodeLoss, "dns-outage": tc.dnsOutage})}
			code := a.run(context.Background(), []string{"run", "--runs-dir", "out", nodeLossScenario, dnsOutageScenario})
			assert.Equal(t, code, tc.want, "stdout: %s\nstderr: %s", out.String(), errOut.String())
			// Both ran (a timeout aborts one scenario, not the rest), and the summary
			// names the run folders and reports.
			assert.Check(t, is.Contains(out.String(), "2 of 2 scenarios run"))
			if o, ok := tc.nodeLoss.(reports.Outcome); ok {
				assert.Check(t, is.Contains(out.String(), "node-loss: "+string(o)))
				assert.Check(t, is.Contains(out.String(), "report:     "+filepath.Join("out", "node-loss", "report.html")))
			}
		})
	}
}

func TestRunInterruptAbortsAndStops(t *testing.T) {
	t.Parallel()
	var out, errOut syncBuffer
	signals := make(chan os.Signal, 2)
	started := make(chan struct{})
	runs := 0
	a := &app{stdout: &out, stderr: &errOut, getenv: noEnv, signals: signals,
		exit: func(code int) { t.Errorf("exit(%d) after one interrupt", code) },
		runScenario: func(ctx context.Context, sc *scenario.Scenario, opts runner.Options) (*runner.Result, error) {
			runs++
			close(started)
			<-ctx.Done() // the runner reverts its faults, then reports the run aborted
			r := reports.New()
			r.Outcome, r.AbortReason = reports.OutcomeAborted, "interrupted"
			return &runner.Result{Dir: "runs/x", Report: r}, nil
		}}
	done := make(chan int)
	go func() { done <- a.run(context.Background(), []string{"run", nodeLossScenario, dnsOutageScenario}) }()
	<-started
	signals <- syscall.SIGINT
	code := <-done
	assert.Equal(t, code, ExitAborted)
	assert.Equal(t, runs, 1, "no scenario starts after an interrupt")
	assert.Check(t, is.Contains(errOut.String(), "interrupt: reverting faults, this can take up to 3m; press Ctrl-C again to exit immediately (faults stay in place; run `gameday recover` afterwards)"))
	assert.Check(t, is.Contains(out.String(), "node-loss: aborted (exit 4)"))
}

func TestRunSecondInterruptExitsAt130(t *testing.T) {
	t.Parallel()
	var out, errOut syncBuffer
	signals := make(chan os.Signal, 2)
	started, release := make(chan struct{}), make(chan struct{})
	exited := make(chan int, 1)
	a := &app{stdout: &out, stderr: &errOut, getenv: noEnv, signals: signals,
		exit: func(code int) { exited <- code },
		runScenario: func(ctx context.Context, sc *scenario.Scenario, opts runner.Options) (*runner.Result, error) {
			opts.Progress.(RunDirReporter).RunDir("runs/20260730-node-loss")
			close(started)
			<-ctx.Done()
			<-release // reverting takes a while
			return nil, ctx.Err()
		}}
	done := make(chan int)
	go func() { done <- a.run(context.Background(), []string{"run", nodeLossScenario}) }()
	<-started
	signals <- syscall.SIGINT
	signals <- syscall.SIGINT
	assert.Equal(t, <-exited, ExitInterrupted)
	close(release)
	<-done
	assert.Check(t, is.Contains(errOut.String(), "faults stay in place (run folder runs/20260730-node-loss): run `gameday recover --run runs/20260730-node-loss`"))
}

func TestInterrupts(t *testing.T) {
	t.Parallel()
	var stderr syncBuffer
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	var exitCodes []int
	in := newInterrupts(&stderr, cancel, func(code int) { exitCodes = append(exitCodes, code) })
	in.say("first message", func() string { return "second message" })

	signals := make(chan os.Signal, 2)
	done := make(chan struct{})
	watching := make(chan struct{})
	go func() {
		in.watch(signals, done)
		close(watching)
	}()

	signals <- syscall.SIGTERM
	<-ctx.Done()
	assert.Check(t, is.ErrorIs(context.Cause(ctx), errInterrupted))
	assert.Check(t, is.Contains(stderr.String(), "first message"))

	signals <- syscall.SIGINT
	<-watching // the watcher stops after the exit
	assert.DeepEqual(t, exitCodes, []int{ExitInterrupted})
	assert.Check(t, is.Contains(stderr.String(), "second message"))
}

func TestInterruptsStopWhenDone(t *testing.T) {
	t.Parallel()
	in := newInterrupts(&syncBuffer{}, func(error) {}, func(code int) { t.Errorf("exit(%d)", code) })
	done := make(chan struct{})
	close(done)
	in.watch(make(chan os.Signal), done) // returns at once
}

func TestReportRerenders(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	data, err := os.ReadFile(filepath.Join(reportsTestdata, "failed.json"))
	assert.NilError(t, err)
	assert.NilError(t, os.WriteFile(filepath.Join(dir, reports.JSONFile), data, 0o644))

	code, stdout, stderr := runCLI(t, "report", dir)
	assert.Equal(t, code, ExitOK, stderr)
	for _, f := range []string{reports.MarkdownFile, reports.HTMLFile, reports.JUnitFile} {
		assert.Check(t, is.Contains(stdout, filepath.Join(dir, f)+"\n"))
	}
	got, err := os.ReadFile(filepath.Join(dir, reports.MarkdownFile))
	assert.NilError(t, err)
	want, err := os.ReadFile(filepath.Join(reportsTestdata, "failed.md"))
	assert.NilError(t, err)
	assert.Equal(t, string(got), string(want))
}

func TestReportRejectsBadInput(t *testing.T) {
	t.Parallel()
	missing := t.TempDir()
	bad := t.TempDir()
	assert.NilError(t, os.WriteFile(filepath.Join(bad, reports.JSONFile), []byte(`{"apiVersion": "v0"}`), 0o644))
	for _, dir := range []string{missing, bad} {
		code, _, stderr := runCLI(t, "report", dir)
		assert.Equal(t, code, ExitInvalidInput)
		assert.Check(t, is.Contains(stderr, filepath.Join(dir, reports.JSONFile)))
	}
}

func TestRunCancelledBeforeStartIsAborted(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var out, errOut syncBuffer
	a := &app{stdout: &out, stderr: &errOut, getenv: noEnv,
		runScenario: func(context.Context, *scenario.Scenario, runner.Options) (*runner.Result, error) {
			t.Error("a scenario ran after the run was cancelled")
			return nil, nil
		}}
	assert.Equal(t, a.run(ctx, []string{"run", nodeLossScenario}), ExitAborted)
}
