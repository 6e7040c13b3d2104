package lifecycle

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/gameday-dev/gameday/framework/fault"
	"github.com/gameday-dev/gameday/framework/journal"
	"github.com/gameday-dev/gameday/framework/lease"
	"github.com/gameday-dev/gameday/reports"
)

// storeScanTimeout bounds listing one cluster's stored records.
const storeScanTimeout = 30 * time.Second

// ErrInvalidRecover marks RecoverOptions that cannot be acted on: a Run folder that
// is not a run folder, a Forget ID that no outstanding record has. Nothing was
// changed.
var ErrInvalidRecover = errors.New("invalid recover request")

// RecoverOptions says what Recover looks at and what it may do.
type RecoverOptions struct {
	// RunsDir is searched, at any depth, for run journals with outstanding records;
	// "" or a missing folder means no journals.
	RunsDir string
	// Run, when set, restricts recovery to one run folder: its journal, and the
	// records stored in the clusters for the runs it names.
	Run string
	// Clusters are the clusters whose record stores are scanned (the kind clusters on
	// this machine, for the CLI). Ignored when Cluster is set.
	Clusters []string
	// Cluster, when set, is the only cluster recover acts on: its store is scanned,
	// and journal records of other clusters are skipped.
	Cluster string
	// Connect gives the Env of a cluster named by a record or in Clusters. It is
	// called at most once per cluster. Required.
	Connect func(ctx context.Context, cluster string) (fault.Env, error)
	// IncludeLive reverts the records of live runs too. Dangerous: the run still
	// holds those faults on purpose and will revert them itself; reverting them under
	// it falsifies its measurements.
	IncludeLive bool
	// Forget lists record IDs to mark settled without touching the cluster (a drill
	// that stopped in a phase a person then finished by hand): each is journaled as
	// reverted and its stored copy deleted.
	Forget []string
	// Timeout bounds settling one record; zero means DefaultRevertTimeout.
	Timeout time.Duration
	// Lease says where the cluster's run lease is and how its holder is checked.
	Lease LeaseCheck
	// CleanUpRun, when set, is called for each dead run whose records in a cluster
	// are all settled, after its lease was freed (the CLI deletes its probe agent).
	CleanUpRun func(ctx context.Context, env fault.Env, runID string) error
	// Logf receives progress ("revert: ...", "phase ..."); nil is silent.
	Logf func(format string, args ...any)
}

// Outcome is what Recover did with one record.
type Outcome string

// The outcomes of RecordResult.
const (
	// OutcomeReverted: the record was reverted (a fault, or a drill undone).
	OutcomeReverted Outcome = "reverted"
	// OutcomeFinished: a drill was rolled forward to its end.
	OutcomeFinished Outcome = "finished"
	// OutcomeFailed: settling failed (Err); the record is still outstanding.
	OutcomeFailed Outcome = "failed"
	// OutcomeStopped: a drill stopped in a phase whose crash policy is Stop (Err is
	// the *fault.StoppedError); a person must finish it, then Forget it.
	OutcomeStopped Outcome = "stopped"
	// OutcomeSkipped: the record is in a cluster this recover is not for (Reason).
	OutcomeSkipped Outcome = "skipped"
	// OutcomeForgotten: the record was marked settled by Forget.
	OutcomeForgotten Outcome = "forgotten"
)

// RecordResult is one record Recover settled, tried or skipped.
type RecordResult struct {
	// Record is the record as journaled or stored.
	Record fault.Record
	// What is the action's description of the record; Where names its run, step and
	// cluster, and whether it was found only in the cluster store.
	What, Where string
	// Outcome is what was done.
	Outcome Outcome
	// Err is why it failed, or the *fault.StoppedError of a stopped drill.
	Err error
	// Reason says why it was skipped.
	Reason string
	// Live says it belonged to a live run, reverted because of IncludeLive.
	Live bool
}

