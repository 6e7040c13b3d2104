package lifecycle_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/gameday-dev/gameday/clusters"
	"github.com/gameday-dev/gameday/framework/fault"
	"github.com/gameday-dev/gameday/framework/journal"
	"github.com/gameday-dev/gameday/framework/lease"
	"github.com/gameday-dev/gameday/framework/lifecycle"
	"github.com/gameday-dev/gameday/framework/scenario"
)

// Action kinds only these tests register. Each records its calls per run ID, so
// tests with distinct run IDs can run in parallel.
const (
	testFaultKind = "recoverTestFault"
	testDrillKind = "recoverTestDrill"
)

var calls = &callLog{byRun: map[string][]string{}}

type callLog struct {
	mu     sync.Mutex
	byRun  map[string][]string
	failOn map[string]bool
}

func (c *callLog) add(runID, call string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.byRun[runID] = append(c.byRun[runID], call)
}

func (c *callLog) of(runID string) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.byRun[runID]...)
}

func init() {
	fault.Register(testFaultKind, func(scenario.FaultSpec) (fault.Action, error) { return testFault{}, nil })
	fault.Register(testDrillKind, func(scenario.FaultSpec) (fault.Action, error) { return testDrill{}, nil })
}

// testFault is a fault that only records what is done to it.
type testFault struct{}

func (testFault) Plan(context.Context, fault.Env) ([]fault.Record, error) { return nil, nil }
func (testFault) Inject(context.Context, fault.Env, fault.Record) error   { return nil }
func (testFault) Describe(rec fault.Record) string                        { return "break " + rec.Target }
func (testFault) Recover(_ context.Context, _ fault.Env, rec fault.Record) error {
	calls.add(rec.RunID, "recover "+rec.Target)
	return nil
}

// testDrill has three phases, one per crash policy: prepare (revert), migrate
// (roll forward), cutover (stop).
type testDrill struct{}

func (testDrill) Plan(context.Context, fault.Env) ([]fault.Record, error) { return nil, nil }
func (testDrill) Describe(rec fault.Record) string                        { return "drill " + rec.Target }
func (testDrill) Recover(_ context.Context, _ fault.Env, rec fault.Record) error {
	calls.add(rec.RunID, "undo "+rec.Target)
	return nil
}

func (testDrill) Phases(fault.Record) []fault.Phase {
	phase := func(name string, policy fault.CrashPolicy) fault.Phase {
		return fault.Phase{Name: name, OnCrash: policy, Run: func(_ context.Context, _ fault.Env, rec *fault.Record) error {
			calls.add(rec.RunID, "phase "+name+" from "+rec.Restore["checkpoint"])
			rec.Restore = map[string]string{"checkpoint": "after-" + name}
			return nil
		}}
	}
	return []fault.Phase{phase("prepare", fault.Revert), phase("migrate", fault.RollForward), phase("cutover", fault.Stop)}
}

const testCluster = "kind-recover"

// bed is one test's cluster (a fake clientset) and runs folder.
type bed struct {
	t      *testing.T
	client *fake.Clientset
	runs   string
	store  *lifecycle.Store
}

func newBed(t *testing.T) *bed {
	client := fake.NewClientset()
	return &bed{t: t, client: client, runs: t.TempDir(), store: &lifecycle.Store{Client: client}}
}

func (b *bed) options() lifecycle.RecoverOptions {
	return lifecycle.RecoverOptions{
		RunsDir:  b.runs,
		Clusters: []string{testCluster},
		Connect: func(_ context.Context, name string) (fault.Env, error) {
			if name != testCluster {
				return fault.Env{}, fmt.Errorf("no cluster %s", name)
			}
			return fault.Env{Cluster: &clusters.Cluster{Name: name}, Client: b.client}, nil
		},
		// The lease holders of these tests run on "here"; pid 4242 is alive.
		Lease: lifecycle.LeaseCheck{
			Hostname:     func() (string, error) { return "here", nil },
			ProcessAlive: func(pid int) bool { return pid == 4242 },
		},
	}
}

func testRecord(kind, runID, target string) fault.Record {
	return fault.Record{
		ID: fault.RecordID(runID, "step", target), Kind: kind, RunID: runID, Step: "step",
		Cluster: testCluster, Target: target, PlannedAt: time.Now().UTC(),
	}
}

