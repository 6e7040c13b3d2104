package runner

import (
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"gotest.tools/v3/assert"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/rest"

	"github.com/gameday-dev/gameday/clusters"
	"github.com/gameday-dev/gameday/framework/probe"
	"github.com/gameday-dev/gameday/framework/scenario"
	"github.com/gameday-dev/gameday/reports"
)

// testRun is a run over a fake clientset holding objs, with the given SLOs, probes placed
// on node "vantage". It is enough for buildProbes, watchAbort and unhealthySLOs.
func testRun(slos []scenario.SLO, objs ...runtime.Object) *run {
	sc := &scenario.Scenario{}
	sc.Spec.SLOs = slos
	return &run{
		sc:       sc,
		progress: nopProgress{},
		client:   fake.NewClientset(objs...),
		cluster:  &clusters.Cluster{REST: &rest.Config{Host: "https://127.0.0.1:6443"}},
		recorder: &probe.Recorder{},
		vantage:  "vantage",
	}
}

func service(ns, name, clusterIP string, ports ...corev1.ServicePort) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec:       corev1.ServiceSpec{ClusterIP: clusterIP, Ports: ports},
	}
}

// clusterObjects is a small cluster: the workload Service (ClusterIP and node port),
// the cluster DNS Service and the vantage node.
func clusterObjects() []runtime.Object {
	return []runtime.Object{
		service("gameday-workload", "workload", "10.96.0.20", corev1.ServicePort{Port: 80, NodePort: 30080}),
		service("kube-system", "kube-dns", "10.96.0.10", corev1.ServicePort{Port: 53}),
		&corev1.Node{
			ObjectMeta: metav1.ObjectMeta{Name: "vantage"},
			Status: corev1.NodeStatus{Addresses: []corev1.NodeAddress{
				{Type: corev1.NodeHostName, Address: "vantage"},
				{Type: corev1.NodeInternalIP, Address: "172.18.0.2"},
			}},
		},
	}
}

func TestBuildProbes(t *testing.T) {
	t.Parallel()
	ms := time.Millisecond
	slos := []scenario.SLO{
		{Name: "web", Interval: 250 * ms, Timeout: time.Second, Probe: scenario.Probe{
			HTTP: &scenario.HTTPProbe{Service: "gameday-workload/workload", Port: 80, Path: "/healthz", From: scenario.FromInCluster}}},
		{Name: "external", Interval: time.Second, Timeout: 2 * time.Second, Probe: scenario.Probe{
			HTTP: &scenario.HTTPProbe{Service: "gameday-workload/workload", Port: 80, Path: "/", From: scenario.FromNodeNetwork}}},
		{Name: "dns", Interval: 5 * time.Second, Timeout: 500 * ms, Probe: scenario.Probe{
			DNS: &scenario.DNSProbe{Name: "workload.gameday-workload.svc.cluster.local"}}},
		{Name: "api", Interval: 500 * ms, Timeout: 3 * time.Second, Probe: scenario.Probe{
			APIServer: &scenario.APIServerProbe{Path: "/readyz"}}},
		{Name: "ready", Interval: 2 * time.Second, Timeout: 1500 * ms, Probe: scenario.Probe{
			Workload: &scenario.WorkloadProbe{Deployment: "gameday-workload/workload"}}},
	}
	r := testRun(slos, clusterObjects()...)
	agent, harness, err := r.buildProbes(t.Context())
	assert.NilError(t, err)

	// In-cluster probes go to the agent: HTTP through the ClusterIP, DNS at kube-dns,
	// each with its own SLO's interval and timeout and no shared one.
	assert.DeepEqual(t, agent, probe.AgentConfig{
		HTTP: []probe.AgentHTTPTarget{{Name: "web", URL: "http://10.96.0.20:80/healthz", Interval: 250 * ms, Timeout: time.Second}},
		DNS: []probe.AgentDNSTarget{{Name: "dns", Host: "workload.gameday-workload.svc.cluster.local", Server: "10.96.0.10:53",
			Interval: 5 * time.Second, Timeout: 500 * ms}},
	})
	parsed, err := probe.ParseAgentArgs(agent.Args())
	assert.NilError(t, err)
	assert.DeepEqual(t, parsed.Timings(), map[string]probe.Timing{
		"web": {Interval: 250 * ms, Timeout: time.Second},
		"dns": {Interval: 5 * time.Second, Timeout: 500 * ms},
	})

	// The harness runs the node-network HTTP probe through the node port of the vantage
	// node, the API server and the workload probes.
	names := map[string]probe.Probe{}
	for _, p := range harness {
		names[p.Name()] = p
	}
	assert.Equal(t, len(harness), 3)
	external, ok := names["external"].(*probe.HTTP)
	assert.Assert(t, ok, "external: %T", names["external"])
	assert.Equal(t, external.Config().URL, "http://172.18.0.2:30080/")
	api, ok := names["api"].(*probe.APIServer)
	assert.Assert(t, ok, "api: %T", names["api"])
	assert.Equal(t, api.URL(), "https://127.0.0.1:6443/readyz")
	_, ok = names["ready"].(*probe.Workload)
	assert.Assert(t, ok, "ready: %T", names["ready"])

	// What runs is what the scenario declared, for every SLO.
	want := map[string]probe.Timing{}
	for _, slo := range slos {
		want[slo.Name] = probe.Timing{Interval: slo.Interval, Timeout: slo.Timeout}
	}
	assert.DeepEqual(t, probeTimings(agent, harness), want)
}