// LiveRun is a run Recover found live.
type LiveRun struct {
	// RunID is the run; Dir its run folder ("" when its records were found only in a
	// cluster store); Cluster the cluster whose lease shows it live ("" for the lock).
	RunID, Dir, Cluster string
	// Liveness is who holds the run and since when.
	Liveness
	// Records are its outstanding records, left in place unless Included.
	Records []fault.Record
	// Included says IncludeLive was set: its records were settled anyway.
	Included bool
}

// ReleasedLease is a dead run's cluster lease that Recover deleted.
type ReleasedLease struct {
	Cluster, RunID string
}

// RecoverReport is what one Recover pass found and did.
type RecoverReport struct {
	// Results are the records settled, tried, skipped or forgotten, in order.
	Results []RecordResult
	// Live are the live runs found, in the order found.
	Live []LiveRun
	// Released are the leases of dead runs that were freed.
	Released []ReleasedLease
	// Problems are what kept recover from looking everywhere (an unreadable journal,
	// a cluster that could not be checked); records may be outstanding behind them.
	Problems []string
	// Interrupted says ctx ended before the pass did.
	Interrupted bool
}

// Count returns how many results have outcome o.
func (r *RecoverReport) Count(o Outcome) int {
	n := 0
	for _, res := range r.Results {
		if res.Outcome == o {
			n++
		}
	}
	return n
}

// LiveLeft counts the records of live runs left in place.
func (r *RecoverReport) LiveLeft() int {
	n := 0
	for _, l := range r.Live {
		if !l.Included {
			n += len(l.Records)
		}
	}
	return n
}

// Empty reports whether the pass found nothing at all to do or report.
func (r *RecoverReport) Empty() bool {
	return len(r.Results) == 0 && len(r.Live) == 0 && len(r.Problems) == 0 && !r.Interrupted
}

// Clean reports whether no dead run's record is left outstanding: nothing failed
// or stopped, every place was checked, and the pass was not interrupted. Records of
// live runs left in place do not count: their runs revert them.
func (r *RecoverReport) Clean() bool {
	return r.Count(OutcomeFailed) == 0 && r.Count(OutcomeStopped) == 0 && len(r.Problems) == 0 && !r.Interrupted
}

// Recover brings to rest every outstanding record of every dead run: it reads the
// run journals under RunsDir (or the Run folder) and the record stores of the
// clusters, and settles each record with Settle (a fault reverted; a drill
// reverted, rolled forward or left stopped as its phase says), journaling the
// result and deleting the stored copy. A run is live while another process holds
// its journal's run lock, or while the cluster's run lease names it and has not
// expired; a live run's records are left alone, and the run is named with its
// holder in the report, unless IncludeLive. After a dead run's records in a cluster
// are all settled, its lease there is freed and CleanUpRun is called.
//
// The error is for options that cannot be acted on (wrapping ErrInvalidRecover);
// everything else (failures, problems, interruption) is in the report.
func Recover(ctx context.Context, opts RecoverOptions) (*RecoverReport, error) {
	if opts.Connect == nil {
		return nil, fmt.Errorf("%w: RecoverOptions.Connect is required", ErrInvalidRecover)
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultRevertTimeout
	}
	rc := &recoverer{opts: opts, rep: &RecoverReport{}, envs: map[string]envResult{}, runs: map[string]*runJob{}}
	defer rc.close()
	root := opts.RunsDir
	if opts.Run != "" {
		root = opts.Run
		ids, err := runIDsOf(opts.Run)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrInvalidRecover, err)
		}
		rc.runIDs = ids
	}
	if err := rc.scanJournals(ctx, root); err != nil {
		return nil, err
	}
	rc.scanStores(ctx)
	if err := rc.checkForget(); err != nil {
		return nil, err
	}
	for _, job := range rc.order {
		rc.settleRun(ctx, job)
	}
	rc.cleanUp(ctx)
	rc.rep.Interrupted = ctx.Err() != nil
	return rc.rep, nil
}

