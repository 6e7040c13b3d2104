package nodeloss_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/gameday-dev/gameday/clusters"
	"github.com/gameday-dev/gameday/framework/fault"
	"github.com/gameday-dev/gameday/framework/fault/nodeloss"
	"github.com/gameday-dev/gameday/framework/nodeagent"
)

var (
	podsGVR  = corev1.SchemeGroupVersion.WithResource("pods")
	nodesGVR = corev1.SchemeGroupVersion.WithResource("nodes")
)

const agentPod = "gameday-node-agent-gd-worker"

// agentSim plays, on a fake clientset, the node agent and the kubelet of one node. When
// the agent pod is created, onCreate says what the agent does (stop the kubelet, fail
// to start, ...). Deleting the pod while the kubelet is stopped only marks it for
// deletion, as the API server does with a pod only its kubelet can remove; while the
// kubelet runs, the pod goes at once (the agent, signalled, starts the kubelet and
// exits). startKubelet is the agent's dead-man's switch.
type agentSim struct {
	cs   *fake.Clientset
	node string

	mu       sync.Mutex
	kubelet  bool // whether the kubelet runs
	onCreate func(s *agentSim, p *corev1.Pod)
}

func newAgentSim(t *testing.T, cs *fake.Clientset, node string) *agentSim {
	t.Helper()
	s := &agentSim{cs: cs, node: node, kubelet: true}
	cs.PrependReactor("create", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
		p := a.(k8stesting.CreateAction).GetObject().(*corev1.Pod)
		if _, err := cs.Tracker().Get(podsGVR, p.Namespace, p.Name); err == nil {
			return false, nil, nil // the create fails: no agent starts
		}
		s.mu.Lock()
		f := s.onCreate
		s.mu.Unlock()
		if f != nil {
			f(s, p) // changes to p are what the fake stores
		}
		return false, nil, nil
	})
	cs.PrependReactor("delete", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.kubelet {
			return false, nil, nil
		}
		d := a.(k8stesting.DeleteAction)
		obj, err := cs.Tracker().Get(podsGVR, d.GetNamespace(), d.GetName())
		if err != nil {
			return false, nil, nil
		}
		p := obj.(*corev1.Pod).DeepCopy()
		now := metav1.Now()
		p.DeletionTimestamp = &now
		return true, nil, cs.Tracker().Update(podsGVR, p, d.GetNamespace())
	})
	return s
}

// stopsKubelet is an agent that stops the kubelet as soon as its pod exists; the Node
// goes NotReady when notReady is set (else only its Lease stops being renewed).
func stopsKubelet(notReady bool) func(s *agentSim, p *corev1.Pod) {
	return func(s *agentSim, p *corev1.Pod) {
		p.Status.Phase = corev1.PodRunning
		s.mu.Lock()
		s.kubelet = false
		s.mu.Unlock()
		if notReady {
			s.setReady(corev1.ConditionUnknown)
		}
	}
}

func (s *agentSim) setReady(status corev1.ConditionStatus) {
	obj, err := s.cs.Tracker().Get(nodesGVR, "", s.node)
	if err != nil {
		return
	}
	n := obj.(*corev1.Node).DeepCopy()
	for i, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			n.Status.Conditions[i].Status = status
			n.Status.Conditions[i].Reason = "NodeStatusUnknown"
		}
	}
	_ = s.cs.Tracker().Update(nodesGVR, n, "")
}

// startKubelet is the dead-man's switch: the kubelet runs again, the Node is Ready,
// and the agent pod, its agent done, is removed if it was deleted or else Succeeded.
func (s *agentSim) startKubelet() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.kubelet = true
	s.setReady(corev1.ConditionTrue)
	obj, err := s.cs.Tracker().Get(podsGVR, nodeagent.Namespace, agentPod)
	if err != nil {
		return
	}
	p := obj.(*corev1.Pod).DeepCopy()
	if p.DeletionTimestamp != nil {
		_ = s.cs.Tracker().Delete(podsGVR, nodeagent.Namespace, agentPod)
		return
	}
	p.Status.Phase = corev1.PodSucceeded
	_ = s.cs.Tracker().Update(podsGVR, p, nodeagent.Namespace)
}

func (s *agentSim) kubeletRuns() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.kubelet
}

