package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/gameday-dev/gameday/clusters"
	"github.com/gameday-dev/gameday/framework/fault"
	"github.com/gameday-dev/gameday/framework/journal"
	"github.com/gameday-dev/gameday/framework/lifecycle"
	"github.com/gameday-dev/gameday/framework/scenario"
)

// Action kinds that only this package's tests register.
const (
	testFaultKind = "cliTestFault"
	testDrillKind = "cliTestDrill"
)

// testActions records what recover did, per run ID; failOn makes a record's
// recovery fail.
type testActions struct {
	mu     sync.Mutex
	calls  map[string][]string
	failOn map[string]bool
}

var testFaults = &testActions{calls: map[string][]string{}, failOn: map[string]bool{}}

func init() {
	fault.Register(testFaultKind, func(scenario.FaultSpec) (fault.Action, error) { return testFaults, nil })
	fault.Register(testDrillKind, func(scenario.FaultSpec) (fault.Action, error) { return testDrill{testFaults}, nil })
}

func (in *testActions) Plan(context.Context, fault.Env) ([]fault.Record, error) { return nil, nil }
func (in *testActions) Inject(context.Context, fault.Env, fault.Record) error   { return nil }
func (in *testActions) Describe(rec fault.Record) string                        { return "break " + rec.Target }

func (in *testActions) Recover(_ context.Context, _ fault.Env, rec fault.Record) error {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.failOn[rec.ID] {
		return errors.New("node is gone")
	}
	in.calls[rec.RunID] = append(in.calls[rec.RunID], "recover "+rec.Target)
	return nil
}

func (in *testActions) of(runID string) []string {
	in.mu.Lock()
	defer in.mu.Unlock()
	return append([]string(nil), in.calls[runID]...)
}

// testDrill is a drill whose only phase must not be undone or redone.
type testDrill struct{ *testActions }

func (testDrill) Describe(rec fault.Record) string { return "drill " + rec.Target }
func (testDrill) Phases(fault.Record) []fault.Phase {
	return []fault.Phase{{Name: "cutover", OnCrash: fault.Stop, Run: func(context.Context, fault.Env, *fault.Record) error { return nil }}}
}

// recoverApp is an app whose kind clusters are fakes sharing one clientset.
func recoverApp(out, errOut *syncBuffer, client *fake.Clientset, kindClusters ...string) *app {
	return &app{stdout: out, stderr: errOut, getenv: noEnv,
		listKind: func() ([]string, error) { return kindClusters, nil },
		kindEnv: func(_ context.Context, name string) (*fault.Env, error) {
			return &fault.Env{Cluster: &clusters.Cluster{Name: name, Provider: "kind"}, Client: client}, nil
		},
	}
}

func record(kind, cluster, runID, target string) fault.Record {
	return fault.Record{
		ID: fault.RecordID(runID, "step", target), Kind: kind, RunID: runID, Step: "step",
		Cluster: cluster, Target: target, PlannedAt: time.Now().UTC(),
	}
}

// runRecover runs `gameday recover --runs-dir runs ARGS...` against client.
func runRecover(t *testing.T, client *fake.Clientset, cluster, runs string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut syncBuffer
	code := recoverApp(&out, &errOut, client, cluster).run(context.Background(), append([]string{"recover", "--runs-dir", runs}, args...))
	return code, out.String(), errOut.String()
}

