package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/spf13/cobra"

	"github.com/gameday-dev/gameday/clusters"
	"github.com/gameday-dev/gameday/framework/fault"
	"github.com/gameday-dev/gameday/framework/journal"
	"github.com/gameday-dev/gameday/framework/lease"
	"github.com/gameday-dev/gameday/framework/lifecycle"
	"github.com/gameday-dev/gameday/framework/probe"
	"github.com/gameday-dev/gameday/framework/runner"
	"github.com/gameday-dev/gameday/reports"

	// The fault kinds recover knows how to revert.
	_ "github.com/gameday-dev/gameday/framework/fault/dnsoutage"
	_ "github.com/gameday-dev/gameday/framework/fault/nodeloss"
)

// markerScanTimeout bounds listing one cluster's fault markers.
const markerScanTimeout = 30 * time.Second

type recoverFlags struct {
	runsDir    string
	run        string
	cluster    string
	kubeconfig string
	context    string
	timeout    time.Duration
}

func (a *app) newRecoverCommand() *cobra.Command {
	flags := &recoverFlags{}
	cmd := &cobra.Command{
		Use:   "recover",
		Short: "Revert every fault a run left behind (after a crash or a double Ctrl-C)",
		Long: `Recover finds every outstanding fault and reverts it:
  - from the fault journals of the run folders under --runs-dir (or of one --run),
    newest run first, each fault in the reverse order it was injected;
  - from the fault markers (the gameday.dev/fault annotation) left on nodes and on
    CoreDNS in the kind clusters on this machine, or in the one cluster named by
    --cluster or --kubeconfig/--context, which also finds faults whose journal is lost.
Each revert is recorded in its journal. A run still in progress holds its journal's
lock: recover waits for it to finish rather than revert faults under it.

Recover is idempotent: with nothing outstanding it prints "nothing to recover" and
exits 0. Faults of clusters that are not kind clusters on this machine are reverted
only with --kubeconfig/--context, so that a context name is never guessed.

Exit code 0 when nothing is left outstanding, 2 for invalid flags or a missing --run
folder, 3 when a fault could not be reverted or a cluster could not be checked,
4 when interrupted.`,
		Example: `  # after a crash or a double Ctrl-C
  gameday recover

  # only what one run left behind
  gameday recover --run runs/20260730-120000-node-loss

  # an existing cluster the run reached through a kubeconfig
  gameday recover --kubeconfig ~/.kube/config --context staging`,
		Args: usageArgs(cobra.NoArgs),
		RunE: runE(func(ctx context.Context, _ []string) error {
			return a.recover(ctx, flags)
		}),
	}
	f := cmd.Flags()
	f.StringVar(&flags.runsDir, "runs-dir", "runs", "folder that holds the run folders, searched at any depth for journals")
	f.StringVar(&flags.run, "run", "", "recover only the faults of this run folder")
	f.StringVar(&flags.cluster, "cluster", "", "recover only in this kind cluster")
	f.StringVar(&flags.kubeconfig, "kubeconfig", "", "recover only in the cluster of this kubeconfig's --context (default $KUBECONFIG or ~/.kube/config when --context is given)")
	f.StringVar(&flags.context, "context", "", "kubeconfig context of the cluster; required with --kubeconfig (the current context is never used)")
	f.DurationVar(&flags.timeout, "timeout", defaultRevertTimeout, "how long one fault's revert may take")
	return cmd
}

// recovery is one `gameday recover` pass.
type recovery struct {
	a     *app
	flags *recoverFlags

	// explicit is the cluster named by flags, or nil for "wherever the records say".
	explicit *recoverTarget
	// kindNames lists this machine's kind clusters (nil until listed); listErr is why
	// they could not be listed.
	kindNames []string
	listErr   error
	envs      map[string]*fault.Env // by cluster name

	// runIDs restricts the markers reverted to these runs (with --run).
	runIDs map[string]bool
	// handled holds the IDs of the records already reverted or tried.
	handled map[string]bool

	reverted, failed, skipped int
	problems                  []string
	// recoveredRuns lists, per cluster, the runs whose faults this pass reverted:
	// their leases and agent pods are cleaned up at the end.
	recoveredRuns map[string]map[string]bool
}

// recoverTarget is a cluster named on the command line.
type recoverTarget struct {
	name    string // kind cluster name, or kubeconfig context
	connect func(ctx context.Context) (*clusters.Cluster, error)
}