// journalRun writes a run's journal with recs planned and injected, stores them
// in the cluster, and returns the journal (open, not locked).
func (b *bed) journalRun(runID string, recs ...fault.Record) *journal.Journal {
	j, err := journal.Open(filepath.Join(b.runs, runID))
	assert.NilError(b.t, err)
	for _, rec := range recs {
		assert.NilError(b.t, j.Planned(rec))
		assert.NilError(b.t, b.store.Save(context.Background(), rec))
		if rec.Kind == testFaultKind {
			assert.NilError(b.t, j.Injected(rec.ID))
		}
	}
	return j
}

// holdLease writes the cluster's run lease, held by runID on host with pid,
// renewed renewedAgo ago.
func (b *bed) holdLease(runID, host string, pid int, renewedAgo time.Duration) {
	identity := fmt.Sprintf("alice@%s pid %d, run %s, scenario test", host, pid, runID)
	renewed := metav1.NewMicroTime(time.Now().Add(-renewedAgo))
	acquired := metav1.NewMicroTime(time.Now().Add(-renewedAgo - time.Minute))
	seconds := int32(60)
	_, err := b.client.CoordinationV1().Leases(lease.DefaultNamespace).Create(context.Background(), &coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{Name: lease.DefaultName, Namespace: lease.DefaultNamespace},
		Spec: coordinationv1.LeaseSpec{HolderIdentity: &identity, AcquireTime: &acquired, RenewTime: &renewed,
			LeaseDurationSeconds: &seconds},
	}, metav1.CreateOptions{})
	assert.NilError(b.t, err)
}

func (b *bed) leaseHolder() string {
	l, err := b.client.CoordinationV1().Leases(lease.DefaultNamespace).Get(context.Background(), lease.DefaultName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return ""
	}
	assert.NilError(b.t, err)
	return *l.Spec.HolderIdentity
}

func (b *bed) storedIDs() []string {
	recs, err := b.store.List(context.Background())
	assert.NilError(b.t, err)
	var ids []string
	for _, r := range recs {
		ids = append(ids, r.ID)
	}
	return ids
}

func outstanding(t *testing.T, dir string) []fault.Record {
	state, err := journal.Read(filepath.Join(dir, journal.FileName))
	assert.NilError(t, err)
	return state.Outstanding()
}

func outcomes(rep *lifecycle.RecoverReport) []string {
	var out []string
	for _, r := range rep.Results {
		out = append(out, string(r.Outcome)+" "+r.Record.Target)
	}
	return out
}

func TestRecoverSettlesDeadRuns(t *testing.T) {
	t.Parallel()
	b := newBed(t)
	run := "dead-run"
	j := b.journalRun(run, testRecord(testFaultKind, run, "node/a"), testRecord(testFaultKind, run, "node/b"))
	assert.NilError(t, j.Close()) // the run is gone: its lock is free
	// Killed a moment ago on this host: its lease is fresh, but its process is gone.
	b.holdLease(run, "here", 999, time.Second)
	var cleaned []string
	opts := b.options()
	opts.CleanUpRun = func(_ context.Context, _ fault.Env, runID string) error {
		cleaned = append(cleaned, runID)
		return nil
	}

	rep, err := lifecycle.Recover(context.Background(), opts)
	assert.NilError(t, err)
	assert.DeepEqual(t, outcomes(rep), []string{"reverted node/b", "reverted node/a"})
	assert.DeepEqual(t, calls.of(run), []string{"recover node/b", "recover node/a"})
	assert.Check(t, is.Len(rep.Live, 0))
	assert.Check(t, rep.Clean())
	assert.Check(t, is.Len(outstanding(t, filepath.Join(b.runs, run)), 0))
	assert.Check(t, is.Len(b.storedIDs(), 0), "stored records left")
	assert.Check(t, is.Equal(b.leaseHolder(), ""), "the dead run's lease is freed")
	assert.DeepEqual(t, rep.Released, []lifecycle.ReleasedLease{{Cluster: testCluster, RunID: run}})
	assert.DeepEqual(t, cleaned, []string{run})

	// A second pass has nothing to do.
	rep, err = lifecycle.Recover(context.Background(), opts)
	assert.NilError(t, err)
	assert.Check(t, rep.Empty())
}