func TestRecoverRevertsJournalsAndStoresOnce(t *testing.T) {
	// Not parallel: the recover tests share testFaults.
	cluster, client, runs := "recover-once", fake.NewClientset(), t.TempDir()
	store := &lifecycle.Store{Client: client}
	runDir := filepath.Join(runs, "run-a")
	j, err := journal.Open(runDir)
	assert.NilError(t, err)
	injected := record(testFaultKind, cluster, "run-a", "node/a-worker")
	reverted := record(testFaultKind, cluster, "run-a", "node/a-worker2")
	for _, rec := range []fault.Record{injected, reverted} {
		assert.NilError(t, j.Planned(rec))
		assert.NilError(t, j.Injected(rec.ID))
	}
	assert.NilError(t, j.Reverted(reverted.ID))
	assert.NilError(t, j.Close())
	storeOnly := record(testFaultKind, cluster, "run-lost", "node/b-worker")
	for _, rec := range []fault.Record{injected, storeOnly} {
		assert.NilError(t, store.Save(context.Background(), rec))
	}

	code, out, errOut := runRecover(t, client, cluster, runs)
	assert.Equal(t, code, ExitOK, "stdout: %s\nstderr: %s", out, errOut)
	assert.Check(t, is.Contains(out, "reverted  break node/a-worker (run run-a, step step, cluster "+cluster+")\n"))
	assert.Check(t, is.Contains(out, "reverted  break node/b-worker (run run-lost, step step, cluster "+cluster+", found in the cluster store)\n"))
	assert.Check(t, is.Contains(out, "reverted 2 faults\n"))
	recs, err := store.List(context.Background())
	assert.NilError(t, err)
	assert.Check(t, is.Len(recs, 0), "stored records left")

	// A second recover has nothing to do.
	code, out, _ = runRecover(t, client, cluster, runs)
	assert.Equal(t, code, ExitOK)
	assert.Equal(t, out, "nothing to recover\n")
}

func TestRecoverNamesLiveRunAndLeavesIt(t *testing.T) {
	cluster, client, runs := "recover-live", fake.NewClientset(), t.TempDir()
	runDir := filepath.Join(runs, "run-live")
	j, err := journal.Open(runDir)
	assert.NilError(t, err)
	defer j.Close()
	rec := record(testFaultKind, cluster, "run-live", "node/live-worker")
	assert.NilError(t, j.Planned(rec))
	assert.NilError(t, j.Lock(context.Background()))

	done := make(chan struct{})
	var code int
	var out, errOut string
	go func() {
		defer close(done)
		code, out, errOut = runRecover(t, client, cluster, runs)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("recover waited for the live run's journal lock")
	}
	assert.Equal(t, code, ExitOK, "stdout: %s\nstderr: %s", out, errOut)
	host, _ := os.Hostname()
	assert.Check(t, is.Contains(out, fmt.Sprintf("live      run run-live (%s): 1 record left in place; its journal is locked by pid %d on %s since ", runDir, os.Getpid(), host)))
	assert.Check(t, is.Contains(out, "reverted 0 faults, 1 left to live runs\n"))
	assert.Check(t, is.Len(testFaults.of("run-live"), 0))

	code, out, errOut = runRecover(t, client, cluster, runs, "--include-live")
	assert.Equal(t, code, ExitOK, "stdout: %s\nstderr: %s", out, errOut)
	assert.Check(t, is.Contains(out, "reverting its 1 record anyway (--include-live)"))
	assert.Check(t, is.Contains(out, "reverted  break node/live-worker (run run-live, step step, cluster "+cluster+", live run)\n"))
	assert.Check(t, is.Contains(errOut, "--include-live"))
	assert.DeepEqual(t, testFaults.of("run-live"), []string{"recover node/live-worker"})
}

func TestRecoverFailureIsRecordedAndExitsThree(t *testing.T) {
	cluster, runs := "recover-fails", t.TempDir()
	runDir := filepath.Join(runs, "run-b")
	j, err := journal.Open(runDir)
	assert.NilError(t, err)
	rec := record(testFaultKind, cluster, "run-b", "node/b-worker")
	assert.NilError(t, j.Planned(rec))
	assert.NilError(t, j.Close())
	testFaults.mu.Lock()
	testFaults.failOn[rec.ID] = true
	testFaults.mu.Unlock()

	code, out, _ := runRecover(t, fake.NewClientset(), cluster, runs)
	assert.Equal(t, code, ExitInfrastructure)
	assert.Check(t, is.Contains(out, "FAILED    run run-b, step step, cluster "+cluster+": break node/b-worker: node is gone\n"))
	assert.Check(t, is.Contains(out, "reverted 0 faults, 1 failed\n"))

	state, err := journal.Read(filepath.Join(runDir, journal.FileName))
	assert.NilError(t, err)
	rs, ok := state.Lookup(rec.ID)
	assert.Assert(t, ok)
	assert.Equal(t, rs.Last, journal.OpRecoverFailed)
	assert.DeepEqual(t, rs.Failures, []string{"node is gone"})
}

