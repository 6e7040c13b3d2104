package runner_test

import (
	"context"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/gameday-dev/gameday/clusters"
	"github.com/gameday-dev/gameday/framework/score"
	"github.com/gameday-dev/gameday/reports"
)

// The fault modes that TestIntegrationNodeLoss (stop) and TestIntegrationDNSOutage
// (scaleDown) leave out: pause, killKubelet and servfail, each injected into the
// shared kind cluster, seen by the cluster (the test looks for itself while the
// run goes on), seen by the probes (MTTD), recovered from (MTTR) and reverted.

const nodeFreezeScenario = `
apiVersion: gameday.dev/v1alpha1
kind: Scenario
metadata:
  name: e2e-node-freeze
spec:
  cluster:
    kind: {name: $CLUSTER, config: $ROOT/clusters/kind/1cp-2w.yaml, reuse: true, keep: true}
  fixtures:
    - path: $ROOT/fixtures/workload
  slos:
    - name: http
      objective: 0.5
      probe:
        http: {service: gameday-workload/workload, port: 80, path: /healthz}
  scoring:
    healthyWindow: 5s
  steps:
    - name: steady
      steadyState: {duration: 10s}
    - name: freeze-worker
      duration: 25s
      fault:
        nodeLoss: {mode: pause, target: {role: worker, count: 1}}
    - name: settle
      wait: {for: recovered, timeout: 3m}
`

// TestIntegrationNodeFreeze pauses a worker's container (every process frozen, a
// hung machine) and checks that the container was paused, that requests to its
// pods failed at once (they hang until the probe's timeout), that traffic recovered
// once the node was thawed, and that nothing is left.
func TestIntegrationNodeFreeze(t *testing.T) {
	requireTestbed(t)
	resetWorkload(t)
	ctx := context.Background()
	cl, client := e2eClient(ctx, t)
	corefileBefore := corefile(ctx, t)
	seen := watchCluster(t, func(ctx context.Context) []string {
		var out []string
		for _, n := range workers(ctx, t, client) {
			if st, err := cl.Nodes.State(ctx, n); err == nil && st != clusters.NodeRunning {
				out = append(out, n+" "+string(st))
			}
		}
		return out
	})
	rep := runScenario(t, e2eScenario(t, nodeFreezeScenario)).Report
	effects := seen()
	assert.Equal(t, rep.Outcome, reports.OutcomePassed, "error=%q abort=%q", rep.Error, rep.AbortReason)

	step := stepByName(rep, "freeze-worker")
	assert.Assert(t, step.Reverted, "the freeze was not reverted")
	node := targetNode(t, step)
	// The fault took effect: the test saw the node container paused, and only that one.
	assert.DeepEqual(t, keys(effects), []string{node + " paused"})
	t.Logf("%s seen paused from %s to %s (step %s to %s)", node, effects[node+" paused"].first.Format(time.TimeOnly),
		effects[node+" paused"].last.Format(time.TimeOnly), step.Start.Format(time.TimeOnly), step.End.Format(time.TimeOnly))

	f := onlyFault(t, rep, "http")
	assert.Assert(t, f.Detected && f.Failed > 0, "the probe never failed while %s was frozen", node)
	assert.Assert(t, *f.MTTD < 10*time.Second, "MTTD %s", *f.MTTD)
	// Frozen pods answer again once thawed (or lose their endpoints when the node goes
	// NotReady): either way before the hold plus a margin.
	assert.Assert(t, f.Recovered, "not recovered")
	assert.Assert(t, *f.MTTR < 25*time.Second+30*time.Second, "MTTR %s", *f.MTTR)
	t.Logf("http: MTTD %s, MTTR %s, %d of %d samples failed in the window", *f.MTTD, *f.MTTR, f.Failed, f.Samples)

	assertReverted(ctx, t, cl, corefileBefore)
}

