package cli_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"

	"github.com/gameday-dev/gameday/clusters"
	"github.com/gameday-dev/gameday/fixtures"
	_ "github.com/gameday-dev/gameday/framework/fault/all"
	"github.com/gameday-dev/gameday/framework/lifecycle"
	"github.com/gameday-dev/gameday/reports"
)

// crashCluster is the kind cluster the crash and signal tests share with the other
// real-cluster tests.
const crashCluster = "gd-e2e"

// crashFaults are the faults of the core issue, as scenario steps held long enough
// to be killed in the middle.
var crashFaults = map[string]string{
	"node-loss":    `nodeLoss: {mode: stop, target: {role: worker, count: 1}}`,
	"node-freeze":  `nodeLoss: {mode: pause, target: {role: worker, count: 1}}`,
	"kubelet-kill": `nodeLoss: {mode: killKubelet, target: {role: worker, count: 1}}`,
	"dns-outage":   `dnsOutage: {mode: scaleDown}`,
	"dns-servfail": `dnsOutage: {mode: servfail, names: [workload.gameday-workload.svc.cluster.local]}`,
}

const crashScenario = `apiVersion: gameday.dev/v1alpha1
kind: Scenario
metadata:
  name: crash-%s
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
      duration: 3m
      fault:
        %s
`

// TestIntegrationCrashRecover kills `gameday run` with SIGKILL at a random moment
// around each fault's injection, then checks that `gameday recover` leaves the
// cluster exactly healthy: nodes Ready, CoreDNS replicas and Corefile identical,
// the workload serving, no marker left, and a second recover finds nothing.
// GAMEDAY_CRASH_TRIALS sets the trials per fault (default 3; `make crash-trials`: 20).
func TestIntegrationCrashRecover(t *testing.T) {
	bin := gamedayBinary(t)
	trials := 3
	if n, err := strconv.Atoi(os.Getenv("GAMEDAY_CRASH_TRIALS")); err == nil && n > 0 {
		trials = n
	}
	faults := []string{"node-loss", "dns-outage"}
	if os.Getenv("GAMEDAY_CRASH_ALL_MODES") != "" {
		faults = []string{"node-loss", "node-freeze", "kubelet-kill", "dns-outage", "dns-servfail"}
	}
	left := 0
	for _, f := range faults {
		for i := range trials {
			t.Run(fmt.Sprintf("%s/%d", f, i+1), func(t *testing.T) {
				if !crashTrial(t, bin, f, syscall.SIGKILL) {
					left++
				}
			})
		}
	}
	t.Logf("crash trials: %d faults x %d trials, faults left behind after recover: %d", len(faults), trials, left)
}

// TestIntegrationInterrupt sends SIGINT during each fault and checks the run reverts
// by itself: exit code 4, an aborted report, a healthy cluster, nothing to recover.
func TestIntegrationInterrupt(t *testing.T) {
	bin := gamedayBinary(t)
	for _, f := range []string{"node-loss", "dns-outage"} {
		t.Run(f, func(t *testing.T) { crashTrial(t, bin, f, syscall.SIGINT) })
	}
}

