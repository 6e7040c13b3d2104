package cli

import (
	"context"
	"errors"
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
	"github.com/gameday-dev/gameday/framework/scenario"
)

// testFaultKind is a fault kind that only this package's tests register.
const testFaultKind = "cliTestFault"

// testInjector reverts records in memory; markers are the records it still holds.
type testInjector struct {
	mu       sync.Mutex
	markers  map[string]fault.Record
	reverted []string
	failOn   map[string]bool
}

var testFaults = &testInjector{markers: map[string]fault.Record{}, failOn: map[string]bool{}}

func init() {
	fault.Register(testFaultKind, func(scenario.FaultSpec) (fault.Injector, error) { return testFaults, nil })
}

func (in *testInjector) Plan(context.Context, fault.Env) ([]fault.Record, error) { return nil, nil }
func (in *testInjector) Inject(context.Context, fault.Env, fault.Record) error   { return nil }

func (in *testInjector) Recover(_ context.Context, _ fault.Env, rec fault.Record) error {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.failOn[rec.ID] {
		return errors.New("node is gone")
	}
	delete(in.markers, rec.ID)
	in.reverted = append(in.reverted, rec.ID)
	return nil
}

func (in *testInjector) Outstanding(_ context.Context, env fault.Env) ([]fault.Record, error) {
	in.mu.Lock()
	defer in.mu.Unlock()
	var recs []fault.Record
	for _, r := range in.markers {
		if r.Cluster == env.Cluster.Name {
			recs = append(recs, r)
		}
	}
	return recs, nil
}

func (in *testInjector) Describe(rec fault.Record) string { return "break " + rec.Target }

// recoverApp is an app whose kind clusters are fakes named like the test.
func recoverApp(out, errOut *syncBuffer, kindClusters ...string) *app {
	return &app{stdout: out, stderr: errOut, getenv: noEnv,
		listKind: func() ([]string, error) { return kindClusters, nil },
		kindEnv: func(_ context.Context, name string) (*fault.Env, error) {
			return &fault.Env{Cluster: &clusters.Cluster{Name: name, Provider: "kind"}, Client: fake.NewClientset()}, nil
		},
	}
}

func record(cluster, runID, target string) fault.Record {
	return fault.Record{
		ID: fault.RecordID(runID, "step", target), Kind: testFaultKind, RunID: runID, Step: "step",
		Cluster: cluster, Target: target, PlannedAt: time.Now().UTC(),
	}
}

func TestRecoverRevertsJournalsAndMarkersOnce(t *testing.T) {
	// Not parallel: it shares testFaults with the other recover tests.
	cluster := "recover-once"
	runs := t.TempDir()
	runDir := filepath.Join(runs, "20260730-120000-node-loss")
	j, err := journal.Open(runDir)
	assert.NilError(t, err)
	injected := record(cluster, "run-a", "node/a-worker")
	reverted := record(cluster, "run-a", "node/a-worker2")
	for _, rec := range []fault.Record{injected, reverted} {
		assert.NilError(t, j.Planned(rec))
		assert.NilError(t, j.Injected(rec.ID))
	}
	assert.NilError(t, j.Reverted(reverted.ID))
	assert.NilError(t, j.Close())

	markerOnly := record(cluster, "run-lost", "node/b-worker")
	testFaults.mu.Lock()
	testFaults.markers[injected.ID] = injected
	testFaults.markers[markerOnly.ID] = markerOnly
	testFaults.mu.Unlock()

	var out, errOut syncBuffer
	code := recoverApp(&out, &errOut, cluster).run(context.Background(), []string{"recover", "--runs-dir", runs})
	assert.Equal(t, code, ExitOK, "stdout: %s\nstderr: %s", out.String(), errOut.String())
	assert.Check(t, is.Contains(out.String(), "reverted  break node/a-worker (run run-a, step step, cluster "+cluster+")"))
	assert.Check(t, is.Contains(out.String(), "reverted  break node/b-worker (run run-lost, step step, cluster "+cluster+", found by its marker)"))
	assert.Check(t, is.Contains(out.String(), "reverted 2 faults"))

	state, err := journal.Read(filepath.Join(runDir, journal.FileName))
	assert.NilError(t, err)
	assert.Check(t, is.Len(state.Outstanding(), 0))

	// A second recover has nothing to do.
	out, errOut = syncBuffer{}, syncBuffer{}
	code = recoverApp(&out, &errOut, cluster).run(context.Background(), []string{"recover", "--runs-dir", runs})
	assert.Equal(t, code, ExitOK)
	assert.Equal(t, out.String(), "nothing to recover\n")
}

func TestRecoverFailureIsRecordedAndExitsThree(t *testing.T) {
	cluster := "recover-fails"
	runs := t.TempDir()
	runDir := filepath.Join(runs, "run-b")
	j, err := journal.Open(runDir)
	assert.NilError(t, err)
	rec := record(cluster, "run-b", "node/b-worker")
	assert.NilError(t, j.Planned(rec))
	assert.NilError(t, j.Close())
	testFaults.mu.Lock()
	testFaults.failOn[rec.ID] = true
	testFaults.mu.Unlock()

	var out, errOut syncBuffer
	code := recoverApp(&out, &errOut, cluster).run(context.Background(), []string{"recover", "--runs-dir", runs})
	assert.Equal(t, code, ExitInfrastructure)
	assert.Check(t, is.Contains(out.String(), "FAILED    run run-b, step step, cluster "+cluster+": break node/b-worker: node is gone"))

	state, err := journal.Read(filepath.Join(runDir, journal.FileName))
	assert.NilError(t, err)
	rs, ok := state.Lookup(rec.ID)
	assert.Assert(t, ok)
	assert.Equal(t, rs.Last, journal.OpRecoverFailed)
	assert.DeepEqual(t, rs.Failures, []string{"node is gone"})
}

func TestRecoverNeedsAKnownCluster(t *testing.T) {
	runs := t.TempDir()
	j, err := journal.Open(filepath.Join(runs, "run-c"))
	assert.NilError(t, err)
	assert.NilError(t, j.Planned(record("staging", "run-c", "node/c-worker")))
	assert.NilError(t, j.Close())

	var out, errOut syncBuffer
	code := recoverApp(&out, &errOut).run(context.Background(), []string{"recover", "--runs-dir", runs})
	assert.Equal(t, code, ExitInfrastructure)
	assert.Check(t, is.Contains(out.String(), "`gameday recover --kubeconfig PATH --context staging`"))
}

func TestRecoverWithoutRunsFolder(t *testing.T) {
	var out, errOut syncBuffer
	code := recoverApp(&out, &errOut).run(context.Background(), []string{"recover", "--runs-dir", filepath.Join(t.TempDir(), "runs")})
	assert.Equal(t, code, ExitOK, errOut.String())
	assert.Equal(t, out.String(), "nothing to recover\n")
}