const kubeletKillScenario = `
apiVersion: gameday.dev/v1alpha1
kind: Scenario
metadata:
  name: e2e-kubelet-kill
spec:
  cluster:
    kind: {name: $CLUSTER, config: $ROOT/clusters/kind/1cp-2w.yaml, reuse: true, keep: true}
  fixtures:
    - path: $ROOT/fixtures/workload
  slos:
    - name: workload
      objective: 0.5
      probe:
        workload: {deployment: gameday-workload/workload}
  scoring:
    healthyWindow: 5s
  steps:
    - name: steady
      steadyState: {duration: 10s}
    - name: kill-kubelet
      duration: 75s
      fault:
        nodeLoss: {mode: killKubelet, target: {role: worker, count: 1}}
    - name: settle
      wait: {for: recovered, timeout: 3m}
`

// TestIntegrationKubeletKill stops the kubelet of a worker of a real kind cluster.
// Its pods keep running, so the only thing to notice is the node going silent:
// the test checks that the kubelet was stopped, that Kubernetes marked the node
// NotReady, that the workload probe (replicas available) saw it when Kubernetes
// did, that it recovered, and that the kubelet runs again with nothing left.
func TestIntegrationKubeletKill(t *testing.T) {
	requireTestbed(t)
	resetWorkload(t)
	ctx := context.Background()
	cl, client := e2eClient(ctx, t)
	corefileBefore := corefile(ctx, t)
	seen := watchCluster(t, func(ctx context.Context) []string {
		var out []string
		for _, n := range workers(ctx, t, client) {
			if !kubeletActive(ctx, cl, n) {
				out = append(out, "kubelet of "+n+" inactive")
			}
		}
		return out
	})
	rep := runScenario(t, e2eScenario(t, kubeletKillScenario)).Report
	effects := seen()
	assert.Equal(t, rep.Outcome, reports.OutcomePassed, "error=%q abort=%q", rep.Error, rep.AbortReason)

	step := stepByName(rep, "kill-kubelet")
	assert.Assert(t, step.Reverted, "the kubelet kill was not reverted")
	node := targetNode(t, step)
	assert.DeepEqual(t, keys(effects), []string{"kubelet of " + node + " inactive"})

	var notReady *reports.Observation
	for _, o := range observations(rep, "nodeNotReady") {
		if strings.Contains(o.Source, "node/"+node+" ") && o.Step == "kill-kubelet" {
			notReady = &o
			break
		}
	}
	assert.Assert(t, notReady != nil, "no NotReady transition observed for %s: %+v", node, rep.Observations)
	noticed := *notReady.After
	t.Logf("Kubernetes marked %s NotReady %s after its kubelet was stopped", node, noticed)

	f := onlyFault(t, rep, "workload")
	assert.Assert(t, f.Detected && f.Failed > 0, "the workload probe never saw the replicas on %s go unavailable", node)
	// The replicas on the node go unavailable when the node lifecycle controller marks
	// the node NotReady (and its pods not ready), not before.
	assert.Assert(t, *f.MTTD >= noticed-2*time.Second && *f.MTTD <= noticed+15*time.Second, "MTTD %s, NotReady after %s", *f.MTTD, noticed)
	assert.Assert(t, f.Recovered, "the workload never recovered")
	t.Logf("workload: MTTD %s, MTTR %s, %d of %d samples failed in the window", *f.MTTD, *f.MTTR, f.Failed, f.Samples)

	assert.Assert(t, kubeletActive(ctx, cl, node), "the kubelet of %s does not run after the run", node)
	assertReverted(ctx, t, cl, corefileBefore)
}