func TestBuildProbesErrors(t *testing.T) {
	t.Parallel()
	httpSLO := func(service string, from scenario.ProbeOrigin) scenario.SLO {
		return scenario.SLO{Name: "web", Interval: time.Second, Timeout: time.Second, Probe: scenario.Probe{
			HTTP: &scenario.HTTPProbe{Service: service, Port: 80, Path: "/", From: from}}}
	}
	dnsSLO := scenario.SLO{Name: "dns", Interval: time.Second, Timeout: time.Second, Probe: scenario.Probe{
		DNS: &scenario.DNSProbe{Name: "x.test"}}}
	noNodePort := service("app", "internal", "10.96.0.30", corev1.ServicePort{Port: 80})
	headless := service("app", "headless", corev1.ClusterIPNone, corev1.ServicePort{Port: 80})
	cases := []struct {
		name         string
		slo          scenario.SLO
		objs         []runtime.Object
		wantErr      []string
		invalidInput bool
	}{
		{name: "in-cluster HTTP to a missing Service", slo: httpSLO("app/missing", scenario.FromInCluster),
			wantErr: []string{"slo web", "service app/missing", "not found"}},
		{name: "node-network HTTP to a missing Service", slo: httpSLO("app/missing", scenario.FromNodeNetwork),
			wantErr: []string{"slo web", "service app/missing", "not found"}},
		{name: "node-network HTTP to a Service without a node port", slo: httpSLO("app/internal", scenario.FromNodeNetwork),
			objs: []runtime.Object{noNodePort}, wantErr: []string{"slo web", "service app/internal has no node port for port 80"}, invalidInput: true},
		{name: "in-cluster HTTP to a headless Service", slo: httpSLO("app/headless", scenario.FromInCluster),
			objs: []runtime.Object{headless}, wantErr: []string{"slo web", "service app/headless has no ClusterIP"}},
		{name: "DNS without kube-dns", slo: dnsSLO,
			wantErr: []string{"slo dns", "service kube-system/kube-dns", "not found"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := testRun([]scenario.SLO{tc.slo}, tc.objs...)
			_, _, err := r.buildProbes(t.Context())
			assert.Assert(t, err != nil)
			for _, want := range tc.wantErr {
				assert.ErrorContains(t, err, want)
			}
			assert.Equal(t, errors.Is(err, ErrInvalidInput), tc.invalidInput)
		})
	}
}

// agentRun is a run with one SLO probed by the agent (web) and one by the harness (api).
func agentRun() *run {
	return testRun([]scenario.SLO{
		{Name: "web", Interval: 250 * time.Millisecond, Timeout: time.Second, Probe: scenario.Probe{
			HTTP: &scenario.HTTPProbe{Service: "app/web", Port: 80}}},
		{Name: "api", Interval: 250 * time.Millisecond, Timeout: time.Second, Probe: scenario.Probe{
			APIServer: &scenario.APIServerProbe{}}},
	})
}

func TestCorrectAgentClock(t *testing.T) {
	t.Parallel()
	base := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	r := agentRun()
	const skew = 90 * time.Second // the agent's clock is ahead
	r.recorder.Emit(probe.Sample{Probe: "web", At: base.Add(skew), OK: true})
	r.recorder.Emit(probe.Sample{Probe: "api", At: base, OK: true})

	assert.Assert(t, r.correctAgentClock(nil) == nil)
	clock := probe.NewAgentClock(base.Add(-time.Second))
	assert.Assert(t, r.correctAgentClock(clock) == nil, "no line observed: nothing to report")

	// A heartbeat written at base (harness) arrives 20ms later, a sample line 50ms later.
	clock.Observe(base.Add(skew), base.Add(20*time.Millisecond), true)
	clock.Observe(base.Add(skew).Add(time.Millisecond), base.Add(51*time.Millisecond), false)
	got := r.correctAgentClock(clock)
	assert.DeepEqual(t, got, &reports.AgentClock{
		OffsetNs: -skew + 20*time.Millisecond, UncertaintyNs: time.Second + 20*time.Millisecond, Heartbeats: 1, Lines: 2,
	})
	assert.DeepEqual(t, r.recorder.Samples("web"), []probe.Sample{{Probe: "web", At: base.Add(20 * time.Millisecond), OK: true}})
	assert.DeepEqual(t, r.recorder.Samples("api"), []probe.Sample{{Probe: "api", At: base, OK: true}}) // harness samples stay
}

// TestDrainAgentClock checks that draining compares the agent's sample times with the
// harness clock through the estimate: an agent clock an hour behind is caught up as soon
// as its latest sample is, not after the whole limit.
func TestDrainAgentClock(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		const skew = -time.Hour
		r := agentRun()
		now := time.Now()
		r.recorder.Emit(probe.Sample{Probe: "web", At: now.Add(skew), OK: true})
		clock := probe.NewAgentClock(now.Add(-time.Minute))
		clock.Observe(now.Add(skew), now, true)

		start := time.Now()
		r.drainAgentClock("agent", clock, 5*time.Second)
		assert.Equal(t, time.Since(start), time.Duration(0))

		start = time.Now()
		r.drainAgent("agent", 5*time.Second) // without the clock it waits for samples that are there
		assert.Assert(t, time.Since(start) >= 5*time.Second)

		start = time.Now()
		r.drainAgentClock("", clock, 5*time.Second) // no agent
		assert.Equal(t, time.Since(start), time.Duration(0))
	})
}