func TestRecoverSkipsRunWithHeldJournalLock(t *testing.T) {
	t.Parallel()
	for _, includeLive := range []bool{false, true} {
		t.Run(fmt.Sprintf("includeLive=%v", includeLive), func(t *testing.T) {
			t.Parallel()
			b := newBed(t)
			run := fmt.Sprintf("live-run-%v", includeLive)
			j := b.journalRun(run, testRecord(testFaultKind, run, "node/live"))
			defer j.Close()
			assert.NilError(t, j.Lock(context.Background())) // the run is still going
			b.holdLease(run, "here", 4242, time.Second)
			opts := b.options()
			opts.IncludeLive = includeLive

			rep, err := lifecycle.Recover(context.Background(), opts)
			assert.NilError(t, err)
			assert.Assert(t, is.Len(rep.Live, 1))
			live := rep.Live[0]
			assert.Check(t, is.Equal(live.RunID, run))
			assert.Check(t, is.Equal(live.By, lifecycle.LiveByJournalLock))
			host, _ := os.Hostname()
			assert.Check(t, is.Contains(live.Holder, fmt.Sprintf("pid %d on %s since ", os.Getpid(), host)))
			assert.Check(t, time.Since(live.Since) < time.Minute, "since %s", live.Since)
			assert.Check(t, is.Equal(live.Included, includeLive))
			assert.Check(t, is.Equal(b.leaseHolder(), "alice@here pid 4242, run "+run+", scenario test"), "a live run's lease is never broken")
			assert.Check(t, is.Len(rep.Released, 0))
			if !includeLive {
				forget := opts
				forget.Forget = []string{fault.RecordID(run, "step", "node/live")}
				_, err := lifecycle.Recover(context.Background(), forget)
				assert.Check(t, errors.Is(err, lifecycle.ErrInvalidRecover) && strings.Contains(fmt.Sprint(err), "which is live"), "forgetting a live run's record: %v", err)
				assert.Check(t, is.Len(rep.Results, 0))
				assert.Check(t, is.Len(calls.of(run), 0), "nothing reverted")
				assert.Check(t, is.Len(outstanding(t, filepath.Join(b.runs, run)), 1))
				assert.Check(t, is.Len(b.storedIDs(), 1))
				assert.Check(t, is.Equal(rep.LiveLeft(), 1))
				assert.Check(t, rep.Clean(), "a live run's records are not a failure")
				return
			}
			assert.DeepEqual(t, outcomes(rep), []string{"reverted node/live"})
			assert.Check(t, rep.Results[0].Live)
			assert.DeepEqual(t, calls.of(run), []string{"recover node/live"})
			assert.Check(t, is.Len(outstanding(t, filepath.Join(b.runs, run)), 0))
			assert.Check(t, is.Len(b.storedIDs(), 0))
		})
	}
}

func TestRecoverStoredRecordsByLease(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name       string
		host       string
		pid        int
		renewedAgo time.Duration
		wantLive   bool
	}{
		{name: "fresh lease on another host", host: "elsewhere", pid: 1, renewedAgo: 10 * time.Second, wantLive: true},
		{name: "fresh lease of a live process here", host: "here", pid: 4242, renewedAgo: 10 * time.Second, wantLive: true},
		{name: "expired lease", host: "elsewhere", pid: 1, renewedAgo: 61 * time.Second},
		{name: "fresh lease of a process gone from here", host: "here", pid: 999, renewedAgo: time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := newBed(t)
			run := "stored-" + strings.ReplaceAll(tc.name, " ", "-")
			rec := testRecord(testFaultKind, run, "node/stored")
			assert.NilError(t, b.store.Save(context.Background(), rec)) // no journal: lost
			b.holdLease(run, tc.host, tc.pid, tc.renewedAgo)
			holder := b.leaseHolder()

			rep, err := lifecycle.Recover(context.Background(), b.options())
			assert.NilError(t, err)
			if tc.wantLive {
				assert.Assert(t, is.Len(rep.Live, 1))
				assert.Check(t, is.Equal(rep.Live[0].By, lifecycle.LiveByLease))
				assert.Check(t, is.Equal(rep.Live[0].Holder, holder))
				assert.Check(t, is.Equal(rep.Live[0].Cluster, testCluster))
				assert.Check(t, !rep.Live[0].Since.IsZero() && !rep.Live[0].Renewed.IsZero())
				assert.Check(t, is.Len(rep.Results, 0))
				assert.Check(t, is.Len(calls.of(run), 0))
				assert.Check(t, is.DeepEqual(b.storedIDs(), []string{rec.ID}))
				assert.Check(t, is.Equal(b.leaseHolder(), holder), "lease untouched")
				return
			}
			assert.Check(t, is.Len(rep.Live, 0))
			assert.DeepEqual(t, outcomes(rep), []string{"reverted node/stored"})
			assert.Check(t, is.Contains(rep.Results[0].Where, "found in the cluster store"))
			assert.DeepEqual(t, calls.of(run), []string{"recover node/stored"})
			assert.Check(t, is.Len(b.storedIDs(), 0))
			assert.Check(t, is.Equal(b.leaseHolder(), ""), "the dead run's lease is freed")
		})
	}
}

