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

// crashModes are the fault modes the crash test kills the harness in, in order.
var crashModes = []string{"node-loss", "node-freeze", "kubelet-kill", "dns-outage", "dns-servfail"}

// TestIntegrationCrashRecover kills `gameday run` (SIGKILL) in the middle of each
// fault mode, counts what the dead harness left in the cluster, then checks that
// `gameday recover` leaves the cluster exactly as it was before the test: nodes
// Ready, CoreDNS replicas and Corefile identical to the ones saved before the first
// trial, the workload serving, nothing left behind, and a second recover finds
// nothing.
//
// The first trial of each mode kills the run only once the journal says the fault
// was injected and the cluster shows its effect (a stopped or paused node
// container, a stopped kubelet, CoreDNS at zero replicas, the SERVFAIL block in the
// Corefile), so at least one trial per mode crashes with the fault in effect and
// must leave something behind. Further trials (GAMEDAY_CRASH_TRIALS per mode,
// default 1; `make crash-trials`: 20) kill at a random moment from the record's
// planning to a few seconds later, and record whether the fault was in effect.
func TestIntegrationCrashRecover(t *testing.T) {
	bin := gamedayBinary(t)
	trials := 1
	if n, err := strconv.Atoi(os.Getenv("GAMEDAY_CRASH_TRIALS")); err == nil && n > 0 {
		trials = n
	}
	ctx := context.Background()
	_, client := sharedCluster(ctx, t)
	// Saved once: every trial, of every mode, must end with this cluster state, so a
	// trial that leaves something changed cannot hide it from the next one.
	baseline := snapshot(ctx, t, client)
	assert.Assert(t, !strings.Contains(baseline.corefile, "gameday"), "the Corefile already carries a gameday change:\n%s", baseline.corefile)
	assert.Assert(t, baseline.dnsReplicas > 0, "CoreDNS has no replicas before the test")
	left := 0
	for _, f := range crashModes {
		inEffect := 0
		for i := range trials {
			t.Run(fmt.Sprintf("%s/%d", f, i+1), func(t *testing.T) {
				res := killTrial(t, bin, f, syscall.SIGKILL, i == 0, baseline)
				if res.inEffect {
					inEffect++
				}
				left += res.left.total()
			})
		}
		assert.Assert(t, inEffect >= 1, "%s: no trial killed the run while the fault was in effect", f)
		t.Logf("%s: %d of %d trials killed the run with the fault in effect", f, inEffect, trials)
	}
	t.Logf("crash trials: %d modes x %d trials; things left behind by the killed runs (before recover): %d", len(crashModes), trials, left)
	assert.Assert(t, left >= len(crashModes), "the killed runs left only %d things behind", left)
}

// TestIntegrationInterrupt sends SIGINT during each fault and checks the run reverts
// by itself: exit code 4, an aborted report, a healthy cluster, nothing to recover.
func TestIntegrationInterrupt(t *testing.T) {
	bin := gamedayBinary(t)
	for _, f := range []string{"node-loss", "dns-outage"} {
		t.Run(f, func(t *testing.T) { crashTrial(t, bin, f, syscall.SIGINT) })
	}
}

// crashTrial runs one fault, signals the harness once the fault is in effect, and
// checks the cluster is healthy afterwards (after `gameday recover` for SIGKILL),
// compared with its state when the trial began. It reports whether it was.
func crashTrial(t *testing.T, bin, faultName string, sig syscall.Signal) bool {
	_, client := sharedCluster(context.Background(), t)
	res := killTrial(t, bin, faultName, sig, true, snapshot(context.Background(), t, client))
	return res.healthy
}

// trialResult is what one killed run left and whether it was in effect.
type trialResult struct {
	// inEffect is whether the fault's effect was in the cluster when the signal was
	// sent (checked just before it for trials that wait for the effect, just after
	// it for random ones: a dead harness changes nothing more).
	inEffect bool
	// left is what the killed run left behind, counted before recover.
	left leftBehind
	// healthy is whether the cluster ended exactly as before.
	healthy bool
}