// crashTrial runs one fault, signals the harness, and checks the cluster is healthy
// afterwards (after `gameday recover` for SIGKILL). It reports whether it was.
func crashTrial(t *testing.T, bin, faultName string, sig syscall.Signal) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	root, err := filepath.Abs("../..")
	assert.NilError(t, err)
	cl, client := sharedCluster(ctx, t)
	before := snapshot(ctx, t, client)

	dir := t.TempDir()
	scenarioPath := filepath.Join(dir, "scenario.yaml")
	yaml := fmt.Sprintf(crashScenario, faultName, crashCluster, root, root, crashFaults[faultName])
	assert.NilError(t, os.WriteFile(scenarioPath, []byte(yaml), 0o644))
	runs := filepath.Join(dir, "runs")
	var out bytes.Buffer
	cmd := exec.Command(bin, "run", "--runs-dir", runs, scenarioPath)
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.Env = append(os.Environ(), "CI=true")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	assert.NilError(t, cmd.Start())
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()

	// A random moment around the injection: from just after the record is journaled
	// (possibly before the cluster changed) to a few seconds into the fault.
	journalPath := waitForJournal(ctx, t, runs, `"op":"planned"`, exited, &out)
	delay := time.Duration(rand.Int64N(int64(4 * time.Second)))
	if sig == syscall.SIGINT {
		waitForJournal(ctx, t, runs, `"op":"injected"`, exited, &out)
		delay = 2 * time.Second
	}
	time.Sleep(delay)
	t.Logf("sending %s %s after the fault was journaled", sig, delay)
	target := -cmd.Process.Pid // the whole process group: the harness has no helpers to leave
	if sig == syscall.SIGINT {
		target = cmd.Process.Pid
	}
	assert.NilError(t, syscall.Kill(target, sig))
	select {
	case err = <-exited:
	case <-time.After(5 * time.Minute):
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		t.Fatalf("gameday run did not exit after %s:\n%s", sig, out.String())
	}
	t.Logf("gameday run output:\n%s", tail(out.String(), 40))

	if sig == syscall.SIGINT {
		var exit *exec.ExitError
		assert.Assert(t, errors.As(err, &exit), "run: %v", err)
		assert.Equal(t, exit.ExitCode(), 4, "exit code after Ctrl-C")
		rep, err := reports.Load(filepath.Join(filepath.Dir(journalPath), reports.JSONFile))
		assert.NilError(t, err)
		assert.Equal(t, rep.Outcome, reports.OutcomeAborted)
	} else {
		rec := exec.Command(bin, "recover", "--runs-dir", runs, "--cluster", crashCluster)
		recOut, err := rec.CombinedOutput()
		t.Logf("gameday recover:\n%s", recOut)
		assert.NilError(t, err, "recover failed")
	}
	healthy := assertHealthy(ctx, t, cl, client, before)
	// Idempotent: a second recover has nothing to do.
	again, err := exec.Command(bin, "recover", "--runs-dir", runs, "--cluster", crashCluster).CombinedOutput()
	assert.NilError(t, err, "second recover: %s", again)
	assert.Assert(t, strings.Contains(strings.ToLower(string(again)), "nothing to recover"), "second recover: %s", again)
	return healthy
}

// clusterState is what must be identical before a fault and after recovery.
type clusterState struct {
	corefile     string
	dnsReplicas  int32
	nodes        int
	workloadWant int32
}

func snapshot(ctx context.Context, t *testing.T, client kubernetes.Interface) clusterState {
	t.Helper()
	cm, err := client.CoreV1().ConfigMaps("kube-system").Get(ctx, "coredns", metav1.GetOptions{})
	assert.NilError(t, err)
	dep, err := client.AppsV1().Deployments("kube-system").Get(ctx, "coredns", metav1.GetOptions{})
	assert.NilError(t, err)
	nodes, err := client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	assert.NilError(t, err)
	return clusterState{corefile: cm.Data["Corefile"], dnsReplicas: *dep.Spec.Replicas, nodes: len(nodes.Items), workloadWant: 3}
}

// assertHealthy waits (up to 4 minutes) for the cluster to be exactly healthy.
func assertHealthy(ctx context.Context, t *testing.T, cl *clusters.Cluster, client kubernetes.Interface, want clusterState) bool {
	t.Helper()
	var why string
	err := wait.PollUntilContextTimeout(ctx, 2*time.Second, 4*time.Minute, true, func(ctx context.Context) (bool, error) {
		why = healthProblem(ctx, cl, client, want)
		return why == "", nil
	})
	assert.NilError(t, err, "cluster not healthy after recovery: %s", why)
	return err == nil
}

