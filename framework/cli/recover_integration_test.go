package cli_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/gameday-dev/gameday/framework/journal"
	"github.com/gameday-dev/gameday/framework/lease"
	"github.com/gameday-dev/gameday/reports"
)

// liveRunScenario holds a CoreDNS scale-down for a minute: long enough for a
// recover to run in the middle of it.
const liveRunScenario = `apiVersion: gameday.dev/v1alpha1
kind: Scenario
metadata:
  name: recover-live
spec:
  cluster:
    kind: {name: %s, config: %s/clusters/kind/1cp-2w.yaml, reuse: true, keep: true}
  fixtures:
    - path: %s/fixtures/workload
  slos:
    - name: http
      objective: 0.5
      probe:
        http: {service: gameday-workload/workload, port: 80, path: /healthz}
  steps:
    - name: steady
      steadyState: {duration: 2s}
    - name: fault
      duration: 60s
      fault:
        dnsOutage: {mode: scaleDown}
`

// TestIntegrationRecoverSkipsLiveRun starts a real `gameday run` that holds CoreDNS
// at zero replicas for a minute and, while the fault is in place, runs `gameday
// recover` with no flags from the same folder. Recover must name the live run and
// its holder and exit 0, CoreDNS must stay scaled to zero, the run's lease must
// stay held, and the run must then finish on its own, its report not aborted.
func TestIntegrationRecoverSkipsLiveRun(t *testing.T) {
	bin := gamedayBinary(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	root, err := filepath.Abs("../..")
	assert.NilError(t, err)
	_, client := sharedCluster(ctx, t)

	dir := t.TempDir()
	scenarioPath := filepath.Join(dir, "scenario.yaml")
	assert.NilError(t, os.WriteFile(scenarioPath, []byte(fmt.Sprintf(liveRunScenario, crashCluster, root, root)), 0o644))
	var out bytes.Buffer
	run := exec.Command(bin, "run", scenarioPath) // runs/ under dir, recover's default
	run.Dir = dir
	run.Stdout, run.Stderr = &out, &out
	run.Env = append(os.Environ(), "CI=true")
	run.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	assert.NilError(t, run.Start())
	exited := make(chan error, 1)
	go func() { exited <- run.Wait() }()
	finished := false
	defer func() {
		if !finished { // a failed assertion: let the run revert its fault and go
			_ = syscall.Kill(run.Process.Pid, syscall.SIGINT)
			select {
			case <-exited:
			case <-time.After(4 * time.Minute):
				_ = syscall.Kill(-run.Process.Pid, syscall.SIGKILL)
			}
		}
	}()

	journalPath := waitForJournal(ctx, t, filepath.Join(dir, "runs"), `"op":"injected"`, exited, &out)
	runID := filepath.Base(filepath.Dir(journalPath))
	dnsReplicas := func() int32 {
		dep, err := client.AppsV1().Deployments("kube-system").Get(ctx, "coredns", metav1.GetOptions{})
		assert.NilError(t, err)
		return *dep.Spec.Replicas
	}
	assert.Equal(t, dnsReplicas(), int32(0), "the fault is in place before recover")

	rec := exec.Command(bin, "recover")
	rec.Dir = dir
	recOut, err := rec.CombinedOutput()
	t.Logf("gameday recover during the run:\n%s", recOut)
	assert.NilError(t, err, "recover exits 0 when only live runs have records")
	host, _ := os.Hostname()
	assert.Check(t, is.Contains(string(recOut), "live      run "+runID+" "))
	assert.Check(t, is.Contains(string(recOut), fmt.Sprintf("its journal is locked by pid %d on %s since ", run.Process.Pid, host)))
	assert.Check(t, !strings.Contains(string(recOut), "reverted  "), "recover reverted something")
	assert.Check(t, !strings.Contains(string(recOut), "released  "), "recover released a lease")

	// The fault is still in place, and the run still holds the cluster.
	assert.Check(t, is.Equal(dnsReplicas(), int32(0)), "recover reverted the live run's fault")
	l, err := client.CoordinationV1().Leases(lease.DefaultNamespace).Get(ctx, lease.DefaultName, metav1.GetOptions{})
	assert.NilError(t, err, "the live run's lease is gone")
	assert.Check(t, is.Contains(*l.Spec.HolderIdentity, ", run "+runID+","))

	select {
	case err = <-exited:
		finished = true
	case <-time.After(5 * time.Minute):
		t.Fatalf("gameday run did not finish:\n%s", out.String())
	}
	t.Logf("gameday run output:\n%s", tail(out.String(), 30))
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		assert.Check(t, exit.ExitCode() != 4 && exit.ExitCode() != 3, "run exit code %d", exit.ExitCode())
	} else {
		assert.NilError(t, err)
	}
	rep, err := reports.Load(filepath.Join(filepath.Dir(journalPath), reports.JSONFile))
	assert.NilError(t, err)
	assert.Check(t, rep.Outcome != reports.OutcomeAborted, "report aborted: %s", rep.AbortReason)
	state, err := journal.Read(journalPath)
	assert.NilError(t, err)
	assert.Check(t, is.Len(state.Outstanding(), 0), "the run reverted its own fault")
	assert.Check(t, dnsReplicas() > 0, "CoreDNS back")
}