// existingWorld is newWorld reached as an existing cluster (no NodeController), with
// the node agent and kubelet of gd-worker simulated.
func existingWorld(t *testing.T, objs ...*corev1.Node) (*world, *agentSim) {
	t.Helper()
	w := newWorld(objs...)
	w.env.Cluster = &clusters.Cluster{Name: "prod-context", Provider: "kubeconfig"}
	w.env.Hold = 45 * time.Second
	return w, newAgentSim(t, w.cs, "gd-worker")
}

// fast paces the node agent path for tests: the agent is seen stopped within 500ms,
// Recover waits 300ms beyond the hold.
func fast() *nodeloss.Injector {
	return nodeloss.SetAgentTiming(&nodeloss.Injector{}, 5*time.Millisecond, 500*time.Millisecond, 50*time.Millisecond, 300*time.Millisecond)
}

// agentRecord is a killKubelet record planned now for the node agent.
func agentRecord(node string, hold time.Duration) fault.Record {
	rec := record(nodeloss.KillKubelet, node)
	rec.Cluster = "prod-context"
	rec.PlannedAt = time.Now().UTC()
	rec.Restore = map[string]string{"via": "nodeAgent", "namespace": "gameday-system", "pod": nodeagent.PodName(node), "hold": hold.String()}
	return rec
}

func TestPlanExistingCluster(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		spec    nodeloss.Spec
		hold    time.Duration
		wantErr []string
		notErr  string
	}{
		{
			name:    "no opt-in",
			spec:    nodeloss.Spec{Mode: nodeloss.KillKubelet},
			wantErr: []string{`cluster "prod-context"`, "set nodeLoss.allowExistingCluster: true"},
			notErr:  "mode",
		},
		{
			name:    "stop",
			spec:    nodeloss.Spec{Mode: nodeloss.Stop, AllowExistingCluster: true},
			wantErr: []string{`nodeLoss mode "stop" needs a kind cluster`, `on existing cluster "prod-context" the supported mode is killKubelet`},
			notErr:  "allowExistingCluster",
		},
		{
			name:    "default mode is stop",
			spec:    nodeloss.Spec{AllowExistingCluster: true},
			wantErr: []string{`nodeLoss mode "stop" needs a kind cluster`, "the supported mode is killKubelet"},
		},
		{
			name:    "pause",
			spec:    nodeloss.Spec{Mode: nodeloss.Pause, AllowExistingCluster: true},
			wantErr: []string{`nodeLoss mode "pause" needs a kind cluster`, "the supported mode is killKubelet"},
		},
		{
			name:    "every problem at once",
			spec:    nodeloss.Spec{Mode: nodeloss.Pause},
			wantErr: []string{"nodeLoss.allowExistingCluster: true", `nodeLoss mode "pause"`},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w, _ := existingWorld(t)
			tc.spec.Target = nodeloss.Target{Names: []string{"gd-worker"}}
			recs, err := (&nodeloss.Injector{Spec: tc.spec}).Plan(testContext(t), w.env)
			for _, want := range tc.wantErr {
				assert.ErrorContains(t, err, want)
			}
			if tc.notErr != "" {
				assert.Assert(t, !strings.Contains(err.Error(), tc.notErr), "%v", err)
			}
			assert.Assert(t, recs == nil)
			assert.Equal(t, len(w.cs.Actions()), 0, "refused before any API call")
		})
	}
}

func TestPlanExistingClusterKillKubelet(t *testing.T) {
	t.Parallel()
	w, _ := existingWorld(t)
	spec := &nodeloss.Spec{Mode: nodeloss.KillKubelet, AllowExistingCluster: true, Target: nodeloss.Target{Role: nodeloss.RoleWorker, Count: 2}}
	act, err := fault.New(spec)
	assert.NilError(t, err)
	inj := act.(fault.Injector)
	recs, err := inj.Plan(testContext(t), w.env)
	assert.NilError(t, err)
	assert.Equal(t, len(recs), 2)
	for i, n := range []string{"gd-worker", "gd-worker2"} {
		rec := recs[i]
		rec.PlannedAt = time.Time{}
		assert.DeepEqual(t, rec, fault.Record{
			ID: "run-1/lose-node/node/" + n, Kind: "nodeLoss", Mode: "killKubelet", RunID: "run-1", Step: "lose-node",
			Cluster: "prod-context", Target: "node/" + n,
			Restore: map[string]string{"via": "nodeAgent", "namespace": "gameday-system", "pod": "gameday-node-agent-" + n, "hold": "45s"},
		})
	}
	assert.Equal(t, inj.Describe(recs[0]), "stop the kubelet on node gd-worker through a node agent pod (it starts the kubelet again after 45s)")
	for _, a := range w.cs.Actions() {
		assert.Equal(t, a.GetVerb(), "list", "planning changes nothing")
	}

	// A dry run knows no hold: the record says so, and Inject refuses it.
	w.env.Hold = 0
	recs, err = inj.Plan(testContext(t), w.env)
	assert.NilError(t, err)
	_, ok := recs[0].Restore["hold"]
	assert.Assert(t, !ok)
	assert.Equal(t, inj.Describe(recs[0]), "stop the kubelet on node gd-worker through a node agent pod")
	n := len(w.cs.Actions())
	err = inj.Inject(testContext(t), w.env, recs[0])
	assert.ErrorContains(t, err, "has no hold time")
	assert.Equal(t, len(w.cs.Actions()), n, "refused before any API call")
}

