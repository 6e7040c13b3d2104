package runner_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/gameday-dev/gameday/clusters"
	"github.com/gameday-dev/gameday/fixtures"
	"github.com/gameday-dev/gameday/framework/apply"
	"github.com/gameday-dev/gameday/reports"
)

const nodeLossScenario = `
apiVersion: gameday.dev/v1alpha1
kind: Scenario
metadata:
  name: e2e-node-loss
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
    - name: http-external
      objective: 0.5
      probe:
        http: {service: gameday-workload/workload-nodeport, port: 80, path: /healthz, from: nodeNetwork}
  scoring:
    healthyWindow: 5s
  steps:
    - name: steady
      steadyState: {duration: 10s}
    - name: lose-worker
      duration: 80s
      fault:
        nodeLoss: {mode: stop, target: {role: worker, count: 1}}
    - name: settle
      wait: {for: recovered, timeout: 4m}
`

// TestIntegrationNodeLoss stops a worker of a real kind cluster and checks that the
// node went NotReady, that the probes saw it, that MTTD and MTTR agree with the
// cluster's own timestamps, and that the node came back.
func TestIntegrationNodeLoss(t *testing.T) {
	requireTestbed(t)
	resetWorkload(t)
	res := runScenario(t, e2eScenario(t, nodeLossScenario))
	rep := res.Report
	assert.Equal(t, rep.Outcome, reports.OutcomePassed, "error=%q abort=%q", rep.Error, rep.AbortReason)

	// The fault took effect: Kubernetes marked the stopped node NotReady.
	var step reports.Step
	for _, s := range rep.Steps {
		if s.Name == "lose-worker" {
			step = s
		}
	}
	assert.Assert(t, step.Reverted, "the node loss was not reverted")
	assert.Equal(t, len(step.Targets), 1)
	node := step.Targets[0][strings.LastIndexByte(step.Targets[0], ' ')+1:]
	var notReady *reports.Observation
	for _, o := range observations(rep, "nodeNotReady") {
		if strings.Contains(o.Source, "node/"+node+" ") && o.Step == "lose-worker" {
			notReady = &o
			break
		}
	}
	assert.Assert(t, notReady != nil, "no NotReady transition observed for %s: %+v", node, rep.Observations)
	noticed := *notReady.After
	t.Logf("Kubernetes marked %s NotReady %s after injection", node, noticed)
	assert.Assert(t, noticed > 20*time.Second && noticed < 80*time.Second, "NotReady after %s", noticed)

	for _, name := range []string{"http", "http-external"} {
		slo := sloByName(rep, name)
		assert.Equal(t, len(slo.Result.Faults), 1, name)
		f := slo.Result.Faults[0]
		// The probes saw it.
		assert.Assert(t, f.Detected && f.Failed > 0, "%s: the probe never failed", name)
		// MTTD: the probes notice before Kubernetes does (requests to the stopped
		// node's pods fail at once; NotReady waits for the grace period).
		assert.Assert(t, *f.MTTD >= 0 && *f.MTTD < noticed+time.Second, "%s: MTTD %s, NotReady after %s", name, *f.MTTD, noticed)
		// MTTR: traffic stops failing once the endpoints of the lost node's pods are
		// removed, which the node lifecycle controller does when it marks the node
		// NotReady (cluster timestamps have one-second resolution); bringing the node
		// back can fail a few more requests, and MTTR covers every outage of the
		// fault's range (docs/scoring.md), so it ends no later than a healthy window
		// after the revert.
		assert.Assert(t, f.Recovered, "%s: not recovered", name)
		effective := f.Window.Effective
		if effective.IsZero() {
			effective = f.Window.Start
		}
		latest := f.Window.End.Sub(effective) + 5*time.Second + 20*time.Second
		assert.Assert(t, *f.MTTR >= noticed-2*time.Second && *f.MTTR <= latest,
			"%s: MTTR %s, but the node went NotReady after %s and was back %s after injection", name, *f.MTTR, noticed, f.Window.End.Sub(effective))
		t.Logf("%s: MTTD %s, MTTR %s, %d of %d samples failed in the window", name, *f.MTTD, *f.MTTR, f.Failed, f.Samples)
	}
	// Reverted: the node is back and Ready, and no fault marker is left.
	assert.Assert(t, len(observations(rep, "nodeReady")) > 0, "node never reported Ready again")
	noMarkers(t)
}

