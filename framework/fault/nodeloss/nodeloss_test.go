package nodeloss_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/gameday-dev/gameday/clusters"
	"github.com/gameday-dev/gameday/framework/fault"
	"github.com/gameday-dev/gameday/framework/fault/nodeloss"
)

// world is a kind-like cluster: Node objects in a fake clientset and node machines
// in a fake NodeController, logging to one event log.
type world struct {
	log   *eventLog
	nodes *fakeNodes
	cs    *fake.Clientset
	env   fault.Env
}

// kindNodes is a three-worker kind cluster, listed out of name order.
func kindNodes() []*corev1.Node {
	return []*corev1.Node{
		node("gd-worker3", false, corev1.ConditionTrue),
		node("gd-control-plane", true, corev1.ConditionTrue),
		node("gd-worker", false, corev1.ConditionTrue),
		node("gd-worker2", false, corev1.ConditionTrue),
	}
}

func newWorld(objs ...*corev1.Node) *world {
	if objs == nil {
		objs = kindNodes()
	}
	w := &world{log: &eventLog{}}
	var names []string
	var robjs []runtime.Object
	for _, n := range objs {
		names = append(names, n.Name)
		robjs = append(robjs, n)
	}
	w.nodes = newFakeNodes(w.log, names...)
	w.cs = newClientset(w.log, robjs...)
	w.env = fault.Env{
		Cluster: &clusters.Cluster{Name: "gd", Provider: "kind", Nodes: w.nodes},
		Client:  w.cs, RunID: "run-1", Step: "lose-node",
	}
	return w
}

func (w *world) patcher() fault.Patcher {
	return func(ctx context.Context, name string, pt types.PatchType, data []byte, opts metav1.PatchOptions, sub ...string) error {
		_, err := w.cs.CoreV1().Nodes().Patch(ctx, name, pt, data, opts, sub...)
		return err
	}
}

// since returns the events logged after the first n.
func (w *world) since(n int) []string { return w.log.get()[n:] }

func (w *world) marker(t *testing.T, name string) (string, bool) {
	t.Helper()
	n, err := w.cs.CoreV1().Nodes().Get(testContext(t), name, metav1.GetOptions{})
	assert.NilError(t, err)
	v, ok := n.Annotations[fault.MarkerAnnotation]
	return v, ok
}

func record(mode nodeloss.Mode, node string) fault.Record {
	return fault.Record{
		ID: fault.RecordID("run-1", "lose-node", "node/"+node), Kind: nodeloss.Kind, Mode: string(mode),
		RunID: "run-1", Step: "lose-node", Cluster: "gd", Target: "node/" + node,
		PlannedAt: time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC),
	}
}

func TestSelectNodes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		target  nodeloss.Target
		want    []string
		wantErr []string
	}{
		{name: "one name", target: nodeloss.Target{Names: []string{"gd-worker2"}}, want: []string{"gd-worker2"}},
		{
			name:   "names keep their order, any role",
			target: nodeloss.Target{Names: []string{"gd-worker3", "gd-control-plane"}},
			want:   []string{"gd-worker3", "gd-control-plane"},
		},
		{
			name:    "missing name lists the nodes",
			target:  nodeloss.Target{Names: []string{"gd-worker", "gd-worker9"}},
			wantErr: []string{`no node named "gd-worker9"`, "(nodes: gd-control-plane, gd-worker, gd-worker2, gd-worker3)"},
		},
		{name: "one worker", target: nodeloss.Target{Role: nodeloss.RoleWorker, Count: 1}, want: []string{"gd-worker"}},
		{name: "two workers, first by name", target: nodeloss.Target{Role: nodeloss.RoleWorker, Count: 2}, want: []string{"gd-worker", "gd-worker2"}},
		{name: "all workers", target: nodeloss.Target{Role: nodeloss.RoleWorker, Count: 3}, want: []string{"gd-worker", "gd-worker2", "gd-worker3"}},
		{name: "control plane", target: nodeloss.Target{Role: nodeloss.RoleControlPlane, Count: 1}, want: []string{"gd-control-plane"}},
		{
			name:    "too many workers",
			target:  nodeloss.Target{Role: nodeloss.RoleWorker, Count: 4},
			wantErr: []string{"4 worker node(s) asked for, the cluster has 3 (gd-worker, gd-worker2, gd-worker3)"},
		},
		{
			name:    "too many control-plane nodes",
			target:  nodeloss.Target{Role: nodeloss.RoleControlPlane, Count: 2},
			wantErr: []string{"2 control-plane node(s) asked for, the cluster has 1 (gd-control-plane)"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld()
			got, err := nodeloss.SelectNodes(testContext(t), w.env, tc.target)
			if tc.wantErr != nil {
				for _, want := range tc.wantErr {
					assert.ErrorContains(t, err, want)
				}
				return
			}
			assert.NilError(t, err)
			assert.DeepEqual(t, got, tc.want)
		})
	}
}