const servfailScenario = `
apiVersion: gameday.dev/v1alpha1
kind: Scenario
metadata:
  name: e2e-dns-servfail
spec:
  cluster:
    kind: {name: $CLUSTER, config: $ROOT/clusters/kind/1cp-2w.yaml, reuse: true, keep: true}
  fixtures:
    - path: $ROOT/fixtures/workload
  slos:
    - name: dns
      objective: 0.9999
      probe:
        dns: {name: workload.gameday-workload.svc.cluster.local}
    - name: dns-other
      objective: 0.99
      probe:
        dns: {name: kubernetes.default.svc.cluster.local}
  scoring:
    healthyWindow: 5s
  steps:
    - name: steady
      steadyState: {duration: 10s}
    - name: servfail
      duration: 100s
      fault:
        dnsOutage: {mode: servfail, names: [workload.gameday-workload.svc.cluster.local]}
    - name: settle
      wait: {for: recovered, timeout: 4m}
`

// TestIntegrationDNSServfail makes the real CoreDNS answer SERVFAIL for the
// workload's name and checks that the Corefile carried the SERVFAIL block during
// the step, that the DNS probe got SERVFAIL answers (not timeouts) for that name
// while other names kept resolving, that lookups recovered after the revert, and
// that the Corefile is byte-identical to before. CoreDNS picks a Corefile change up
// through the kubelet's ConfigMap sync and its reload plugin, 30-90 s each way:
// MTTD and MTTR say how long it took.
func TestIntegrationDNSServfail(t *testing.T) {
	requireTestbed(t)
	ctx := context.Background()
	corefileBefore := corefile(ctx, t) // creates the shared cluster when it does not exist
	cl, client := e2eClient(ctx, t)
	assert.Assert(t, !strings.Contains(corefileBefore, "SERVFAIL"), "the Corefile already answers SERVFAIL:\n%s", corefileBefore)
	seen := watchCluster(t, func(ctx context.Context) []string {
		cm, err := client.CoreV1().ConfigMaps("kube-system").Get(ctx, "coredns", metav1.GetOptions{})
		if err != nil || cm.Data["Corefile"] == corefileBefore {
			return nil
		}
		if strings.Contains(cm.Data["Corefile"], "workload.gameday-workload.svc.cluster.local:53 {") &&
			strings.Contains(cm.Data["Corefile"], "rcode SERVFAIL") {
			return []string{"SERVFAIL block"}
		}
		return []string{"other Corefile change"}
	})
	rep := runScenario(t, e2eScenario(t, servfailScenario)).Report
	effects := seen()
	// The 0.9999 objective cannot survive the outage.
	assert.Equal(t, rep.Outcome, reports.OutcomeFailed, "error=%q abort=%q", rep.Error, rep.AbortReason)
	step := stepByName(rep, "servfail")
	assert.Assert(t, step.Reverted, "the SERVFAIL fault was not reverted")
	assert.DeepEqual(t, keys(effects), []string{"SERVFAIL block"})

	f := onlyFault(t, rep, "dns")
	assert.Assert(t, f.Detected && f.Failed > 0, "lookups never failed")
	assert.Assert(t, *f.MTTD < 100*time.Second, "MTTD %s: CoreDNS never loaded the SERVFAIL block during the step", *f.MTTD)
	assert.Assert(t, f.Recovered, "lookups never recovered")
	// The probe saw the fault itself, SERVFAIL answers, not timeouts.
	dns := sloByName(rep, "dns")
	servfails := 0
	for _, d := range dns.Result.Disruptions {
		if strings.Contains(d.FirstError, "SERVFAIL") {
			servfails++
		}
	}
	assert.Assert(t, servfails > 0, "no disruption began with a SERVFAIL answer: %+v", dns.Result.Disruptions)
	// Lookups cannot recover before the revert, and CoreDNS reloads the saved
	// Corefile within the same 30-90 s.
	assert.Assert(t, f.RecoveredAt.After(step.End), "lookups recovered at %s, before the revert at %s", f.RecoveredAt, step.End)
	t.Logf("dns: MTTD %s (CoreDNS reload after the Corefile change), MTTR %s, recovered %s after the revert",
		*f.MTTD, *f.MTTR, f.RecoveredAt.Sub(step.End).Round(time.Second))
	// Only the named zone answers SERVFAIL.
	other := sloByName(rep, "dns-other")
	assert.Equal(t, other.Result.Failed, 0, "another name failed to resolve: %+v", other.Result.Disruptions)

	assertReverted(ctx, t, cl, corefileBefore)
}