// killTrial runs one fault and sends sig to the harness: once the fault is in
// effect when afterEffect is set (always for SIGINT), else at a random moment from
// the record's planning to four seconds later. For SIGKILL it counts what was left
// behind, runs `gameday recover`, and checks that nothing is left and the cluster
// matches want.
func killTrial(t *testing.T, bin, faultName string, sig syscall.Signal, afterEffect bool, want clusterState) trialResult {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	root, err := filepath.Abs("../..")
	assert.NilError(t, err)
	cl, client := sharedCluster(ctx, t)
	var res trialResult

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
	killed := false
	defer func() {
		if !killed {
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		}
	}()

	journalPath := waitForJournal(ctx, t, runs, `"op":"planned"`, exited, &out)
	if afterEffect || sig == syscall.SIGINT {
		waitForJournal(ctx, t, runs, `"op":"injected"`, exited, &out)
		effect := waitForEffect(ctx, t, cl, client, faultName, want, exited, &out)
		res.inEffect = true
		t.Logf("sending %s: the journal says injected, and the cluster shows %s", sig, effect)
	} else {
		delay := time.Duration(rand.Int64N(int64(4 * time.Second)))
		time.Sleep(delay)
		t.Logf("sending %s %s after the fault was journaled as planned", sig, delay)
	}
	target := -cmd.Process.Pid // the whole process group: the harness has no helpers to leave
	if sig == syscall.SIGINT {
		target = cmd.Process.Pid
	}
	assert.NilError(t, syscall.Kill(target, sig))
	killed = true
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
		// What the dead harness left: nothing can revert it but recover.
		if !afterEffect {
			if effect, ok := faultEffect(ctx, cl, client, faultName, want); ok {
				res.inEffect = true
				t.Logf("the fault was in effect when the run died: %s", effect)
			} else {
				t.Logf("the fault was not (yet) in effect when the run died")
			}
		}
		res.left = countLeftBehind(ctx, t, cl, client, want)
		t.Logf("left behind by the killed run: %s", res.left)
		if res.inEffect {
			assert.Assert(t, res.left.records > 0, "the fault was in effect but no record is stored in the cluster: %s", res.left)
			assert.Assert(t, res.left.markers > 0, "the fault was in effect but no object carries a marker: %s", res.left)
			assert.Assert(t, res.left.effects() > 0, "the fault was in effect but the cluster shows nothing changed: %s", res.left)
		}
		rec := exec.Command(bin, "recover", "--runs-dir", runs, "--cluster", crashCluster)
		recOut, err := rec.CombinedOutput()
		t.Logf("gameday recover:\n%s", recOut)
		assert.NilError(t, err, "recover failed")
	}
	res.healthy = assertHealthy(ctx, t, cl, client, want)
	after := countLeftBehind(ctx, t, cl, client, want)
	assert.Equal(t, after.total(), 0, "left in the cluster after recovery: %s", after)
	// Idempotent: a second recover has nothing to do.
	again, err := exec.Command(bin, "recover", "--runs-dir", runs, "--cluster", crashCluster).CombinedOutput()
	assert.NilError(t, err, "second recover: %s", again)
	assert.Assert(t, strings.Contains(strings.ToLower(string(again)), "nothing to recover"), "second recover: %s", again)
	return res
}

// servfailBlock is a line of the server block dnsOutage's servfail mode puts in
// front of the Corefile.
const servfailBlock = "rcode SERVFAIL"

// faultEffect reports whether a fault mode's effect is in the cluster now, and
// what it saw: a worker's container stopped or paused, a kubelet stopped, CoreDNS
// scaled to zero, the SERVFAIL block in the Corefile.
func faultEffect(ctx context.Context, cl *clusters.Cluster, client kubernetes.Interface, faultName string, want clusterState) (string, bool) {
	switch faultName {
	case "node-loss", "node-freeze", "kubelet-kill":
		nodes, err := client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
		if err != nil {
			return err.Error(), false
		}
		for _, n := range nodes.Items {
			st, err := cl.Nodes.State(ctx, n.Name)
			if err != nil {
				continue
			}
			switch {
			case faultName == "node-loss" && st == clusters.NodeStopped:
				return "node container " + n.Name + " stopped", true
			case faultName == "node-freeze" && st == clusters.NodePaused:
				return "node container " + n.Name + " paused", true
			case faultName == "kubelet-kill" && st == clusters.NodeRunning && !kubeletActive(ctx, cl, n.Name):
				return "the kubelet of " + n.Name + " inactive", true
			}
		}
		return "", false
	case "dns-outage":
		dep, err := client.AppsV1().Deployments("kube-system").Get(ctx, "coredns", metav1.GetOptions{})
		if err != nil || dep.Spec.Replicas == nil {
			return fmt.Sprint(err), false
		}
		return "CoreDNS scaled to 0", *dep.Spec.Replicas == 0
	case "dns-servfail":
		cm, err := client.CoreV1().ConfigMaps("kube-system").Get(ctx, "coredns", metav1.GetOptions{})
		if err != nil {
			return err.Error(), false
		}
		c := cm.Data["Corefile"]
		return "the SERVFAIL block in the Corefile", c != want.corefile && strings.Contains(c, servfailBlock)
	}
	panic("unknown fault " + faultName)
}

