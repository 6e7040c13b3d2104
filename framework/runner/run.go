package runner

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"k8s.io/client-go/kubernetes"

	"github.com/gameday-dev/gameday/clusters"
	"github.com/gameday-dev/gameday/framework/fault"
	_ "github.com/gameday-dev/gameday/framework/fault/all" // every action kind
	"github.com/gameday-dev/gameday/framework/journal"
	"github.com/gameday-dev/gameday/framework/lifecycle"
	"github.com/gameday-dev/gameday/framework/probe"
	"github.com/gameday-dev/gameday/framework/scenario"
	"github.com/gameday-dev/gameday/framework/score"
	"github.com/gameday-dev/gameday/reports"
)

// run is the state of one game day while it runs.
type run struct {
	sc       *scenario.Scenario
	opts     Options
	progress Progress
	id       string
	dir      string

	kind    *clusters.Kind // nil for existing clusters
	cluster *clusters.Cluster
	client  kubernetes.Interface
	journal *journal.Journal
	life    *lifecycle.Lifecycle // runs every action; set once connected

	recorder *probe.Recorder
	vantage  string // node the agent runs on and node-network probes target
	// timings is the interval and timeout each SLO's probe runs at (probeTimings).
	timings map[string]probe.Timing
	// agentClock is the agent clock's estimate, set when the probes stop.
	agentClock *reports.AgentClock

	mu           sync.Mutex
	windows      []score.Window
	steps        []reports.Step
	observations []reports.Observation
	figures      []reports.Figure
}

// Run runs one scenario to the end and returns its result. A nil error with a
// Result means the run completed or was aborted (see Report.Outcome); an error
// wrapping ErrInvalidInput or ErrRefused means nothing was touched; any other error
// is an infrastructure failure (the Result, when not nil, still holds the report).
func Run(ctx context.Context, sc *scenario.Scenario, opts Options) (*Result, error) {
	if err := sc.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidInput, err)
	}
	if err := sc.CheckPaths(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidInput, err)
	}
	r := &run{sc: sc, opts: withDefaults(opts), recorder: &probe.Recorder{}}
	r.progress = r.opts.Progress
	start := time.Now().UTC()
	r.id = sc.Metadata.Name + "-" + start.Format("20060102T150405Z")

	if r.opts.DryRun {
		return nil, r.dryRun(ctx)
	}
	if err := r.preflight(ctx); err != nil { // images a kind run loads, before any cluster exists
		return nil, err
	}
	if err := r.connect(ctx); err != nil {
		return nil, err
	}
	r.dir = filepath.Join(r.opts.RunsDir, r.id)
	if err := os.MkdirAll(r.dir, 0o755); err != nil {
		return nil, fmt.Errorf("creating run folder: %w", err)
	}
	if d, ok := r.progress.(interface{ RunDir(string) }); ok {
		d.RunDir(r.dir) // so a second Ctrl-C can name the folder to recover
	}
	j, err := journal.Open(r.dir)
	if err != nil {
		return nil, fmt.Errorf("opening the run journal: %w", err)
	}
	r.journal = j
	defer j.Close()
	r.life = &lifecycle.Lifecycle{
		Env:     fault.Env{Cluster: r.cluster, Client: r.client, RunID: r.id, Sink: r},
		Journal: j, Store: &lifecycle.Store{Client: r.client},
		Logf: r.progress.Printf, RevertTimeout: r.opts.RevertTimeout,
	}
	// Held for the whole run: a concurrent `gameday recover` waits instead of
	// reverting faults this run is still holding on purpose.
	if err := j.Lock(ctx); err != nil {
		return nil, fmt.Errorf("locking the run journal: %w", err)
	}
	defer j.Unlock()

	rep := reports.New()
	rep.RunID = r.id
	rep.Start = start
	rep.Scenario = reports.Scenario{Name: sc.Metadata.Name, File: sc.File, Description: sc.Metadata.Description}
	rep.Outcome, rep.AbortReason, rep.Error = r.execute(ctx)
	rep.End = time.Now().UTC()
	r.fill(ctx, rep)
	r.mu.Lock()
	rep.Figures = append([]reports.Figure(nil), r.figures...)
	r.mu.Unlock()
	if rep.Outcome != reports.OutcomePassed {
		r.collectLogs(context.WithoutCancel(ctx), rep)
	}
	if err := reports.Write(r.dir, rep); err != nil {
		return &Result{Dir: r.dir, Report: rep}, fmt.Errorf("writing the report: %w", err)
	}
	r.progress.Printf("report: %s", filepath.Join(r.dir, reports.HTMLFile))
	r.teardownCluster(context.WithoutCancel(ctx))
	if rep.Outcome == reports.OutcomeError {
		return &Result{Dir: r.dir, Report: rep}, errors.New(rep.Error)
	}
	return &Result{Dir: r.dir, Report: rep}, nil
}