// assertReverted checks that the run left nothing: no stored record or marker,
// every node Ready and its container running, the Corefile byte-identical.
func assertReverted(ctx context.Context, t *testing.T, cl *clusters.Cluster, corefileBefore string) {
	t.Helper()
	noMarkers(t)
	_, client := e2eClient(ctx, t)
	nodes, err := client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	assert.NilError(t, err)
	for _, n := range nodes.Items {
		st, err := cl.Nodes.State(ctx, n.Name)
		assert.NilError(t, err)
		assert.Equal(t, st, clusters.NodeRunning, "node %s", n.Name)
	}
	assert.Equal(t, corefile(ctx, t), corefileBefore)
}

func e2eClient(ctx context.Context, t *testing.T) (*clusters.Cluster, kubernetes.Interface) {
	t.Helper()
	cl, err := (&clusters.Kind{Name: e2eCluster, Reuse: true}).Up(ctx)
	assert.NilError(t, err)
	client, err := cl.Clientset()
	assert.NilError(t, err)
	return cl, client
}

// workers lists the worker nodes.
func workers(ctx context.Context, t *testing.T, client kubernetes.Interface) []string {
	nodes, err := client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Logf("listing nodes: %v", err)
		return nil
	}
	var out []string
	for _, n := range nodes.Items {
		if _, cp := n.Labels["node-role.kubernetes.io/control-plane"]; !cp {
			out = append(out, n.Name)
		}
	}
	return out
}

// kubeletActive asks systemd on a node whether its kubelet runs.
func kubeletActive(ctx context.Context, cl *clusters.Cluster, node string) bool {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out, _ := cl.Nodes.Exec(ctx, node, nil, "systemctl", "is-active", "kubelet")
	return strings.TrimSpace(string(out)) == "active"
}

// seenSpan is when the test first and last saw an effect in the cluster.
type seenSpan struct{ first, last time.Time }

// watchCluster calls look every second until the returned func is called, and
// returns from it every effect look reported, with when it was first and last seen.
func watchCluster(t *testing.T, look func(ctx context.Context) []string) func() map[string]seenSpan {
	ctx, cancel := context.WithCancel(context.Background())
	var mu sync.Mutex
	seen := map[string]seenSpan{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			for _, e := range look(ctx) {
				now := time.Now()
				mu.Lock()
				s, ok := seen[e]
				if !ok {
					s.first = now
				}
				s.last = now
				seen[e] = s
				mu.Unlock()
			}
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
	stop := func() map[string]seenSpan {
		cancel()
		<-done
		mu.Lock()
		defer mu.Unlock()
		return seen
	}
	t.Cleanup(func() { stop() })
	return stop
}

func keys(m map[string]seenSpan) []string {
	out := []string{}
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func stepByName(rep *reports.Report, name string) reports.Step {
	for _, s := range rep.Steps {
		if s.Name == name {
			return s
		}
	}
	return reports.Step{}
}

// targetNode is the one node a nodeLoss step acted on.
func targetNode(t *testing.T, step reports.Step) string {
	t.Helper()
	assert.Equal(t, len(step.Targets), 1, "targets: %v", step.Targets)
	return step.Targets[0][strings.LastIndexByte(step.Targets[0], ' ')+1:]
}

// onlyFault is the one fault window of an SLO.
func onlyFault(t *testing.T, rep *reports.Report, slo string) score.Fault {
	t.Helper()
	s := sloByName(rep, slo)
	assert.Equal(t, len(s.Result.Faults), 1, "%s: fault windows %+v", slo, s.Result.Faults)
	return s.Result.Faults[0]
}