// runJob is one run's outstanding records, from its journal or a cluster store.
type runJob struct {
	runID  string
	dir    string           // run folder; "" when found only in a store
	j      *journal.Journal // open journal, nil for store-only records
	locked bool
	states []journal.RecordState
	stored map[string]bool // record IDs found only in a cluster store
	live   *Liveness
	liveAt string // cluster of the lease, "" for the journal lock
}

type envResult struct {
	env fault.Env
	err error
}

type recoverer struct {
	opts   RecoverOptions
	rep    *RecoverReport
	runIDs map[string]bool // with Run: the runs it names
	envs   map[string]envResult
	runs   map[string]*runJob // by run ID
	order  []*runJob
	// outcome per run and cluster: whether any record settled, and any left.
	settled, left map[[2]string]bool
}

func (rc *recoverer) logf(format string, args ...any) {
	if rc.opts.Logf != nil {
		rc.opts.Logf(format, args...)
	}
}

func (rc *recoverer) problem(format string, args ...any) {
	rc.rep.Problems = append(rc.rep.Problems, fmt.Sprintf(format, args...))
}

func (rc *recoverer) close() {
	for _, job := range rc.order {
		if job.j != nil {
			_ = job.j.Close()
		}
	}
}

// env connects a cluster once.
func (rc *recoverer) env(ctx context.Context, cluster string) (fault.Env, error) {
	if r, ok := rc.envs[cluster]; ok {
		return r.env, r.err
	}
	env, err := rc.opts.Connect(ctx, cluster)
	if err == nil && env.Client == nil {
		err = fmt.Errorf("cluster %s: no client", cluster)
	}
	rc.envs[cluster] = envResult{env, err}
	return env, err
}

// inScope reports whether recover acts on records of this cluster.
func (rc *recoverer) inScope(cluster string) bool {
	return rc.opts.Cluster == "" || cluster == rc.opts.Cluster
}

// scanJournals reads the journals under root, newest run first, and finds out which
// of their runs are live. The journal of a dead run stays locked until the pass ends.
func (rc *recoverer) scanJournals(ctx context.Context, root string) error {
	if root == "" {
		return nil
	}
	found, err := journal.Scan(root)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) && rc.opts.Run == "" {
			rc.logf("no runs folder %s: no journals to read", root)
			return nil
		}
		return err
	}
	slices.Reverse(found) // newest first: undo the latest changes first
	for _, run := range found {
		if run.Err != nil {
			rc.problem("cannot read journal %s: %v (its records may be outstanding; the cluster stores are still checked)", run.Path, run.Err)
			continue
		}
		for _, w := range run.Warnings {
			rc.logf("%s", w)
		}
		if err := rc.openRun(ctx, run); err != nil {
			rc.problem("%s: %v", run.Path, err)
		}
	}
	return nil
}

func (rc *recoverer) openRun(ctx context.Context, run journal.RunJournal) error {
	j, err := journal.Open(run.Dir)
	if err != nil {
		return err
	}
	job := &runJob{dir: run.Dir, j: j, runID: run.Outstanding[0].RunID}
	rc.order = append(rc.order, job)
	if !run.Busy {
		// Take the run lock without waiting: a held lock is a live run (or another
		// recover), never something to wait for.
		try, cancel := context.WithCancel(ctx)
		cancel()
		job.locked = j.Lock(try) == nil
	}
	if !job.locked {
		job.live = journalLive(run.Dir)
	}
	// Read again: what the run or another recover settled since the scan is gone.
	states, err := j.OutstandingStates()
	if err != nil {
		return err
	}
	job.states = states
	if len(states) > 0 {
		job.runID = states[0].Record.RunID
	}
	rc.runs[job.runID] = job
	if job.live != nil {
		return nil
	}
	// The lock is free; the run may still be live elsewhere (another machine sharing
	// the cluster): ask each of its clusters' lease.
	var clustersSeen []string
	for _, rs := range states {
		c := rs.Record.Cluster
		if slices.Contains(clustersSeen, c) || !rc.inScope(c) {
			continue
		}
		clustersSeen = append(clustersSeen, c)
		if rc.leaseLive(ctx, job, c) {
			break
		}
	}
	return nil
}