// drillJournal writes a drill record's journal up to phase (started, not done).
func (b *bed) drillJournal(run, phase string) (fault.Record, *journal.Journal) {
	rec := testRecord(testDrillKind, run, "db/shop")
	j := b.journalRun(run, rec)
	for _, p := range (testDrill{}).Phases(rec) {
		assert.NilError(b.t, j.PhaseStarted(rec, p.Name))
		if p.Name == phase {
			break
		}
		rec.Restore = map[string]string{"checkpoint": "after-" + p.Name}
		assert.NilError(b.t, j.PhaseDone(rec, p.Name))
		assert.NilError(b.t, b.store.Save(context.Background(), rec))
	}
	return rec, j
}

func TestRecoverStoppedDrillAndForget(t *testing.T) {
	t.Parallel()
	b := newBed(t)
	run := "drill-stopped"
	rec, j := b.drillJournal(run, "cutover")
	assert.NilError(t, j.Close())
	state, err := journal.Read(filepath.Join(b.runs, run, journal.FileName))
	assert.NilError(t, err)
	rs, _ := state.Lookup(rec.ID)

	rep, err := lifecycle.Recover(context.Background(), b.options())
	assert.NilError(t, err)
	assert.DeepEqual(t, outcomes(rep), []string{"stopped db/shop"})
	var stopped *fault.StoppedError
	assert.Assert(t, errors.As(rep.Results[0].Err, &stopped))
	assert.Check(t, is.Equal(stopped.Phase, "cutover"))
	assert.Check(t, stopped.Since.Equal(rs.PhaseAt), "since %s, want %s", stopped.Since, rs.PhaseAt)
	assert.Check(t, is.Contains(stopped.Error(), "gameday recover --forget "+rec.ID))
	assert.Check(t, !rep.Clean())
	assert.Check(t, is.Len(calls.of(run), 0), "a stopped drill is neither undone nor redone")
	assert.Check(t, is.Len(outstanding(t, filepath.Join(b.runs, run)), 1))
	assert.Check(t, is.Len(b.storedIDs(), 1))

	// An unknown ID is refused before anything is done.
	opts := b.options()
	opts.Forget = []string{"no-such-record"}
	_, err = lifecycle.Recover(context.Background(), opts)
	assert.Check(t, errors.Is(err, lifecycle.ErrInvalidRecover), "%v", err)
	assert.Check(t, is.Len(outstanding(t, filepath.Join(b.runs, run)), 1))

	// Finished by hand: forget it.
	opts.Forget = []string{rec.ID}
	rep, err = lifecycle.Recover(context.Background(), opts)
	assert.NilError(t, err)
	assert.DeepEqual(t, outcomes(rep), []string{"forgotten db/shop"})
	assert.Check(t, rep.Clean())
	assert.Check(t, is.Len(calls.of(run), 0), "forget touches nothing in the cluster")
	assert.Check(t, is.Len(outstanding(t, filepath.Join(b.runs, run)), 0))
	assert.Check(t, is.Len(b.storedIDs(), 0))
	state, err = journal.Read(filepath.Join(b.runs, run, journal.FileName))
	assert.NilError(t, err)
	rs, _ = state.Lookup(rec.ID)
	assert.Check(t, is.Equal(rs.Last, journal.OpReverted))
}