// The choice by role does not depend on the order the API server lists nodes in, so
// the plan --dry-run prints is the plan that runs.
func TestSelectNodesDeterministic(t *testing.T) {
	t.Parallel()
	orders := [][]int{{0, 1, 2, 3}, {3, 2, 1, 0}, {2, 0, 3, 1}, {1, 3, 0, 2}}
	for _, order := range orders {
		all := kindNodes()
		var objs []*corev1.Node
		for _, i := range order {
			objs = append(objs, all[i])
		}
		w := newWorld(objs...)
		for range 3 {
			got, err := nodeloss.SelectNodes(testContext(t), w.env, nodeloss.Target{Role: nodeloss.RoleWorker, Count: 2})
			assert.NilError(t, err)
			assert.DeepEqual(t, got, []string{"gd-worker", "gd-worker2"})
		}
	}
}

func TestSelectNodesListError(t *testing.T) {
	t.Parallel()
	w := newWorld()
	w.cs.PrependReactor("list", "nodes", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: "nodes"}, "", errors.New("rbac"))
	})
	_, err := nodeloss.SelectNodes(testContext(t), w.env, nodeloss.Target{Role: nodeloss.RoleWorker, Count: 1})
	assert.ErrorContains(t, err, "listing nodes")
	assert.Assert(t, apierrors.IsForbidden(err))
}

func TestPlan(t *testing.T) {
	t.Parallel()
	w := newWorld()
	inj, err := fault.New(&nodeloss.Spec{Mode: nodeloss.Pause, Target: nodeloss.Target{Role: nodeloss.RoleWorker, Count: 2}})
	assert.NilError(t, err)
	before := time.Now().UTC()
	recs, err := inj.Plan(testContext(t), w.env)
	assert.NilError(t, err)
	assert.Equal(t, len(recs), 2)
	for i, n := range []string{"gd-worker", "gd-worker2"} {
		rec := recs[i]
		assert.Assert(t, !rec.PlannedAt.Before(before.Add(-time.Second)), "PlannedAt %v", rec.PlannedAt)
		rec.PlannedAt = time.Time{}
		assert.DeepEqual(t, rec, fault.Record{
			ID: "run-1/lose-node/node/" + n, Kind: "nodeLoss", Mode: "pause", RunID: "run-1", Step: "lose-node",
			Cluster: "gd", Target: "node/" + n,
		})
	}
	// Planning changes nothing.
	for _, e := range w.log.get() {
		assert.Assert(t, is.Regexp(`^api (list|get) `, e))
	}
	assert.DeepEqual(t, w.nodes.status("gd-worker"), "running")
}

func TestPlanRefusesClusterWithoutNodeController(t *testing.T) {
	t.Parallel()
	w := newWorld()
	w.env.Cluster = &clusters.Cluster{Name: "prod-context", Provider: "kubeconfig"}
	inj := &nodeloss.Injector{Spec: nodeloss.Spec{Target: nodeloss.Target{Names: []string{"gd-worker"}}}}
	recs, err := inj.Plan(testContext(t), w.env)
	assert.ErrorContains(t, err, `nodeLoss on cluster "prod-context"`)
	assert.ErrorContains(t, err, "set nodeLoss.allowExistingCluster: true")
	assert.ErrorContains(t, err, "the supported mode is killKubelet")
	assert.Assert(t, recs == nil)
	assert.Equal(t, len(w.log.get()), 0, "no API call either")
}