// leaseLive checks the run lease of a cluster for job's run, and marks job live
// when it is held. A cluster that cannot be reached is left to settling, which
// reports it.
func (rc *recoverer) leaseLive(ctx context.Context, job *runJob, cluster string) bool {
	env, err := rc.env(ctx, cluster)
	if err != nil {
		return false
	}
	cctx, cancel := context.WithTimeout(ctx, storeScanTimeout)
	defer cancel()
	live, err := rc.opts.Lease.Live(cctx, env.Client, job.runID)
	if err != nil {
		// Not knowing is not "dead": leave the run alone.
		live = &Liveness{By: LiveByLease, Holder: "unknown (" + err.Error() + ")", Lease: cluster}
	}
	if live == nil {
		live = rc.holderLive(cctx, env, job)
	}
	if live == nil {
		return false
	}
	job.live, job.liveAt = live, cluster
	return true
}

// holderLive reports a store-only run whose records name a holder process (an e2e
// session, which takes no lease) that is still alive: on this host, its process
// exists; on another host, gameday cannot tell, so the run counts as live.
func (rc *recoverer) holderLive(ctx context.Context, env fault.Env, job *runJob) *Liveness {
	holders, err := (&Store{Client: env.Client}).Holders(ctx)
	if err != nil {
		return nil
	}
	for _, rs := range job.states {
		h := holders[rs.Record.ID]
		m := holderIdentity.FindStringSubmatch(h)
		if h == "" {
			continue
		}
		if m != nil {
			if pid, err := strconv.Atoi(m[2]); err == nil && rc.opts.Lease.holderGone(m[1], pid) {
				continue
			}
		}
		return &Liveness{By: LiveByHolder, Holder: h}
	}
	return nil
}

// scanStores reads the record stores of the clusters and adds the records that no
// journal accounts for, grouped by run.
func (rc *recoverer) scanStores(ctx context.Context) {
	names := rc.opts.Clusters
	if rc.opts.Cluster != "" {
		names = []string{rc.opts.Cluster}
	}
	known := map[string]bool{}
	for _, job := range rc.order {
		for _, rs := range job.states {
			known[rs.Record.ID] = true
		}
	}
	for _, name := range names {
		if ctx.Err() != nil {
			return
		}
		env, err := rc.env(ctx, name)
		if err != nil {
			rc.problem("cannot check cluster %s for stored records: %v", name, err)
			continue
		}
		sctx, cancel := context.WithTimeout(ctx, storeScanTimeout)
		states, err := (&Store{Client: env.Client}).States(sctx)
		cancel()
		if err != nil {
			rc.problem("cannot check cluster %s for stored records: %v", name, err)
			continue
		}
		for _, st := range states {
			rec := st.Record
			if rec.Cluster == "" {
				rec.Cluster = name
			}
			if known[rec.ID] || (rc.runIDs != nil && !rc.runIDs[rec.RunID]) {
				continue
			}
			known[rec.ID] = true
			if rc.staleCopy(ctx, env, rec) {
				continue
			}
			job := rc.runs[rec.RunID]
			if job == nil {
				job = &runJob{runID: rec.RunID, stored: map[string]bool{}}
				rc.runs[rec.RunID] = job
				rc.order = append(rc.order, job)
			}
			if job.stored == nil {
				job.stored = map[string]bool{}
			}
			job.stored[rec.ID] = true
			st.Record = rec
			job.states = append(job.states, st)
			if job.live == nil && job.dir == "" {
				rc.leaseLive(ctx, job, rec.Cluster)
			}
		}
	}
	// Store records are listed oldest first: revert the newest first.
	for _, job := range rc.order {
		if job.dir == "" {
			slices.Reverse(job.states)
		}
	}
}