const dnsOutageScenario = `
apiVersion: gameday.dev/v1alpha1
kind: Scenario
metadata:
  name: e2e-dns-outage
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
    - name: http
      objective: 0.99
      probe:
        http: {service: gameday-workload/workload, port: 80, path: /healthz}
  scoring:
    healthyWindow: 5s
  steps:
    - name: steady
      steadyState: {duration: 10s}
    - name: dns-down
      duration: 30s
      fault:
        dnsOutage: {mode: scaleDown}
    - name: settle
      wait: {for: recovered, timeout: 3m}
  expectations:
    - name: DNS outage detected within 10s
      slo: dns
      step: dns-down
      mttd: {max: 10s}
`

// TestIntegrationDNSOutage scales CoreDNS to zero on a real kind cluster and checks
// that lookups failed, that MTTD and MTTR agree with the cluster's own timestamps,
// that the HTTP probe (which does not use DNS) was unaffected, that CoreDNS and its
// Corefile are exactly as before, and that the breached DNS objective fails the run.
func TestIntegrationDNSOutage(t *testing.T) {
	requireTestbed(t)
	ctx := context.Background()
	corefileBefore := corefile(ctx, t) // creates the shared cluster when it does not exist
	res := runScenario(t, e2eScenario(t, dnsOutageScenario))
	rep := res.Report

	// The 0.9999 DNS objective cannot survive a 30s outage: the run fails, in JUnit too.
	assert.Equal(t, rep.Outcome, reports.OutcomeFailed, "error=%q abort=%q", rep.Error, rep.AbortReason)
	assert.Assert(t, junitFailures(t, res.Dir) >= 1)
	dns := sloByName(rep, "dns")
	assert.Assert(t, !dns.Result.Passed)
	f := dns.Result.Faults[0]
	assert.Assert(t, f.Detected && f.Failed > 0, "lookups never failed")
	assert.Assert(t, *f.MTTD < 10*time.Second, "MTTD %s", *f.MTTD)
	assert.Assert(t, f.Recovered, "DNS never recovered")
	// DNS cannot recover before the fault is reverted (30s), and recovers once CoreDNS
	// pods are Ready again (by the cluster's clock, one-second resolution).
	var back *reports.Observation
	for _, o := range observations(rep, "corednsAvailable") {
		if o.Step == "dns-down" {
			back = &o
		}
	}
	assert.Assert(t, back != nil, "CoreDNS never observed available again: %+v", rep.Observations)
	assert.Assert(t, *f.MTTR >= 29*time.Second, "MTTR %s is shorter than the outage", *f.MTTR)
	assert.Assert(t, *f.MTTR <= *back.After+10*time.Second, "MTTR %s, CoreDNS Ready after %s", *f.MTTR, *back.After)
	t.Logf("dns: MTTD %s, MTTR %s, CoreDNS Ready again after %s", *f.MTTD, *f.MTTR, *back.After)
	// The HTTP probe goes by ClusterIP and must not have noticed.
	http := sloByName(rep, "http")
	assert.Equal(t, http.Result.Failed, 0, "the HTTP probe depends on DNS after all")

	// Reverted exactly: replicas back, Corefile byte-identical, no marker.
	assert.Equal(t, corefile(ctx, t), corefileBefore)
	noMarkers(t)
}

func corefile(ctx context.Context, t *testing.T) string {
	t.Helper()
	cl, err := (&clusters.Kind{Name: e2eCluster, Reuse: true}).Up(ctx)
	assert.NilError(t, err)
	client, err := cl.Clientset()
	assert.NilError(t, err)
	cm, err := client.CoreV1().ConfigMaps("kube-system").Get(ctx, "coredns", metav1.GetOptions{})
	assert.NilError(t, err)
	return cm.Data["Corefile"]
}

// resetWorkload re-creates the workload on the shared cluster so its replicas are
// spread 2+1 over the workers again: an earlier node-loss test leaves them packed on
// the surviving worker, and losing the other one would then prove nothing.
func resetWorkload(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	cl, err := (&clusters.Kind{Name: e2eCluster, Reuse: true}).Up(ctx)
	assert.NilError(t, err)
	assert.NilError(t, (&clusters.Kind{Name: e2eCluster}).LoadImages(ctx, fixtures.WorkloadImage))
	objs, err := apply.Load("../../fixtures/workload", "")
	assert.NilError(t, err)
	a, err := apply.NewApplier(cl.REST)
	assert.NilError(t, err)
	assert.NilError(t, a.Reset(ctx, objs, 5*time.Minute))
}