func healthProblem(ctx context.Context, cl *clusters.Cluster, client kubernetes.Interface, want clusterState) string {
	nodes, err := client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return err.Error()
	}
	if len(nodes.Items) != want.nodes {
		return fmt.Sprintf("%d nodes, want %d", len(nodes.Items), want.nodes)
	}
	controlPlane := ""
	for _, n := range nodes.Items {
		if _, ok := n.Labels["node-role.kubernetes.io/control-plane"]; ok {
			controlPlane = n.Name
		}
		if !nodeIsReady(n) {
			return "node " + n.Name + " not Ready"
		}
	}
	cm, err := client.CoreV1().ConfigMaps("kube-system").Get(ctx, "coredns", metav1.GetOptions{})
	if err != nil {
		return err.Error()
	}
	if cm.Data["Corefile"] != want.corefile {
		return "Corefile differs from before the fault"
	}
	dep, err := client.AppsV1().Deployments("kube-system").Get(ctx, "coredns", metav1.GetOptions{})
	if err != nil {
		return err.Error()
	}
	if *dep.Spec.Replicas != want.dnsReplicas || dep.Status.AvailableReplicas != want.dnsReplicas {
		return fmt.Sprintf("CoreDNS %d/%d available, want %d", dep.Status.AvailableReplicas, *dep.Spec.Replicas, want.dnsReplicas)
	}
	wl, err := client.AppsV1().Deployments(fixtures.WorkloadNamespace).Get(ctx, fixtures.WorkloadDeployment, metav1.GetOptions{})
	if err != nil {
		return err.Error()
	}
	if wl.Status.ReadyReplicas != want.workloadWant {
		return fmt.Sprintf("workload %d/%d ready", wl.Status.ReadyReplicas, want.workloadWant)
	}
	left, err := lifecycle.Leftovers(ctx, client)
	if err != nil {
		return err.Error()
	}
	if len(left) > 0 {
		return fmt.Sprintf("left in the cluster: %s", strings.Join(left, "; "))
	}
	// Serving: ten requests through the control plane's node port all answer.
	addr, err := cl.Nodes.Address(ctx, controlPlane)
	if err != nil {
		return err.Error()
	}
	httpc := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	for range 10 {
		resp, err := httpc.Get("http://" + net.JoinHostPort(addr, strconv.Itoa(fixtures.WorkloadNodePort)) + "/healthz")
		if err != nil {
			return "workload not serving: " + err.Error()
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return "workload answered " + resp.Status
		}
	}
	return ""
}

func nodeIsReady(n corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// waitForJournal waits until a run's journal holds a line containing marker.
func waitForJournal(ctx context.Context, t *testing.T, runs, marker string, exited <-chan error, out *bytes.Buffer) string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Minute)
	for time.Now().Before(deadline) {
		paths, _ := filepath.Glob(filepath.Join(runs, "*", "journal.jsonl"))
		for _, p := range paths {
			if b, err := os.ReadFile(p); err == nil && bytes.Contains(b, []byte(marker)) {
				return p
			}
		}
		select {
		case err := <-exited:
			t.Fatalf("gameday run exited (%v) before %s:\n%s", err, marker, out.String())
		case <-ctx.Done():
			t.Fatal(ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
	t.Fatalf("no %s in the journal after 5m:\n%s", marker, out.String())
	return ""
}

// sharedCluster creates or reuses the shared kind cluster.
func sharedCluster(ctx context.Context, t *testing.T) (*clusters.Cluster, kubernetes.Interface) {
	t.Helper()
	cl, err := (&clusters.Kind{Name: crashCluster, Reuse: true}).Up(ctx)
	assert.NilError(t, err)
	client, err := cl.Clientset()
	assert.NilError(t, err)
	return cl, client
}

// gamedayBinary builds the gameday binary once per test process.
func gamedayBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("real cluster test; run without -short after `make testbed`")
	}
	if clusters.DefaultNodeImage(context.Background()) == "" {
		t.Fatalf("no offline node image: run `make testbed` first")
	}
	bin := filepath.Join(t.TempDir(), "gameday")
	build := exec.Command("go", "build", "-o", bin, "../../cmd/gameday")
	out, err := build.CombinedOutput()
	assert.NilError(t, err, "go build: %s", out)
	return bin
}

func tail(s string, lines int) string {
	all := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(all) > lines {
		all = all[len(all)-lines:]
	}
	return strings.Join(all, "\n")
}