func TestRecoverRollsDrillForward(t *testing.T) {
	t.Parallel()
	b := newBed(t)
	run := "drill-rolled"
	_, j := b.drillJournal(run, "migrate") // crashed in the middle of migrate
	assert.NilError(t, j.Close())

	rep, err := lifecycle.Recover(context.Background(), b.options())
	assert.NilError(t, err)
	assert.DeepEqual(t, outcomes(rep), []string{"finished db/shop"})
	// migrate again from the checkpoint prepare left, then the rest.
	assert.DeepEqual(t, calls.of(run), []string{"phase migrate from after-prepare", "phase cutover from after-migrate"})
	assert.Check(t, rep.Clean())
	assert.Check(t, is.Len(outstanding(t, filepath.Join(b.runs, run)), 0))
	assert.Check(t, is.Len(b.storedIDs(), 0))
}

func TestRecoverRevertsDrillStoppedInARevertPhase(t *testing.T) {
	t.Parallel()
	b := newBed(t)
	run := "drill-reverted"
	_, j := b.drillJournal(run, "prepare")
	assert.NilError(t, j.Close())

	rep, err := lifecycle.Recover(context.Background(), b.options())
	assert.NilError(t, err)
	assert.DeepEqual(t, outcomes(rep), []string{"reverted db/shop"})
	assert.DeepEqual(t, calls.of(run), []string{"undo db/shop"})
}

func TestRecoverOnlyTheNamedCluster(t *testing.T) {
	t.Parallel()
	b := newBed(t)
	run := "other-cluster"
	rec := testRecord(testFaultKind, run, "node/far")
	rec.Cluster = "staging"
	j, err := journal.Open(filepath.Join(b.runs, run))
	assert.NilError(t, err)
	assert.NilError(t, j.Planned(rec))
	assert.NilError(t, j.Close())
	opts := b.options()
	opts.Cluster = testCluster

	rep, err := lifecycle.Recover(context.Background(), opts)
	assert.NilError(t, err)
	assert.DeepEqual(t, outcomes(rep), []string{"skipped node/far"})
	assert.Check(t, is.Len(calls.of(run), 0))
	assert.Check(t, is.Len(outstanding(t, filepath.Join(b.runs, run)), 1))
}

func TestRecoverStoredRecordsNewestFirst(t *testing.T) {
	t.Parallel()
	b := newBed(t)
	run := "stored-order"
	first := testRecord(testFaultKind, run, "node/first")
	second := testRecord(testFaultKind, run, "node/second")
	second.PlannedAt = first.PlannedAt.Add(time.Second)
	for _, rec := range []fault.Record{second, first} {
		assert.NilError(t, b.store.Save(context.Background(), rec))
	}

	rep, err := lifecycle.Recover(context.Background(), b.options())
	assert.NilError(t, err)
	assert.DeepEqual(t, outcomes(rep), []string{"reverted node/second", "reverted node/first"})
}

// An e2e session takes no lease: its stored records name their holder process,
// and recover leaves them alone while that process lives (or runs elsewhere).
func TestRecoverStoredRecordsByHolder(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, host string
		pid        int
		wantLive   bool
	}{
		{name: "holder alive here", host: "here", pid: 4242, wantLive: true},
		{name: "holder on another host", host: "elsewhere", pid: 1, wantLive: true},
		{name: "holder gone from here", host: "here", pid: 999},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := newBed(t)
			run := "e2e-" + strings.ReplaceAll(tc.name, " ", "-")
			rec := testRecord(testFaultKind, run, "node/e2e")
			store := &lifecycle.Store{Client: b.client, Holder: fmt.Sprintf("bob@%s pid %d, run %s, scenario e2e", tc.host, tc.pid, run)}
			assert.NilError(t, store.Save(context.Background(), rec))

			rep, err := lifecycle.Recover(context.Background(), b.options())
			assert.NilError(t, err)
			if tc.wantLive {
				assert.Assert(t, is.Len(rep.Live, 1))
				assert.Check(t, is.Equal(rep.Live[0].By, lifecycle.LiveByHolder))
				assert.Check(t, is.Len(calls.of(run), 0))
				assert.Check(t, is.DeepEqual(b.storedIDs(), []string{rec.ID}))
				return
			}
			assert.Check(t, is.Len(rep.Live, 0))
			assert.DeepEqual(t, calls.of(run), []string{"recover node/e2e"})
			assert.Check(t, is.Len(b.storedIDs(), 0))
		})
	}
}