func (a *app) recover(ctx context.Context, flags *recoverFlags) error {
	if flags.cluster != "" && (flags.kubeconfig != "" || flags.context != "") {
		return usageError{cmd: "gameday recover", err: errors.New("give either --cluster (a kind cluster) or --kubeconfig/--context, not both")}
	}
	if flags.kubeconfig != "" && flags.context == "" {
		return usageError{cmd: "gameday recover", err: errors.New("--kubeconfig needs --context: name the context to recover in; the kubeconfig's current context is never used")}
	}
	if flags.timeout <= 0 {
		return usageError{cmd: "gameday recover", err: fmt.Errorf("--timeout must be positive, got %s", flags.timeout)}
	}
	a.interrupts.say("interrupt: stopping; faults not reverted yet stay in place (run `gameday recover` again); press Ctrl-C again to exit immediately", nil)

	rc := &recovery{a: a, flags: flags, envs: map[string]*fault.Env{}, handled: map[string]bool{}}
	if err := rc.resolveExplicitTarget(ctx); err != nil {
		return err
	}
	root := flags.runsDir
	if flags.run != "" {
		root = flags.run
		ids, err := runIDsOf(flags.run)
		if err != nil {
			return invalidInput(err)
		}
		rc.runIDs = ids
	}

	open, err := rc.recoverJournals(ctx, root)
	defer func() {
		for _, j := range open {
			_ = j.Close()
		}
	}()
	if err != nil {
		return err
	}
	rc.recoverMarkers(ctx)
	rc.cleanUpRuns(ctx)
	return rc.finish(ctx)
}

// cleanUpRuns frees what the runs it recovered still hold in their clusters: the
// cluster lease (a killed run never releases it, and the next run would wait for it
// to expire) and the probe agent pod.
func (rc *recovery) cleanUpRuns(ctx context.Context) {
	for cluster, runs := range rc.recoveredRuns {
		env, err := rc.env(ctx, cluster)
		if err != nil {
			continue
		}
		for runID := range runs {
			cctx, cancel := context.WithTimeout(ctx, time.Minute)
			if broke, err := lease.BreakForRun(cctx, env.Client, runID); err != nil {
				rc.a.log.Warnf("could not free the lease of run %s: %v", runID, err)
			} else if broke {
				fmt.Fprintf(rc.a.stdout, "released  the cluster lease held by run %s\n", runID)
			}
			if err := probe.DeleteAgent(cctx, env.Client, runner.AgentNamespace, runner.AgentPodName(runID)); err != nil {
				rc.a.log.Warnf("could not delete the probe agent of run %s: %v", runID, err)
			}
			cancel()
		}
	}
}

// resolveExplicitTarget connects the cluster named by --cluster or --kubeconfig/--context.
func (rc *recovery) resolveExplicitTarget(ctx context.Context) error {
	f := rc.flags
	switch {
	case f.cluster != "":
		kind := &clusters.Kind{Name: f.cluster, Reuse: true, Logger: rc.a.log}
		exists, err := kind.Exists()
		if err != nil {
			return err
		}
		if !exists {
			return invalidInput(fmt.Errorf("--cluster %s: no kind cluster of that name on this machine (see `gameday cluster list`)", f.cluster))
		}
		rc.explicit = &recoverTarget{name: f.cluster, connect: kind.Up}
	case f.kubeconfig != "" || f.context != "":
		c, err := clusters.Existing{Path: f.kubeconfig, Context: f.context}.Connect(ctx)
		if err != nil {
			return invalidInput(err)
		}
		rc.explicit = &recoverTarget{name: c.Name, connect: func(context.Context) (*clusters.Cluster, error) { return c, nil }}
	}
	return nil
}