func TestInjectWithAgent(t *testing.T) {
	t.Parallel()
	w, sim := existingWorld(t)
	sim.onCreate = stopsKubelet(true)
	rec := agentRecord("gd-worker", 45*time.Second)
	assert.NilError(t, fast().Inject(testContext(t), w.env, rec))
	assert.Assert(t, !sim.kubeletRuns())

	// The Node is checked and marked, then the namespace and the pod are created.
	var writes []string
	for _, a := range w.cs.Actions() {
		if a.GetVerb() != "get" && a.GetVerb() != "list" {
			writes = append(writes, a.GetVerb()+" "+a.GetResource().Resource)
		}
	}
	assert.DeepEqual(t, writes, []string{"patch nodes", "create namespaces", "create pods"})
	assert.Equal(t, w.cs.Actions()[0].GetVerb(), "get")
	v, marked := w.marker(t, "gd-worker")
	assert.Assert(t, marked)
	assert.Equal(t, v, rec.Ref().Marshal())

	ns, err := w.cs.CoreV1().Namespaces().Get(testContext(t), "gameday-system", metav1.GetOptions{})
	assert.NilError(t, err)
	assert.Equal(t, ns.Labels["app.kubernetes.io/managed-by"], "gameday")
	p, err := w.cs.CoreV1().Pods("gameday-system").Get(testContext(t), agentPod, metav1.GetOptions{})
	assert.NilError(t, err)
	want := nodeagent.Pod("gd-worker", "", 45*time.Second, rec.ID)
	assert.DeepEqual(t, p.Spec, want.Spec)
	assert.DeepEqual(t, p.Annotations, want.Annotations)

	// Others are untouched.
	for _, other := range []string{"gd-worker2", "gd-worker3", "gd-control-plane"} {
		_, marked := w.marker(t, other)
		assert.Assert(t, !marked, other)
	}
}

// An existing namespace is fine, and the image can be chosen.
func TestInjectWithAgentExistingNamespaceAndImage(t *testing.T) {
	t.Parallel()
	w, sim := existingWorld(t)
	sim.onCreate = stopsKubelet(true)
	_, err := w.cs.CoreV1().Namespaces().Create(testContext(t), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "gameday-system"}}, metav1.CreateOptions{})
	assert.NilError(t, err)
	in := fast()
	in.AgentImage = "registry.local/gameday:v1"
	assert.NilError(t, in.Inject(testContext(t), w.env, agentRecord("gd-worker", time.Minute)))
	p, err := w.cs.CoreV1().Pods("gameday-system").Get(testContext(t), agentPod, metav1.GetOptions{})
	assert.NilError(t, err)
	assert.Equal(t, p.Spec.Containers[0].Image, "registry.local/gameday:v1")
	assert.DeepEqual(t, p.Spec.Containers[0].Args, []string{"node-agent", "--stop-kubelet-for", "1m0s", "--host-root", "/proc/1/root"})
}

// The Node goes NotReady only after 40s or so; a Lease that stops being renewed tells
// sooner that the kubelet stopped.
func TestInjectWithAgentSeesLeaseStop(t *testing.T) {
	t.Parallel()
	w, sim := existingWorld(t)
	sim.onCreate = stopsKubelet(false)
	renewed := metav1.NewMicroTime(time.Now().Add(-time.Hour)) // the node's clock does not matter
	_, err := w.cs.CoordinationV1().Leases("kube-node-lease").Create(testContext(t), &coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{Name: "gd-worker", Namespace: "kube-node-lease"},
		Spec:       coordinationv1.LeaseSpec{RenewTime: &renewed},
	}, metav1.CreateOptions{})
	assert.NilError(t, err)
	start := time.Now()
	assert.NilError(t, fast().Inject(testContext(t), w.env, agentRecord("gd-worker", time.Minute)))
	assert.Assert(t, time.Since(start) >= 50*time.Millisecond, "stale only after leaseStale: %s", time.Since(start))
}