func withDefaults(o Options) Options {
	if o.RunsDir == "" {
		o.RunsDir = "runs"
	}
	if o.AgentImage == "" {
		o.AgentImage = probe.DefaultAgentImage
	}
	if o.Progress == nil {
		o.Progress = nopProgress{}
	}
	if o.RevertTimeout == 0 {
		o.RevertTimeout = 3 * time.Minute
	}
	return o
}

// abortVerifyTimeout bounds checking, after an abort or an error, that what was
// reverted came back.
const abortVerifyTimeout = 2 * time.Minute

// execute runs everything between connecting and scoring. Faults are reverted
// before it returns, whatever happens.
func (r *run) execute(ctx context.Context) (outcome reports.Outcome, abortReason, errText string) {
	runCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	// The lease must outlive a cancellation: it is held until the faults are reverted.
	release, err := r.acquireLease(context.WithoutCancel(ctx), cancel)
	if err != nil {
		return reports.OutcomeError, "", err.Error()
	}
	defer func() {
		// A run that leaves an action in place keeps the cluster's lease (it
		// expires unless renewed, and `gameday recover` frees it once it has
		// settled the run's records): the next run must not start on a broken cluster.
		keep := r.life != nil && len(r.life.Outstanding()) > 0
		if keep {
			r.progress.Printf("warning: actions are still in place, so the cluster lease is left to expire instead of released (run `gameday recover --run %s`)", r.dir)
		}
		release(keep)
	}()
	if t := r.sc.Spec.Abort.Timeout; t > 0 {
		var stop context.CancelFunc
		runCtx, stop = context.WithTimeoutCause(runCtx, t, fmt.Errorf("the run exceeded abort.timeout (%s)", t))
		defer stop()
	}

	stopProbes, err := r.prepare(runCtx, cancel)
	defer func() {
		// Revert first, then stop the probes, so they see the recovery. On the
		// abort and error paths a failed revert is part of the result: the report
		// must say that something is still in place.
		err := r.revertAll(context.WithoutCancel(ctx))
		if err == nil && (outcome == reports.OutcomeAborted || outcome == reports.OutcomeError) {
			// The success path verifies in verifyHealthy; an aborted or failed run
			// still says whether what it reverted came back.
			vctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), abortVerifyTimeout)
			err = r.life.Verify(vctx)
			cancel()
		}
		if err != nil {
			switch outcome {
			case reports.OutcomeAborted:
				abortReason += "; " + err.Error()
			case reports.OutcomeError:
				errText += "; " + err.Error()
			}
		}
		stopProbes()
	}()
	if err != nil {
		if cause := context.Cause(runCtx); cause != nil && runCtx.Err() != nil {
			return reports.OutcomeAborted, describeCause(ctx, cause), ""
		}
		return reports.OutcomeError, "", err.Error()
	}

	for i := range r.sc.Spec.Steps {
		step := &r.sc.Spec.Steps[i]
		if err := r.runStep(runCtx, step); err != nil {
			if runCtx.Err() != nil {
				return reports.OutcomeAborted, describeCause(ctx, context.Cause(runCtx)), ""
			}
			return reports.OutcomeError, "", fmt.Sprintf("step %s: %v", step.Name, err)
		}
	}
	if err := r.revertAll(context.WithoutCancel(ctx)); err != nil {
		return reports.OutcomeError, "", err.Error()
	}
	if err := r.verifyHealthy(ctx); err != nil {
		return reports.OutcomeError, "", err.Error()
	}
	return "", "", ""
}

// describeCause says why a run stopped early.
func describeCause(parent context.Context, cause error) string {
	if parent.Err() != nil {
		return "interrupted: " + context.Cause(parent).Error()
	}
	if cause == nil {
		return "aborted"
	}
	return cause.Error()
}

// revertAll settles every outstanding action, newest first. An action that
// cannot be settled stays outstanding, so a later call tries it again and
// `gameday recover` finds it in the journal and in the cluster.
func (r *run) revertAll(ctx context.Context) error {
	if r.life == nil {
		return nil
	}
	if err := r.life.Revert(ctx, ""); err != nil {
		return fmt.Errorf("%w (run `gameday recover --run %s`)", err, r.dir)
	}
	return nil
}