// runIDsOf returns the IDs of the runs recorded in a run folder's journal and report.
func runIDsOf(dir string) (map[string]bool, error) {
	if info, err := os.Stat(dir); err != nil || !info.IsDir() {
		return nil, fmt.Errorf("--run %s: not a run folder", dir)
	}
	ids := map[string]bool{}
	if state, err := journal.Read(filepath.Join(dir, journal.FileName)); err == nil {
		for _, r := range state.Records {
			ids[r.Record.RunID] = true
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	if r, err := reports.Load(filepath.Join(dir, reports.JSONFile)); err == nil && r.RunID != "" {
		ids[r.RunID] = true
	}
	if len(ids) == 0 {
		return nil, fmt.Errorf("--run %s: no %s or %s in it; is it a run folder?", dir, journal.FileName, reports.JSONFile)
	}
	return ids, nil
}

// recoverJournals reverts the outstanding records of every journal under root, newest
// run first, and returns the journals it opened: their locks are held until the end of
// the pass, so that no run starts injecting under the marker scan.
func (rc *recovery) recoverJournals(ctx context.Context, root string) ([]*journal.Journal, error) {
	runs, err := journal.Scan(root)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) && rc.flags.run == "" {
			rc.a.log.Debugf("no runs folder %s: no journals to read", root)
			return nil, nil
		}
		return nil, err
	}
	slices.Reverse(runs) // newest first: undo the latest changes first
	var open []*journal.Journal
	for _, run := range runs {
		if ctx.Err() != nil {
			break
		}
		if run.Err != nil {
			rc.problem("cannot read journal %s: %v (its faults may be outstanding; the marker scan below still looks for them)", run.Path, run.Err)
			continue
		}
		j, err := rc.recoverJournal(ctx, run)
		if j != nil {
			open = append(open, j)
		}
		if err != nil {
			rc.problem("%s: %v", run.Path, err)
		}
	}
	return open, nil
}

func (rc *recovery) recoverJournal(ctx context.Context, run journal.RunJournal) (*journal.Journal, error) {
	for _, w := range run.Warnings {
		rc.a.log.Warn(w)
	}
	j, err := journal.Open(run.Dir, journal.WithLogger(rc.a.log.slog()))
	if err != nil {
		return nil, err
	}
	if run.Busy {
		fmt.Fprintf(rc.a.stderr, "waiting for %s: a run or another recover is using it (Ctrl-C to stop waiting)\n", run.Dir)
	}
	if err := j.Lock(ctx); err != nil {
		return j, err
	}
	// Read again under the lock: what a finished run or another recover reverted is gone.
	outstanding, err := j.Outstanding()
	if err != nil {
		return j, err
	}
	for _, rec := range outstanding {
		if ctx.Err() != nil {
			break
		}
		rc.revert(ctx, rec, j)
	}
	return j, nil
}

// recoverMarkers reverts the records whose markers are still in the clusters.
func (rc *recovery) recoverMarkers(ctx context.Context) {
	var names []string
	if rc.explicit != nil {
		names = []string{rc.explicit.name}
	} else {
		kinds, err := rc.kindClusters()
		if err != nil {
			rc.a.log.Warnf("cannot list kind clusters, so their fault markers were not checked: %v", err)
			return
		}
		names = kinds
	}
	for _, name := range names {
		if ctx.Err() != nil {
			return
		}
		env, err := rc.env(ctx, name)
		if err != nil {
			rc.problem("cannot check cluster %s for fault markers: %v", name, err)
			continue
		}
		rc.a.log.Debugf("checking cluster %s for stored records", name)
		scanCtx, cancel := context.WithTimeout(ctx, markerScanTimeout)
		recs, err := (&lifecycle.Store{Client: env.Client}).List(scanCtx)
		cancel()
		if err != nil {
			rc.problem("cannot check cluster %s for stored records: %v", name, err)
			continue
		}
		for _, rec := range recs {
			if rc.handled[rec.ID] || (rc.runIDs != nil && !rc.runIDs[rec.RunID]) {
				continue
			}
			if rec.Cluster == "" {
				rec.Cluster = name
			}
			rc.revert(ctx, rec, nil)
		}
	}
}

// revert reverts one record and records the result in its journal, if it has one.
func (rc *recovery) revert(ctx context.Context, rec fault.Record, j *journal.Journal) {
	if rc.handled[rec.ID] {
		return
	}
	rc.handled[rec.ID] = true
	where := fmt.Sprintf("run %s, step %s, cluster %s", rec.RunID, rec.Step, rec.Cluster)
	if j == nil {
		where += ", found by its marker"
	}
	inj, err := fault.ForKind(rec.Kind)
	if err != nil {
		rc.fail(ctx, rec, where, err, j)
		return
	}
	what := inj.Describe(rec)
	if rc.explicit != nil && rec.Cluster != rc.explicit.name {
		rc.skipped++
		fmt.Fprintf(rc.a.stdout, "skipped   %s (%s): not the cluster this recover is for (%s)\n", what, where, rc.explicit.name)
		return
	}
	env, err := rc.env(ctx, rec.Cluster)
	if err != nil {
		rc.fail(ctx, rec, where+": "+what, err, j)
		return
	}
	revertCtx, cancel := context.WithTimeout(ctx, rc.flags.timeout)
	err = inj.Recover(revertCtx, *env, rec)
	cancel()
	if err != nil {
		rc.fail(ctx, rec, where+": "+what, err, j)
		return
	}
	rc.reverted++
	fmt.Fprintf(rc.a.stdout, "reverted  %s (%s)\n", what, where)
	if rc.recoveredRuns == nil {
		rc.recoveredRuns = map[string]map[string]bool{}
	}
	if rc.recoveredRuns[rec.Cluster] == nil {
		rc.recoveredRuns[rec.Cluster] = map[string]bool{}
	}
	rc.recoveredRuns[rec.Cluster][rec.RunID] = true
	if j != nil {
		if err := j.Reverted(rec.ID); err != nil {
			rc.problem("reverted %s but could not record it in %s: %v", rec.ID, j.Path(), err)
		}
	}
}