// A kubelet that keeps renewing its Lease and keeps its Node Ready was not stopped.
func TestInjectWithAgentTimesOut(t *testing.T) {
	t.Parallel()
	w, _ := existingWorld(t)
	w.cs.PrependReactor("get", "leases", func(k8stesting.Action) (bool, runtime.Object, error) {
		now := metav1.NowMicro()
		return true, &coordinationv1.Lease{Spec: coordinationv1.LeaseSpec{RenewTime: &now}}, nil
	})
	err := fast().Inject(testContext(t), w.env, agentRecord("gd-worker", time.Minute))
	assert.ErrorContains(t, err, "the node agent did not stop the kubelet on node gd-worker within 500ms")
	assert.ErrorContains(t, err, "last seen: agent pod phase Pending, node Ready")
	_, marked := w.marker(t, "gd-worker")
	assert.Assert(t, marked, "the marker stays for recovery")
}

func TestInjectWithAgentPodOutcomes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		agent   func(s *agentSim, p *corev1.Pod)
		wantErr string // "" succeeds
	}{
		{
			name: "image not on the node",
			agent: func(_ *agentSim, p *corev1.Pod) {
				p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "node-agent", State: corev1.ContainerState{
					Waiting: &corev1.ContainerStateWaiting{Reason: "ErrImageNeverPull", Message: "image gameday/gameday:dev not present"},
				}}}
			},
			wantErr: "node agent pod gameday-system/gameday-node-agent-gd-worker cannot start: container node-agent: ErrImageNeverPull: image gameday/gameday:dev not present",
		},
		{
			name: "agent failed",
			agent: func(_ *agentSim, p *corev1.Pod) {
				p.Status.Phase = corev1.PodFailed
				p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "node-agent", State: corev1.ContainerState{
					Terminated: &corev1.ContainerStateTerminated{ExitCode: 3, Reason: "Error"},
				}}}
			},
			wantErr: "node agent pod gameday-system/gameday-node-agent-gd-worker failed: phase Failed, container exited 3 Error; agent log: fake logs",
		},
		{
			name:  "agent already done",
			agent: func(_ *agentSim, p *corev1.Pod) { p.Status.Phase = corev1.PodSucceeded },
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w, sim := existingWorld(t)
			sim.onCreate = tc.agent
			err := fast().Inject(testContext(t), w.env, agentRecord("gd-worker", time.Minute))
			if tc.wantErr == "" {
				assert.NilError(t, err)
				return
			}
			assert.ErrorContains(t, err, tc.wantErr)
		})
	}
}

func TestInjectWithAgentRefusals(t *testing.T) {
	t.Parallel()
	other := agentRecord("gd-worker", time.Minute)
	other.ID = "run-0/lose-node/node/gd-worker"
	tests := []struct {
		name       string
		setup      func(t *testing.T, w *world)
		wantErr    string
		wantMarker bool
	}{
		{
			name: "node not Ready",
			setup: func(t *testing.T, w *world) {
				assert.NilError(t, w.cs.Tracker().Update(nodesGVR, node("gd-worker", false, corev1.ConditionFalse), ""))
			},
			wantErr: "node gd-worker is not Ready before the fault",
		},
		{
			name:    "node missing",
			setup:   func(t *testing.T, w *world) { assert.NilError(t, w.cs.Tracker().Delete(nodesGVR, "", "gd-worker")) },
			wantErr: "node gd-worker: ",
		},
		{
			name: "another fault holds the node",
			setup: func(t *testing.T, w *world) {
				assert.NilError(t, fault.SetMarker(testContext(t), w.patcher(), "gd-worker", other))
			},
			wantErr:    `node gd-worker already carries fault "run-0/lose-node/node/gd-worker"`,
			wantMarker: true,
		},
		{
			name: "another fault's agent pod",
			setup: func(t *testing.T, w *world) {
				_, err := w.cs.CoreV1().Pods("gameday-system").Create(testContext(t), nodeagent.Pod("gd-worker", "", time.Minute, other.ID), metav1.CreateOptions{})
				assert.NilError(t, err)
			},
			wantErr:    `node agent pod gameday-system/gameday-node-agent-gd-worker already exists for fault "run-0/lose-node/node/gd-worker"`,
			wantMarker: true, // ours: Recover removes it
		},
		{
			name: "privileged pods forbidden",
			setup: func(t *testing.T, w *world) {
				w.cs.PrependReactor("create", "pods", func(k8stesting.Action) (bool, runtime.Object, error) {
					return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: "pods"}, agentPod, errors.New(`violates PodSecurity "baseline:latest"`))
				})
			},
			wantErr:    "e.g. with the label pod-security.kubernetes.io/enforce=privileged",
			wantMarker: true,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w, sim := existingWorld(t)
			tc.setup(t, w)
			sim.onCreate = stopsKubelet(true)
			err := fast().Inject(testContext(t), w.env, agentRecord("gd-worker", time.Minute))
			assert.ErrorContains(t, err, tc.wantErr)
			assert.Assert(t, sim.kubeletRuns())
			if tc.name != "node missing" {
				_, marked := w.marker(t, "gd-worker")
				assert.Equal(t, marked, tc.wantMarker)
			}
		})
	}
}

