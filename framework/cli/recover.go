package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/gameday-dev/gameday/clusters"
	"github.com/gameday-dev/gameday/framework/fault"
	"github.com/gameday-dev/gameday/framework/lifecycle"
	"github.com/gameday-dev/gameday/framework/probe"
	"github.com/gameday-dev/gameday/framework/runner"

	// The action kinds recover knows how to settle.
	_ "github.com/gameday-dev/gameday/framework/fault/all"
)

type recoverFlags struct {
	runsDir     string
	run         string
	cluster     string
	kubeconfig  string
	context     string
	timeout     time.Duration
	includeLive bool
	forget      []string
}

func (a *app) newRecoverCommand() *cobra.Command {
	flags := &recoverFlags{}
	cmd := &cobra.Command{
		Use:   "recover",
		Short: "Revert every fault a dead run left behind (after a crash or a double Ctrl-C)",
		Long: `Recover finds the outstanding records of runs that are no longer running and
settles each one: a fault is reverted; a drill is reverted, rolled forward from the
phase it stopped in, or left stopped for a person, as that phase says. It reads
  - the journals of the run folders under --runs-dir (or of one --run), newest run
    first, each run's records in the reverse order they were made;
  - the records stored in the clusters (Secrets in gameday-system) of the kind
    clusters on this machine, or of the one cluster named by --cluster or
    --kubeconfig/--context, which also finds records whose journal is lost.
Each result is journaled and the record's stored copy deleted. Afterwards the dead
run's cluster lease and probe agent are freed.

A run is live while its journal's lock is held or the cluster's run lease names it
and is renewed. Recover never waits for a live run and never touches its records or
its lease: it names the run, its holder and since when, and leaves its faults in
place (the run reverts them itself). --include-live reverts them anyway; that is
dangerous: the live run still holds those faults on purpose and its report will be
wrong.

A drill stopped in a phase that cannot be safely undone or redone is reported as
"stopped" with its phase and since when. Finish it by hand, then run
'gameday recover --forget ID' to mark it settled (nothing in the cluster is touched).

Recover is idempotent: with nothing outstanding it prints "nothing to recover" and
exits 0. Records of clusters that are not kind clusters on this machine are settled
only with --kubeconfig/--context, so that a context name is never guessed.

Exit code 0 when no dead run's record is left outstanding (live runs' records are
left to them and do not count), 2 for invalid flags, a missing --run folder or an
unknown --forget ID, 3 when a record could not be settled, a drill is stopped, or a
cluster could not be checked, 4 when interrupted.`,
		Example: `  # after a crash or a double Ctrl-C
  gameday recover

  # only what one run left behind
  gameday recover --run runs/20260730-120000-node-loss

  # an existing cluster the run reached through a kubeconfig
  gameday recover --kubeconfig ~/.kube/config --context staging

  # a drill finished by hand after recover reported it stopped
  gameday recover --forget restore-20260730T120000Z/restore/namespace/shop`,
		Args: usageArgs(cobra.NoArgs),
		RunE: runE(func(ctx context.Context, _ []string) error {
			return a.recover(ctx, flags)
		}),
	}
	f := cmd.Flags()
	f.StringVar(&flags.runsDir, "runs-dir", "runs", "folder that holds the run folders, searched at any depth for journals")
	f.StringVar(&flags.run, "run", "", "recover only the records of this run folder")
	f.StringVar(&flags.cluster, "cluster", "", "recover only in this kind cluster")
	f.StringVar(&flags.kubeconfig, "kubeconfig", "", "recover only in the cluster of this kubeconfig's --context (default $KUBECONFIG or ~/.kube/config when --context is given)")
	f.StringVar(&flags.context, "context", "", "kubeconfig context of the cluster; required with --kubeconfig (the current context is never used)")
	f.DurationVar(&flags.timeout, "timeout", defaultRevertTimeout, "how long settling one record may take")
	f.BoolVar(&flags.includeLive, "include-live", false, "DANGEROUS: also revert the records of runs that are still live, under them")
	f.StringArrayVar(&flags.forget, "forget", nil, "mark the record with this ID settled (journal and stored copy) without touching the cluster, after finishing a stopped drill by hand; repeatable")
	return cmd
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
	a.interrupts.say("interrupt: stopping; records not settled yet stay in place (run `gameday recover` again); press Ctrl-C again to exit immediately", nil)

	opts := lifecycle.RecoverOptions{
		RunsDir: flags.runsDir, Run: flags.run,
		IncludeLive: flags.includeLive, Forget: flags.forget, Timeout: flags.timeout,
		Logf: a.log.Debugf,
		CleanUpRun: func(ctx context.Context, env fault.Env, runID string) error {
			return probe.DeleteAgent(ctx, env.Client, runner.AgentNamespace, runner.AgentPodName(runID))
		},
	}
	if err := a.recoverClusters(ctx, flags, &opts); err != nil {
		return err
	}
	if flags.includeLive {
		a.log.Warn("--include-live: the records of live runs are reverted under them; their reports will be wrong")
	}
	rep, err := lifecycle.Recover(ctx, opts)
	if errors.Is(err, lifecycle.ErrInvalidRecover) {
		return invalidInput(err)
	}
	if err != nil {
		return err
	}
	for _, p := range rep.Problems {
		a.log.Error(p)
	}
	printRecoverReport(a.stdout, rep)
	switch {
	case rep.Interrupted:
		return withCode(ExitAborted, errors.New("recover interrupted; records not settled yet stay in place: run `gameday recover` again"))
	case rep.Count(lifecycle.OutcomeStopped) > 0 && rep.Count(lifecycle.OutcomeFailed) == 0 && len(rep.Problems) == 0:
		return withCode(ExitInfrastructure, errors.New("a drill is stopped; finish it by hand as its line says, then run `gameday recover --forget ID`"))
	case !rep.Clean():
		return withCode(ExitInfrastructure, errors.New("some faults may still be in place; fix the errors above and run `gameday recover` again"))
	}
	return nil
}