func (rc *recovery) fail(ctx context.Context, rec fault.Record, what string, err error, j *journal.Journal) {
	rc.failed++
	fmt.Fprintf(rc.a.stdout, "FAILED    %s: %v\n", what, err)
	// A revert cut short by Ctrl-C did not fail; the record stays outstanding anyway.
	if j != nil && ctx.Err() == nil {
		if jerr := j.RecoverFailed(rec.ID, err); jerr != nil {
			rc.a.log.Warnf("could not record the failure in %s: %v", j.Path(), jerr)
		}
	}
}

func (rc *recovery) problem(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	rc.problems = append(rc.problems, msg)
	rc.a.log.Error(msg)
}

// kindClusters lists this machine's kind clusters once.
func (rc *recovery) kindClusters() ([]string, error) {
	if rc.kindNames == nil && rc.listErr == nil {
		list := rc.a.listKind
		if list == nil {
			list = clusters.ListKind
		}
		names, err := list()
		if err != nil {
			rc.listErr = fmt.Errorf("listing kind clusters: %w", err)
		} else {
			rc.kindNames = append([]string{}, names...)
		}
	}
	return rc.kindNames, rc.listErr
}

// env connects to the named cluster once: the explicit target, or a kind cluster on
// this machine.
func (rc *recovery) env(ctx context.Context, name string) (*fault.Env, error) {
	if env, ok := rc.envs[name]; ok {
		return env, nil
	}
	var connect func(context.Context) (*clusters.Cluster, error)
	switch {
	case rc.explicit != nil && rc.explicit.name == name:
		connect = rc.explicit.connect
	case rc.explicit != nil:
		return nil, fmt.Errorf("cluster %s is not the one this recover is for (%s)", name, rc.explicit.name)
	default:
		kinds, err := rc.kindClusters()
		if err != nil {
			return nil, err
		}
		if !slices.Contains(kinds, name) {
			return nil, fmt.Errorf("%q is not a kind cluster on this machine; if it is a kubeconfig context, run `gameday recover --kubeconfig PATH --context %s`", name, name)
		}
		if rc.a.kindEnv != nil {
			env, err := rc.a.kindEnv(ctx, name)
			if err != nil {
				return nil, err
			}
			rc.envs[name] = env
			return env, nil
		}
		connect = (&clusters.Kind{Name: name, Reuse: true, Logger: rc.a.log}).Up
	}
	c, err := connect(ctx)
	if err != nil {
		return nil, err
	}
	client, err := c.Clientset()
	if err != nil {
		return nil, fmt.Errorf("client for cluster %s: %w", name, err)
	}
	env := &fault.Env{Cluster: c, Client: client}
	rc.envs[name] = env
	return env, nil
}

// finish prints the outcome and returns the exit status.
func (rc *recovery) finish(ctx context.Context) error {
	out := rc.a.stdout
	switch {
	case rc.reverted+rc.failed+rc.skipped == 0 && len(rc.problems) == 0 && ctx.Err() == nil:
		fmt.Fprintln(out, "nothing to recover")
		return nil
	case rc.reverted+rc.failed+rc.skipped > 0:
		fmt.Fprintf(out, "reverted %s", plural(rc.reverted, "fault"))
		if rc.failed > 0 {
			fmt.Fprintf(out, ", %d failed", rc.failed)
		}
		if rc.skipped > 0 {
			fmt.Fprintf(out, ", %d skipped", rc.skipped)
		}
		fmt.Fprintln(out)
	}
	if ctx.Err() != nil {
		return withCode(ExitAborted, errors.New("recover interrupted; faults not reverted yet stay in place: run `gameday recover` again"))
	}
	if rc.failed > 0 || len(rc.problems) > 0 {
		return withCode(ExitInfrastructure, errors.New("some faults may still be in place; fix the errors above and run `gameday recover` again"))
	}
	return nil
}