// staleCopy deletes a stored record that its run's journal (the folder scanned, or
// RunsDir/RUNID as the runner lays them out) says is already settled: only the
// Secret was left behind. Reverting it again could undo a drill that finished.
func (rc *recoverer) staleCopy(ctx context.Context, env fault.Env, rec fault.Record) bool {
	dir := ""
	switch {
	case rc.runs[rec.RunID] != nil && rc.runs[rec.RunID].dir != "":
		dir = rc.runs[rec.RunID].dir
	case rc.opts.RunsDir != "" && rec.RunID != "":
		dir = filepath.Join(rc.opts.RunsDir, rec.RunID)
	default:
		return false
	}
	state, err := journal.Read(filepath.Join(dir, journal.FileName))
	if err != nil {
		return false
	}
	rs, ok := state.Lookup(rec.ID)
	if !ok || rs.Outstanding() {
		return false
	}
	if err := (&Store{Client: env.Client}).Delete(ctx, rec.ID); err != nil {
		rc.problem("%v", err)
	} else {
		rc.logf("deleted the stored copy of %s: its journal says it is %s", rec.ID, rs.Last)
	}
	return true
}

// checkForget makes sure every Forget ID is an outstanding record found.
func (rc *recoverer) checkForget() error {
	for _, id := range rc.opts.Forget {
		var owner *runJob
		for _, job := range rc.order {
			if slices.ContainsFunc(job.states, func(rs journal.RecordState) bool { return rs.Record.ID == id }) {
				owner = job
			}
		}
		switch {
		case owner == nil:
			return fmt.Errorf("%w: --forget %s: no outstanding record has that ID (in the journals read and the clusters checked)", ErrInvalidRecover, id)
		case owner.live != nil && !rc.opts.IncludeLive:
			return fmt.Errorf("%w: --forget %s: it belongs to run %s, which is live (%s); it is the run's to settle", ErrInvalidRecover, id, owner.runID, owner.live)
		}
	}
	return nil
}

// settleRun settles the records of one run, or names the run when it is live.
func (rc *recoverer) settleRun(ctx context.Context, job *runJob) {
	if len(job.states) == 0 {
		return
	}
	if job.live != nil {
		lr := LiveRun{RunID: job.runID, Dir: job.dir, Cluster: job.liveAt, Liveness: *job.live, Included: rc.opts.IncludeLive}
		for _, rs := range job.states {
			lr.Records = append(lr.Records, rs.Record)
		}
		rc.rep.Live = append(rc.rep.Live, lr)
		if !rc.opts.IncludeLive {
			return
		}
	}
	for _, rs := range job.states {
		if ctx.Err() != nil {
			return
		}
		rc.settleRecord(ctx, job, rs)
	}
}