// The usual path: the agent's hold is over when the step ends; Recover removes the
// finished pod and the marker.
func TestRecoverWithAgentAfterHold(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	w, sim := existingWorld(t)
	sim.onCreate = stopsKubelet(true)
	in := fast()
	rec := agentRecord("gd-worker", 45*time.Second)
	assert.NilError(t, in.Inject(ctx, w.env, rec))
	sim.startKubelet()

	assert.NilError(t, in.Recover(ctx, w.env, rec))
	assertAgentRecovered(t, w, in, rec)
	// Recovering again is harmless.
	assert.NilError(t, in.Recover(ctx, w.env, rec))
	assertAgentRecovered(t, w, in, rec)
}

// Recover while the kubelet is still stopped (an abort during the hold) waits for the
// dead-man's switch: the deletion is carried out once the kubelet runs again.
func TestRecoverWithAgentWaitsForDeadMansSwitch(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	w, sim := existingWorld(t)
	sim.onCreate = stopsKubelet(true)
	in := fast()
	rec := agentRecord("gd-worker", 45*time.Second)
	assert.NilError(t, in.Inject(ctx, w.env, rec))

	go func() {
		time.Sleep(200 * time.Millisecond)
		sim.startKubelet()
	}()
	start := time.Now()
	assert.NilError(t, in.Recover(ctx, w.env, rec))
	assert.Assert(t, time.Since(start) >= 200*time.Millisecond, "recovered before the kubelet ran: %s", time.Since(start))
	assertAgentRecovered(t, w, in, rec)
}

// While the kubelet runs (the agent has not stopped it yet), deleting the pod ends the
// agent at once.
func TestRecoverWithAgentBeforeStop(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	w, _ := existingWorld(t)
	in := fast()
	rec := agentRecord("gd-worker", time.Hour)
	err := in.Inject(ctx, w.env, rec) // the agent never stops the kubelet: Inject times out
	assert.ErrorContains(t, err, "did not stop the kubelet")
	assert.NilError(t, in.Recover(ctx, w.env, rec))
	assertAgentRecovered(t, w, in, rec)
}

// The caller's time runs out before the agent's hold does: the error says when the
// kubelet comes back and what to run; the marker stays for `gameday recover`.
func TestRecoverWithAgentBeforeHoldEnds(t *testing.T) {
	t.Parallel()
	w, sim := existingWorld(t)
	sim.onCreate = stopsKubelet(true)
	in := fast()
	rec := agentRecord("gd-worker", time.Hour)
	assert.NilError(t, in.Inject(testContext(t), w.env, rec))

	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	err := in.Recover(ctx, w.env, rec)
	assert.ErrorContains(t, err, "the kubelet of node gd-worker is still stopped: node gd-worker is Ready=Unknown (NodeStatusUnknown)")
	assert.ErrorContains(t, err, "node agent pod gameday-system/gameday-node-agent-gd-worker is still there (phase Running, deleting)")
	assert.ErrorContains(t, err, "the node agent starts it again by about")
	assert.ErrorContains(t, err, "run `gameday recover` after that")
	assert.ErrorContains(t, err, "log in to node gd-worker and run `systemctl start kubelet`")
	_, marked := w.marker(t, "gd-worker")
	assert.Assert(t, marked)
	assert.ErrorContains(t, in.Verify(testContext(t), w.env, rec), "node agent pod gameday-system/gameday-node-agent-gd-worker is still there")
}