// waitForEffect waits (up to 2 minutes) until faultEffect sees the fault in effect.
func waitForEffect(ctx context.Context, t *testing.T, cl *clusters.Cluster, client kubernetes.Interface, faultName string, want clusterState, exited <-chan error, out *bytes.Buffer) string {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		if what, ok := faultEffect(ctx, cl, client, faultName, want); ok {
			return what
		}
		select {
		case err := <-exited:
			t.Fatalf("gameday run exited (%v) before the %s fault was seen in effect:\n%s", err, faultName, out.String())
		case <-ctx.Done():
			t.Fatal(ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
	t.Fatalf("the %s fault was journaled as injected but not seen in effect after 2m:\n%s", faultName, out.String())
	return ""
}

// kubeletActive asks systemd on a node whether its kubelet runs.
func kubeletActive(ctx context.Context, cl *clusters.Cluster, node string) bool {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out, _ := cl.Nodes.Exec(ctx, node, nil, "systemctl", "is-active", "kubelet")
	return strings.TrimSpace(string(out)) == "active"
}

// leftBehind counts what a run left in the cluster: its bookkeeping (records stored
// in the cluster, objects with a marker) and the faults' effects.
type leftBehind struct {
	records, markers int
	// nodesDown are node containers not running; kubeletsDown running nodes whose
	// kubelet is stopped; nodesNotReady Nodes whose Ready condition is not True.
	nodesDown, kubeletsDown, nodesNotReady []string
	// dnsReplicas: CoreDNS wants another replica count than before; corefile: the
	// Corefile differs from the one saved before the test.
	dnsReplicas, corefile bool
}

func (l leftBehind) effects() int {
	n := len(l.nodesDown) + len(l.kubeletsDown) + len(l.nodesNotReady)
	if l.dnsReplicas {
		n++
	}
	if l.corefile {
		n++
	}
	return n
}

func (l leftBehind) total() int { return l.records + l.markers + l.effects() }

func (l leftBehind) String() string {
	return fmt.Sprintf("%d stored records, %d markers, nodes down %v, kubelets down %v, nodes not Ready %v, CoreDNS replicas changed %v, Corefile changed %v",
		l.records, l.markers, l.nodesDown, l.kubeletsDown, l.nodesNotReady, l.dnsReplicas, l.corefile)
}

// countLeftBehind counts what is left in the cluster compared with want.
func countLeftBehind(ctx context.Context, t *testing.T, cl *clusters.Cluster, client kubernetes.Interface, want clusterState) leftBehind {
	t.Helper()
	var l leftBehind
	recs, err := (&lifecycle.Store{Client: client}).List(ctx)
	assert.NilError(t, err)
	l.records = len(recs)
	marked, err := lifecycle.MarkedObjects(ctx, client)
	assert.NilError(t, err)
	l.markers = len(marked)
	nodes, err := client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	assert.NilError(t, err)
	for _, n := range nodes.Items {
		if !nodeIsReady(n) {
			l.nodesNotReady = append(l.nodesNotReady, n.Name)
		}
		st, err := cl.Nodes.State(ctx, n.Name)
		assert.NilError(t, err)
		if st != clusters.NodeRunning {
			l.nodesDown = append(l.nodesDown, n.Name+" "+string(st))
		} else if !kubeletActive(ctx, cl, n.Name) {
			l.kubeletsDown = append(l.kubeletsDown, n.Name)
		}
	}
	dep, err := client.AppsV1().Deployments("kube-system").Get(ctx, "coredns", metav1.GetOptions{})
	assert.NilError(t, err)
	l.dnsReplicas = dep.Spec.Replicas == nil || *dep.Spec.Replicas != want.dnsReplicas
	cm, err := client.CoreV1().ConfigMaps("kube-system").Get(ctx, "coredns", metav1.GetOptions{})
	assert.NilError(t, err)
	l.corefile = cm.Data["Corefile"] != want.corefile
	return l
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