func TestPlanSelectError(t *testing.T) {
	t.Parallel()
	w := newWorld()
	inj := &nodeloss.Injector{Spec: nodeloss.Spec{Target: nodeloss.Target{Names: []string{"nope"}}}}
	_, err := inj.Plan(testContext(t), w.env)
	assert.ErrorContains(t, err, `no node named "nope"`)
}

func TestInject(t *testing.T) {
	t.Parallel()
	tests := []struct {
		mode       nodeloss.Mode
		wantAction string // the node controller call after the marker
		wantStatus string
	}{
		{mode: nodeloss.Stop, wantAction: "stop gd-worker2", wantStatus: "stopped/kubelet-stopped"},
		{mode: "", wantAction: "stop gd-worker2", wantStatus: "stopped/kubelet-stopped"},
		{mode: nodeloss.Pause, wantAction: "pause gd-worker2", wantStatus: "paused"},
		{mode: nodeloss.KillKubelet, wantAction: "exec gd-worker2 systemctl stop kubelet", wantStatus: "running/kubelet-stopped"},
	}
	for _, tc := range tests {
		t.Run("mode="+string(tc.mode), func(t *testing.T) {
			t.Parallel()
			w := newWorld()
			rec := record(tc.mode, "gd-worker2")
			assert.NilError(t, (&nodeloss.Injector{}).Inject(testContext(t), w.env, rec))

			// The marker goes on before the node is touched.
			assert.DeepEqual(t, w.log.get(), []string{"api patch nodes gd-worker2", tc.wantAction})
			actions := w.cs.Actions()
			assert.Equal(t, len(actions), 1)
			patch, ok := actions[0].(k8stesting.PatchAction)
			assert.Assert(t, ok, "%T", actions[0])
			assert.Equal(t, patch.GetName(), "gd-worker2")
			var body struct {
				Metadata struct {
					Annotations map[string]string `json:"annotations"`
				} `json:"metadata"`
			}
			assert.NilError(t, json.Unmarshal(patch.GetPatch(), &body))
			got, err := fault.ParseRecord(body.Metadata.Annotations[fault.MarkerAnnotation])
			assert.NilError(t, err)
			assert.DeepEqual(t, got, rec)

			assert.Equal(t, w.nodes.status("gd-worker2"), tc.wantStatus)
			v, marked := w.marker(t, "gd-worker2")
			assert.Assert(t, marked)
			assert.Equal(t, v, rec.Marshal())

			// Nothing else was touched.
			for _, other := range []string{"gd-worker", "gd-worker3", "gd-control-plane"} {
				assert.Equal(t, w.nodes.status(other), "running")
				_, marked := w.marker(t, other)
				assert.Assert(t, !marked, other)
			}
		})
	}
}

// If the marker cannot be set, the node is not touched: an unmarked lost node could
// not be found by `gameday recover`.
func TestInjectMarkerFailureLeavesNodeAlone(t *testing.T) {
	t.Parallel()
	for _, mode := range []nodeloss.Mode{nodeloss.Stop, nodeloss.Pause, nodeloss.KillKubelet} {
		t.Run(string(mode), func(t *testing.T) {
			t.Parallel()
			w := newWorld()
			w.cs.PrependReactor("patch", "nodes", func(k8stesting.Action) (bool, runtime.Object, error) {
				return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: "nodes"}, "gd-worker", errors.New("rbac"))
			})
			err := (&nodeloss.Injector{}).Inject(testContext(t), w.env, record(mode, "gd-worker"))
			assert.Assert(t, apierrors.IsForbidden(err), "%v", err)
			// The failing reactor answers before the logging one: the log holds no node call.
			assert.Equal(t, len(w.log.get()), 0, "%v", w.log.get())
			assert.Equal(t, len(w.cs.Actions()), 1)
			assert.Equal(t, w.cs.Actions()[0].GetVerb(), "patch")
			assert.Equal(t, w.nodes.status("gd-worker"), "running")
		})
	}
}

func TestInjectErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		setup   func(w *world)
		rec     fault.Record
		wantErr string
	}{
		{
			name:    "no node controller",
			setup:   func(w *world) { w.env.Cluster = &clusters.Cluster{Name: "ctx"} },
			rec:     record(nodeloss.Stop, "gd-worker"),
			wantErr: `cluster "ctx" has no node controller`,
		},
		{
			name:    "unknown mode",
			rec:     record("explode", "gd-worker"),
			wantErr: `unknown mode "explode"`,
		},
		{
			name:    "node object missing",
			rec:     record(nodeloss.Stop, "gd-worker9"),
			wantErr: "annotating gd-worker9",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld()
			if tc.setup != nil {
				tc.setup(w)
			}
			err := (&nodeloss.Injector{}).Inject(testContext(t), w.env, tc.rec)
			assert.ErrorContains(t, err, tc.wantErr)
			assert.Equal(t, w.nodes.status("gd-worker"), "running")
		})
	}
}

func TestRecover(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		mode       nodeloss.Mode
		inject     bool
		wantEvents []string
	}{
		{
			name: "stopped node is started", mode: nodeloss.Stop, inject: true,
			wantEvents: []string{"state gd-worker", "start gd-worker", "exec gd-worker systemctl start kubelet", "api patch nodes gd-worker"},
		},
		{
			name: "paused node is unpaused", mode: nodeloss.Pause, inject: true,
			wantEvents: []string{"state gd-worker", "unpause gd-worker", "exec gd-worker systemctl start kubelet", "api patch nodes gd-worker"},
		},
		{
			name: "stopped kubelet is started", mode: nodeloss.KillKubelet, inject: true,
			wantEvents: []string{"state gd-worker", "exec gd-worker systemctl start kubelet", "api patch nodes gd-worker"},
		},
		{
			name: "never injected", mode: nodeloss.Stop, inject: false,
			wantEvents: []string{"state gd-worker", "exec gd-worker systemctl start kubelet", "api patch nodes gd-worker"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := testContext(t)
			w := newWorld()
			in := &nodeloss.Injector{}
			rec := record(tc.mode, "gd-worker")
			if tc.inject {
				assert.NilError(t, in.Inject(ctx, w.env, rec))
			}

			n := len(w.log.get())
			assert.NilError(t, in.Recover(ctx, w.env, rec))
			assert.DeepEqual(t, w.since(n), tc.wantEvents)
			assert.Equal(t, w.nodes.status("gd-worker"), "running")
			_, marked := w.marker(t, "gd-worker")
			assert.Assert(t, !marked)

			// Recovering again is harmless: nothing to start, the kubelet start is a no-op.
			n = len(w.log.get())
			assert.NilError(t, in.Recover(ctx, w.env, rec))
			assert.DeepEqual(t, w.since(n), []string{"state gd-worker", "exec gd-worker systemctl start kubelet", "api patch nodes gd-worker"})
			assert.Equal(t, w.nodes.status("gd-worker"), "running")
		})
	}
}

// A recovery-only action (as `gameday recover` makes from a stored record)
// reverts whatever the record's mode; the marker only refers to the record.
func TestRecoverWithRecoveryOnlyInjector(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	w := newWorld()
	act, err := fault.New(&nodeloss.Spec{Mode: nodeloss.Pause, Target: nodeloss.Target{Names: []string{"gd-worker3"}}})
	assert.NilError(t, err)
	inj := act.(fault.Injector)
	recs, err := inj.Plan(ctx, w.env)
	assert.NilError(t, err)
	assert.NilError(t, inj.Inject(ctx, w.env, recs[0]))
	assert.Equal(t, w.nodes.status("gd-worker3"), "paused")
	marker, marked := w.marker(t, "gd-worker3")
	assert.Assert(t, marked)
	ref, err := fault.ParseRecord(marker)
	assert.NilError(t, err)
	assert.DeepEqual(t, ref, recs[0].Ref())

	rinj, err := fault.ForKind(nodeloss.Kind)
	assert.NilError(t, err)
	assert.NilError(t, rinj.Recover(ctx, w.env, recs[0]))
	assert.Equal(t, w.nodes.status("gd-worker3"), "running")
	_, marked = w.marker(t, "gd-worker3")
	assert.Assert(t, !marked)
}