// The agent's switch never brings the kubelet back (the start failed): after the hold
// and the grace time, the error tells the operator what to run on the node.
func TestRecoverWithAgentKubeletNeverBack(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		podGone  bool
		wantPod  bool
		wantNode string
	}{
		{name: "pod stuck", wantPod: true, wantNode: "node gd-worker is Ready=Unknown"},
		{name: "pod force-deleted", podGone: true, wantNode: "node gd-worker is Ready=Unknown"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := testContext(t)
			w, sim := existingWorld(t)
			sim.onCreate = stopsKubelet(true)
			in := fast()
			rec := agentRecord("gd-worker", 10*time.Millisecond)
			assert.NilError(t, in.Inject(ctx, w.env, rec))
			if tc.podGone {
				assert.NilError(t, w.cs.Tracker().Delete(podsGVR, "gameday-system", agentPod))
			}
			start := time.Now()
			err := in.Recover(ctx, w.env, rec)
			assert.Assert(t, time.Since(start) < 5*time.Second)
			assert.ErrorContains(t, err, "node gd-worker did not come back after the node agent's hold ended")
			assert.ErrorContains(t, err, tc.wantNode)
			assert.ErrorContains(t, err, "log in to node gd-worker and run `systemctl start kubelet`")
			assert.Equal(t, strings.Contains(err.Error(), "is still there"), tc.wantPod, "%v", err)
			_, marked := w.marker(t, "gd-worker")
			assert.Assert(t, marked, "the marker stays until the node is back")
			assert.ErrorContains(t, in.Verify(ctx, w.env, rec), "gd-worker")
		})
	}
}

// Reverting a record that was refused because another fault holds the node leaves
// the other fault's marker and pod alone.
func TestRecoverWithAgentLeavesOtherFaultAlone(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	w, sim := existingWorld(t)
	sim.onCreate = stopsKubelet(true)
	in := fast()
	other := agentRecord("gd-worker", time.Hour)
	other.ID = "run-0/lose-node/node/gd-worker"
	assert.NilError(t, in.Inject(ctx, w.env, other))

	mine := agentRecord("gd-worker", time.Minute)
	assert.ErrorContains(t, in.Inject(ctx, w.env, mine), "already carries fault")
	assert.NilError(t, in.Recover(ctx, w.env, mine))
	v, marked := w.marker(t, "gd-worker")
	assert.Assert(t, marked)
	assert.Equal(t, v, other.Ref().Marshal())
	p, err := w.cs.CoreV1().Pods("gameday-system").Get(ctx, agentPod, metav1.GetOptions{})
	assert.NilError(t, err)
	assert.Assert(t, p.DeletionTimestamp == nil)
}

// A record never injected (planned, then the run stopped) recovers at once.
func TestRecoverWithAgentNeverInjected(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	w, _ := existingWorld(t)
	in := fast()
	rec := agentRecord("gd-worker", time.Hour)
	start := time.Now()
	assert.NilError(t, in.Recover(ctx, w.env, rec))
	assert.Assert(t, time.Since(start) < time.Second)
	assertAgentRecovered(t, w, in, rec)
}

// `gameday recover` reverts the stored record with a recovery-only action; the
// Node's marker holds no restore data.
func TestRecoverWithAgentFromMarker(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	w, sim := existingWorld(t)
	sim.onCreate = stopsKubelet(true)
	rec := agentRecord("gd-worker", 45*time.Second)
	assert.NilError(t, fast().Inject(ctx, w.env, rec))
	sim.startKubelet()

	rinj, err := fault.ForKind(nodeloss.Kind)
	assert.NilError(t, err)
	env := fault.Env{Cluster: w.env.Cluster, Client: w.cs} // as recover builds it: no run, no hold
	marker, marked := w.marker(t, "gd-worker")
	assert.Assert(t, marked)
	ref, err := fault.ParseRecord(marker)
	assert.NilError(t, err)
	assert.Equal(t, len(ref.Restore), 0, "no restore data in the marker")
	assert.NilError(t, rinj.Recover(ctx, env, rec))
	assertAgentRecovered(t, w, rinj.(fault.Verifier), rec)
}

func assertAgentRecovered(t *testing.T, w *world, v fault.Verifier, rec fault.Record) {
	t.Helper()
	_, marked := w.marker(t, "gd-worker")
	assert.Assert(t, !marked)
	_, err := w.cs.CoreV1().Pods("gameday-system").Get(testContext(t), agentPod, metav1.GetOptions{})
	assert.Assert(t, apierrors.IsNotFound(err), "%v", err)
	assert.NilError(t, v.Verify(testContext(t), w.env, rec))
}