func (rc *recoverer) settleRecord(ctx context.Context, job *runJob, rs journal.RecordState) {
	rec := rs.Record
	res := RecordResult{Record: rec, Live: job.live != nil,
		Where: fmt.Sprintf("run %s, step %s, cluster %s", rec.RunID, rec.Step, rec.Cluster)}
	if job.stored[rec.ID] {
		res.Where += ", found in the cluster store"
	}
	key := [2]string{rec.Cluster, rec.RunID}
	defer func() {
		rc.rep.Results = append(rc.rep.Results, res)
		if rc.settled == nil {
			rc.settled, rc.left = map[[2]string]bool{}, map[[2]string]bool{}
		}
		switch res.Outcome {
		case OutcomeReverted, OutcomeFinished, OutcomeForgotten:
			rc.settled[key] = true
		case OutcomeFailed, OutcomeStopped:
			rc.left[key] = true
		}
	}()
	action, err := fault.ForKind(rec.Kind)
	if err != nil {
		res.What, res.Outcome, res.Err = rec.Kind+" on "+rec.Target, OutcomeFailed, err
		return
	}
	res.What = action.Describe(rec)
	if !rc.inScope(rec.Cluster) {
		res.Outcome, res.Reason = OutcomeSkipped, fmt.Sprintf("not the cluster this recover is for (%s)", rc.opts.Cluster)
		return
	}
	env, err := rc.env(ctx, rec.Cluster)
	if err != nil {
		res.Outcome, res.Err = OutcomeFailed, err
		return
	}
	store := &Store{Client: env.Client}
	j := job.j
	if job.stored[rec.ID] {
		j = nil // its journal does not know it
	}
	if slices.Contains(rc.opts.Forget, rec.ID) {
		res.Outcome, res.Err = OutcomeForgotten, forget(ctx, j, store, rec)
		if res.Err != nil {
			res.Outcome = OutcomeFailed
		}
		return
	}
	res.Outcome = OutcomeReverted
	if d, ok := action.(fault.Drill); ok {
		if next, policy := resume(d.Phases(rec), rs.Phase, rs.PhaseDone); next == len(d.Phases(rec)) || policy == fault.RollForward {
			res.Outcome = OutcomeFinished
		}
	}
	// A record being settled is finished even after a Ctrl-C (half a revert is
	// worse than none); the loop stops before the next one.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), rc.opts.Timeout)
	defer cancel()
	err = Settle(sctx, env, j, store, rs, rc.opts.Logf)
	var stopped *fault.StoppedError
	switch {
	case errors.As(err, &stopped):
		res.Outcome, res.Err = OutcomeStopped, stopped
	case err != nil:
		res.Outcome, res.Err = OutcomeFailed, err
	}
}

// forget marks a record settled by hand: journaled as reverted, its stored copy
// deleted; the cluster is not touched.
func forget(ctx context.Context, j *journal.Journal, store *Store, rec fault.Record) error {
	var errs []error
	if j != nil {
		errs = append(errs, j.Reverted(rec.ID))
	}
	errs = append(errs, store.Delete(context.WithoutCancel(ctx), rec.ID))
	return errors.Join(errs...)
}

// cleanUp frees what the dead runs it settled still hold in each cluster: the run
// lease (a killed run never releases it) and whatever CleanUpRun removes. A run
// with a record left in a cluster keeps its lease there, so no other run starts on
// a cluster that still has its faults.
func (rc *recoverer) cleanUp(ctx context.Context) {
	keys := make([][2]string, 0, len(rc.settled))
	for key := range rc.settled {
		keys = append(keys, key)
	}
	slices.SortFunc(keys, func(a, b [2]string) int {
		if a[0] != b[0] {
			return cmp.Compare(a[0], b[0])
		}
		return cmp.Compare(a[1], b[1])
	})
	for _, key := range keys {
		cluster, runID := key[0], key[1]
		if rc.left[key] || rc.runs[runID] != nil && rc.runs[runID].live != nil || ctx.Err() != nil {
			continue
		}
		env, err := rc.env(ctx, cluster)
		if err != nil {
			continue
		}
		cctx, cancel := context.WithTimeout(ctx, time.Minute)
		ns, name := rc.opts.Lease.where()
		broke, err := lease.BreakForRun(cctx, env.Client, runID, lease.WithNamespace(ns), lease.WithName(name))
		switch {
		case err != nil:
			rc.problem("could not free the lease of run %s in cluster %s: %v", runID, cluster, err)
		case broke:
			rc.rep.Released = append(rc.rep.Released, ReleasedLease{Cluster: cluster, RunID: runID})
		}
		if rc.opts.CleanUpRun != nil {
			if err := rc.opts.CleanUpRun(cctx, env, runID); err != nil {
				rc.logf("could not clean up after run %s in cluster %s: %v", runID, cluster, err)
			}
		}
		cancel()
	}
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