// Right after a node starts, systemd may refuse commands: Recover retries the kubelet start.
func TestRecoverRetriesKubeletStart(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	w := newWorld()
	in := &nodeloss.Injector{}
	rec := record(nodeloss.Stop, "gd-worker")
	assert.NilError(t, in.Inject(ctx, w.env, rec))
	w.nodes.failExec = 2

	n := len(w.log.get())
	assert.NilError(t, in.Recover(ctx, w.env, rec))
	assert.DeepEqual(t, w.since(n), []string{
		"state gd-worker", "start gd-worker",
		"exec gd-worker systemctl start kubelet",
		// Each retry looks at the machine again (it may have stopped meanwhile).
		"state gd-worker",
		"exec gd-worker systemctl start kubelet",
		"state gd-worker",
		"exec gd-worker systemctl start kubelet",
		"api patch nodes gd-worker",
	})
	assert.Equal(t, w.nodes.status("gd-worker"), "running")
	_, marked := w.marker(t, "gd-worker")
	assert.Assert(t, !marked)
}

// When the kubelet cannot be started before the deadline, the marker stays so a
// later `gameday recover` finds the node.
func TestRecoverKubeletNeverStarts(t *testing.T) {
	t.Parallel()
	w := newWorld()
	in := &nodeloss.Injector{}
	rec := record(nodeloss.KillKubelet, "gd-worker")
	assert.NilError(t, in.Inject(testContext(t), w.env, rec))
	w.nodes.failExec = 1 << 20

	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	err := in.Recover(ctx, w.env, rec)
	assert.ErrorContains(t, err, "bringing node gd-worker back: starting the kubelet")
	assert.ErrorContains(t, err, "exit status 1")
	_, marked := w.marker(t, "gd-worker")
	assert.Assert(t, marked)
}

func TestRecoverErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		setup   func(w *world)
		wantErr string
	}{
		{
			name:    "no node controller",
			setup:   func(w *world) { w.env.Cluster = &clusters.Cluster{Name: "ctx"} },
			wantErr: `cluster "ctx" has no node controller to bring node gd-worker back`,
		},
		{
			name: "node machine gone",
			setup: func(w *world) {
				w.nodes.mu.Lock()
				delete(w.nodes.state, "gd-worker")
				w.nodes.mu.Unlock()
			},
			wantErr: "node gd-worker no longer exists",
		},
		{
			name: "unknown machine state",
			setup: func(w *world) {
				w.nodes.set("gd-worker", "restarting", false)
			},
			// An unknown state is left alone; the kubelet start then fails until the deadline.
			wantErr: "bringing node gd-worker back: starting the kubelet",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld()
			in := &nodeloss.Injector{}
			rec := record(nodeloss.Stop, "gd-worker")
			assert.NilError(t, fault.SetMarker(testContext(t), w.patcher(), "gd-worker", rec))
			tc.setup(w)
			ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			defer cancel()
			err := in.Recover(ctx, w.env, rec)
			assert.ErrorContains(t, err, tc.wantErr)
			_, marked := w.marker(t, "gd-worker")
			assert.Assert(t, marked, "the marker stays until the node is back")
		})
	}
}

// The Node object may be gone (deleted by the node lifecycle controller or by hand)
// while the machine is still there: Recover still brings the machine back.
func TestRecoverNodeObjectGone(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	w := newWorld()
	in := &nodeloss.Injector{}
	rec := record(nodeloss.Stop, "gd-worker")
	assert.NilError(t, in.Inject(ctx, w.env, rec))
	assert.NilError(t, w.cs.CoreV1().Nodes().Delete(ctx, "gd-worker", metav1.DeleteOptions{}))
	assert.NilError(t, in.Recover(ctx, w.env, rec))
	assert.Equal(t, w.nodes.status("gd-worker"), "running")
}