// recoverClusters fills in which clusters recover scans and how it connects them:
// the one named by flags, or this machine's kind clusters.
func (a *app) recoverClusters(ctx context.Context, flags *recoverFlags, opts *lifecycle.RecoverOptions) error {
	switch {
	case flags.cluster != "":
		kind := &clusters.Kind{Name: flags.cluster, Reuse: true, Logger: a.log}
		if a.kindEnv == nil {
			exists, err := kind.Exists()
			if err != nil {
				return err
			}
			if !exists {
				return invalidInput(fmt.Errorf("--cluster %s: no kind cluster of that name on this machine (see `gameday cluster list`)", flags.cluster))
			}
		}
		opts.Cluster = flags.cluster
		opts.Connect = a.kindConnector([]string{flags.cluster})
	case flags.kubeconfig != "" || flags.context != "":
		c, err := clusters.Existing{Path: flags.kubeconfig, Context: flags.context}.Connect(ctx)
		if err != nil {
			return invalidInput(err)
		}
		opts.Cluster = c.Name
		opts.Connect = func(context.Context, string) (fault.Env, error) { return envOf(c) }
	default:
		list := a.listKind
		if list == nil {
			list = clusters.ListKind
		}
		names, err := list()
		if err != nil {
			a.log.Warnf("cannot list kind clusters, so their stored records were not checked: %v", err)
		}
		opts.Clusters = names
		opts.Connect = a.kindConnector(names)
	}
	return nil
}

// kindConnector connects the kind clusters named, and refuses any other name: a
// record's cluster may be a kubeconfig context, which is never guessed.
func (a *app) kindConnector(names []string) func(context.Context, string) (fault.Env, error) {
	return func(ctx context.Context, name string) (fault.Env, error) {
		if !slices.Contains(names, name) {
			return fault.Env{}, fmt.Errorf("%q is not a kind cluster on this machine; if it is a kubeconfig context, run `gameday recover --kubeconfig PATH --context %s`", name, name)
		}
		if a.kindEnv != nil {
			env, err := a.kindEnv(ctx, name)
			if err != nil {
				return fault.Env{}, err
			}
			return *env, nil
		}
		c, err := (&clusters.Kind{Name: name, Reuse: true, Logger: a.log}).Up(ctx)
		if err != nil {
			return fault.Env{}, err
		}
		return envOf(c)
	}
}

func envOf(c *clusters.Cluster) (fault.Env, error) {
	client, err := c.Clientset()
	if err != nil {
		return fault.Env{}, fmt.Errorf("client for cluster %s: %w", c.Name, err)
	}
	return fault.Env{Cluster: c, Client: client}, nil
}

// printRecoverReport writes one line per live run, record and freed lease, then a
// summary (or "nothing to recover").
func printRecoverReport(out io.Writer, rep *lifecycle.RecoverReport) {
	for _, l := range rep.Live {
		where := l.Dir
		if where == "" {
			where = "found in the store of cluster " + l.Cluster
		}
		action := plural(len(l.Records), "record") + " left in place"
		if l.Included {
			action = "reverting its " + plural(len(l.Records), "record") + " anyway (--include-live)"
		}
		fmt.Fprintf(out, "live      run %s (%s): %s; %s\n", l.RunID, where, action, l.Liveness.String())
	}
	for _, r := range rep.Results {
		note := ""
		if r.Live {
			note = ", live run"
		}
		switch r.Outcome {
		case lifecycle.OutcomeReverted:
			fmt.Fprintf(out, "reverted  %s (%s%s)\n", r.What, r.Where, note)
		case lifecycle.OutcomeFinished:
			fmt.Fprintf(out, "finished  %s (%s%s): rolled forward to its end\n", r.What, r.Where, note)
		case lifecycle.OutcomeForgotten:
			fmt.Fprintf(out, "forgot    %s (%s): marked settled; the cluster was not touched\n", r.What, r.Where)
		case lifecycle.OutcomeSkipped:
			fmt.Fprintf(out, "skipped   %s (%s): %s\n", r.What, r.Where, r.Reason)
		case lifecycle.OutcomeStopped:
			fmt.Fprintf(out, "stopped:  %s (%s): %v\n", r.What, r.Where, r.Err)
		case lifecycle.OutcomeFailed:
			fmt.Fprintf(out, "FAILED    %s: %s: %v\n", r.Where, r.What, r.Err)
		}
	}
	for _, l := range rep.Released {
		fmt.Fprintf(out, "released  the cluster lease held by run %s\n", l.RunID)
	}
	if rep.Empty() {
		fmt.Fprintln(out, "nothing to recover")
		return
	}
	if len(rep.Results) == 0 && len(rep.Live) == 0 {
		return
	}
	parts := []string{"reverted " + plural(rep.Count(lifecycle.OutcomeReverted), "fault")}
	for _, c := range []struct {
		o    lifecycle.Outcome
		word string
	}{
		{lifecycle.OutcomeFinished, "rolled forward"},
		{lifecycle.OutcomeFailed, "failed"},
		{lifecycle.OutcomeStopped, "stopped"},
		{lifecycle.OutcomeSkipped, "skipped"},
		{lifecycle.OutcomeForgotten, "forgotten"},
	} {
		if n := rep.Count(c.o); n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, c.word))
		}
	}
	if n := rep.LiveLeft(); n > 0 {
		parts = append(parts, fmt.Sprintf("%d left to live runs", n))
	}
	fmt.Fprintln(out, strings.Join(parts, ", "))
}