func TestRecoverStoppedDrillThenForget(t *testing.T) {
	cluster, client, runs := "recover-drill", fake.NewClientset(), t.TempDir()
	j, err := journal.Open(filepath.Join(runs, "run-d"))
	assert.NilError(t, err)
	rec := record(testDrillKind, cluster, "run-d", "db/shop")
	assert.NilError(t, j.Planned(rec))
	assert.NilError(t, j.PhaseStarted(rec, "cutover"))
	assert.NilError(t, j.Close())

	code, out, errOut := runRecover(t, client, cluster, runs)
	assert.Equal(t, code, ExitInfrastructure, "stdout: %s\nstderr: %s", out, errOut)
	assert.Check(t, is.Contains(out, "stopped:  drill db/shop (run run-d, step step, cluster "+cluster+"): drill "+testDrillKind+" on db/shop stopped in phase \"cutover\" (started "))
	assert.Check(t, is.Contains(out, "gameday recover --forget "+rec.ID))
	assert.Check(t, is.Contains(out, "reverted 0 faults, 1 stopped\n"))
	assert.Check(t, is.Contains(errOut, "--forget ID"))

	code, _, errOut = runRecover(t, client, cluster, runs, "--forget", "run-d/nothing")
	assert.Equal(t, code, ExitInvalidInput, errOut)

	code, out, errOut = runRecover(t, client, cluster, runs, "--forget", rec.ID)
	assert.Equal(t, code, ExitOK, "stdout: %s\nstderr: %s", out, errOut)
	assert.Check(t, is.Contains(out, "forgot    drill db/shop (run run-d, step step, cluster "+cluster+"): marked settled; the cluster was not touched\n"))
	assert.Check(t, is.Len(testFaults.of("run-d"), 0))

	code, out, _ = runRecover(t, client, cluster, runs)
	assert.Equal(t, code, ExitOK)
	assert.Equal(t, out, "nothing to recover\n")
}

func TestRecoverNeedsAKnownCluster(t *testing.T) {
	runs := t.TempDir()
	j, err := journal.Open(filepath.Join(runs, "run-c"))
	assert.NilError(t, err)
	assert.NilError(t, j.Planned(record(testFaultKind, "staging", "run-c", "node/c-worker")))
	assert.NilError(t, j.Close())

	var out, errOut syncBuffer
	code := recoverApp(&out, &errOut, fake.NewClientset()).run(context.Background(), []string{"recover", "--runs-dir", runs})
	assert.Equal(t, code, ExitInfrastructure)
	assert.Check(t, is.Contains(out.String(), "`gameday recover --kubeconfig PATH --context staging`"))
}

func TestRecoverWithoutRunsFolder(t *testing.T) {
	code, out, errOut := runRecover(t, fake.NewClientset(), "none", filepath.Join(t.TempDir(), "runs"))
	assert.Equal(t, code, ExitOK, errOut)
	assert.Equal(t, out, "nothing to recover\n")
}

func TestRecoverHelpWarnsAboutIncludeLive(t *testing.T) {
	code, out, _ := runCLI(t, "recover", "--help")
	assert.Equal(t, code, ExitOK)
	assert.Check(t, is.Contains(out, "--include-live"))
	assert.Check(t, is.Contains(out, "DANGEROUS"))
	assert.Check(t, is.Contains(out, "--forget"))
}