func TestVerify(t *testing.T) {
	t.Parallel()
	rec := record(nodeloss.Stop, "gd-worker")
	tests := []struct {
		name    string
		node    *corev1.Node // the gd-worker Node object; nil: none
		machine clusters.NodeState
		noCtl   bool
		wantErr string // "" passes
	}{
		{name: "ready", node: node("gd-worker", false, corev1.ConditionTrue), machine: clusters.NodeRunning},
		{name: "ready without node controller", node: node("gd-worker", false, corev1.ConditionTrue), noCtl: true},
		{
			name: "marker present",
			node: func() *corev1.Node {
				n := node("gd-worker", false, corev1.ConditionTrue)
				n.Annotations = map[string]string{fault.MarkerAnnotation: rec.Marshal()}
				return n
			}(),
			machine: clusters.NodeRunning, wantErr: "node gd-worker still carries a fault marker",
		},
		{name: "not ready", node: node("gd-worker", false, corev1.ConditionFalse), machine: clusters.NodeRunning, wantErr: "node gd-worker is not Ready"},
		{name: "ready unknown", node: node("gd-worker", false, corev1.ConditionUnknown), machine: clusters.NodeRunning, wantErr: "is not Ready"},
		{name: "no conditions", node: node("gd-worker", false, ""), machine: clusters.NodeRunning, wantErr: "is not Ready"},
		{name: "stopped", node: node("gd-worker", false, corev1.ConditionTrue), machine: clusters.NodeStopped, wantErr: "node gd-worker is stopped"},
		{name: "paused", node: node("gd-worker", false, corev1.ConditionTrue), machine: clusters.NodePaused, wantErr: "node gd-worker is paused"},
		{name: "machine missing", node: node("gd-worker", false, corev1.ConditionTrue), machine: clusters.NodeMissing, wantErr: "node gd-worker is missing"},
		{name: "node object missing", machine: clusters.NodeRunning, wantErr: "node gd-worker: "},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var objs []*corev1.Node
			if tc.node != nil {
				objs = append(objs, tc.node)
			}
			w := newWorld(append(objs, node("gd-worker2", false, corev1.ConditionTrue))...)
			switch tc.machine {
			case clusters.NodeMissing:
				w.nodes.mu.Lock()
				delete(w.nodes.state, "gd-worker")
				w.nodes.mu.Unlock()
			case "":
			default:
				w.nodes.set("gd-worker", tc.machine, tc.machine == clusters.NodeRunning)
			}
			if tc.noCtl {
				w.env.Cluster.Nodes = nil
			}
			var v fault.Verifier = &nodeloss.Injector{}
			err := v.Verify(testContext(t), w.env, rec)
			if tc.wantErr == "" {
				assert.NilError(t, err)
				return
			}
			assert.ErrorContains(t, err, tc.wantErr)
		})
	}
}

func TestDescribe(t *testing.T) {
	t.Parallel()
	tests := []struct {
		mode nodeloss.Mode
		want string
	}{
		{nodeloss.Stop, "stop node gd-worker"},
		{"", "stop node gd-worker"},
		{nodeloss.Pause, "freeze node gd-worker"},
		{nodeloss.KillKubelet, "stop the kubelet on node gd-worker"},
	}
	for _, tc := range tests {
		t.Run(string(tc.mode), func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, (&nodeloss.Injector{}).Describe(record(tc.mode, "gd-worker")), tc.want)
		})
	}
}

// testContext bounds a test's calls, so a recovery that would retry forever fails
// the test instead of hanging it.
func testContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// A harness killed in the middle of `docker stop` leaves a node that still runs but
// is shutting down: Recover waits until it can really bring it back.
func TestRecoverWaitsOutAShutdown(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	w := newWorld()
	in := &nodeloss.Injector{}
	rec := record(nodeloss.Stop, "gd-worker")
	assert.NilError(t, in.Inject(ctx, w.env, rec))
	assert.NilError(t, w.nodes.StartNode(ctx, "gd-worker")) // still "running"...
	w.nodes.mu.Lock()
	w.nodes.stopping["gd-worker"] = 2 // ...but shutting down for two more looks
	w.nodes.mu.Unlock()

	n := len(w.log.get())
	assert.NilError(t, in.Recover(ctx, w.env, rec))
	assert.DeepEqual(t, w.since(n), []string{
		"state gd-worker", "state gd-worker", "state gd-worker",
		"exec gd-worker systemctl start kubelet",
		"api patch nodes gd-worker",
	})
}
