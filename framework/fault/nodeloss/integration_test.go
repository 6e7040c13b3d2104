package nodeloss_test

import (
	"context"
	"io"
	"os"
	"sort"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"

	"github.com/gameday-dev/gameday/clusters"
	"github.com/gameday-dev/gameday/framework/fault"
	"github.com/gameday-dev/gameday/framework/fault/nodeloss"
	"github.com/gameday-dev/gameday/framework/nodeagent"
)

// e2eCluster is the kind cluster the real-cluster tests share.
const e2eCluster = "gd-e2e"

// agentWorld is the shared kind cluster reached as an existing cluster: the node
// controller is dropped from the handle the injector sees (it is kept only to check the
// kubelet from outside), so nodeLoss must go through the node agent.
type agentWorld struct {
	env    fault.Env
	client kubernetes.Interface
	kind   clusters.NodeController
	node   string
}

func newAgentWorld(t *testing.T, ctx context.Context, step string, hold time.Duration) *agentWorld {
	t.Helper()
	if testing.Short() {
		t.Skip("real cluster test: creates or reuses kind cluster gd-e2e; run without -short after `make testbed`")
	}
	if clusters.DefaultNodeImage(ctx) == "" {
		t.Fatalf("no offline node image %s: run `make testbed` first", clusters.OfflineNodeImage(clusters.DefaultKubernetesVersion))
	}
	k := &clusters.Kind{Name: e2eCluster, Config: "1cp-2w", Reuse: true}
	cl, err := k.Up(ctx)
	assert.NilError(t, err)
	if cl.Created && os.Getenv("GAMEDAY_KEEP_E2E_CLUSTER") == "" {
		t.Cleanup(func() { _ = k.Down(context.Background()) })
	}
	assert.NilError(t, k.LoadImages(ctx, nodeagent.DefaultImage))
	client, err := cl.Clientset()
	assert.NilError(t, err)

	// The last worker by name: tests of other packages lose the first one.
	list, err := client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	assert.NilError(t, err)
	var workers []string
	for _, n := range list.Items {
		if _, cp := n.Labels["node-role.kubernetes.io/control-plane"]; !cp {
			workers = append(workers, n.Name)
		}
	}
	assert.Assert(t, len(workers) > 0, "no worker in %s", e2eCluster)
	sort.Strings(workers)

	existing := *cl
	existing.Nodes = nil
	return &agentWorld{
		env: fault.Env{
			Cluster: &existing, Client: client, Hold: hold,
			RunID: "it-" + time.Now().UTC().Format("20060102t150405"), Step: step,
		},
		client: client, kind: cl.Nodes, node: workers[len(workers)-1],
	}
}

// plan plans killKubelet on the world's node and reverts it when the test ends, whatever
// happened.
func (w *agentWorld) plan(t *testing.T, ctx context.Context) (*nodeloss.Injector, fault.Record) {
	t.Helper()
	in := &nodeloss.Injector{Spec: nodeloss.Spec{
		Mode: nodeloss.KillKubelet, AllowExistingCluster: true,
		Target: nodeloss.Target{Names: []string{w.node}},
	}}
	recs, err := in.Plan(ctx, w.env)
	assert.NilError(t, err)
	assert.Equal(t, len(recs), 1)
	rec := recs[0]
	assert.Equal(t, rec.Restore["via"], "nodeAgent")
	assert.Equal(t, rec.Restore["hold"], w.env.Hold.String())
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), w.env.Hold+5*time.Minute)
		defer cancel()
		if err := in.Recover(ctx, w.env, rec); err != nil {
			t.Errorf("cleanup: %v", err)
			// Last resort for the shared cluster: kind can still reach the node.
			_, _ = w.kind.Exec(ctx, w.node, nil, "systemctl", "start", "kubelet")
		}
	})
	return in, rec
}

// kubeletActive asks the node itself (through kind, not the API) whether the kubelet runs.
func (w *agentWorld) kubeletActive(ctx context.Context) bool {
	_, err := w.kind.Exec(ctx, w.node, nil, "systemctl", "is-active", "--quiet", "kubelet")
	return err == nil
}

// waitNodeReady waits until the Node's Ready condition is want.
func (w *agentWorld) waitNodeReady(t *testing.T, ctx context.Context, want bool, within time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	err := wait.PollUntilContextTimeout(ctx, time.Second, within, true, func(ctx context.Context) (bool, error) {
		n, err := w.client.CoreV1().Nodes().Get(ctx, w.node, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		ready := false
		for _, c := range n.Status.Conditions {
			if c.Type == corev1.NodeReady {
				ready = c.Status == corev1.ConditionTrue
			}
		}
		return ready == want, nil
	})
	assert.NilError(t, err, "node %s Ready=%v within %s", w.node, want, within)
	return time.Since(start)
}

func (w *agentWorld) assertRecovered(t *testing.T, ctx context.Context, in *nodeloss.Injector, rec fault.Record) {
	t.Helper()
	assert.NilError(t, in.Verify(ctx, w.env, rec))
	assert.Assert(t, w.kubeletActive(ctx), "the kubelet of %s does not run", w.node)
	n, err := w.client.CoreV1().Nodes().Get(ctx, w.node, metav1.GetOptions{})
	assert.NilError(t, err)
	_, marked := n.Annotations[fault.MarkerAnnotation]
	assert.Assert(t, !marked, "marker left on %s", w.node)
	ns, name := rec.Restore["namespace"], rec.Restore["pod"]
	_, err = w.client.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
	assert.Assert(t, apierrors.IsNotFound(err), "agent pod %s/%s left: %v", ns, name, err)
}

// TestIntegrationNodeAgentKillKubelet runs killKubelet through the node agent on a real
// node, as on an existing cluster: the kubelet stops (the node itself says so, and
// Kubernetes marks the Node NotReady), the agent starts it again when its 90s hold
// ends, and Recover removes the agent pod and the marker once the Node is Ready.
func TestIntegrationNodeAgentKillKubelet(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	const hold = 90 * time.Second // longer than the node grace period (40-50s), so NotReady shows
	w := newAgentWorld(t, ctx, "kill-kubelet", hold)
	in, rec := w.plan(t, ctx)
	assert.Assert(t, w.kubeletActive(ctx), "the kubelet of %s does not run before the fault", w.node)

	injected := time.Now()
	assert.NilError(t, in.Inject(ctx, w.env, rec))
	t.Logf("inject returned after %s", time.Since(injected).Round(time.Second))
	assert.Assert(t, !w.kubeletActive(ctx), "the kubelet of %s still runs after Inject", w.node)
	notReady := w.waitNodeReady(t, ctx, false, 90*time.Second)
	t.Logf("Kubernetes marked %s NotReady %s after Inject", w.node, notReady.Round(time.Second))

	// As the runner does: hold for the step's duration, then recover.
	time.Sleep(time.Until(injected.Add(hold)))
	// The agent, its hold over, starts the kubelet and ends; its log says so.
	ns, name := rec.Restore["namespace"], rec.Restore["pod"]
	err := wait.PollUntilContextTimeout(ctx, time.Second, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		p, err := w.client.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
		return err == nil && p.Status.Phase == corev1.PodSucceeded, nil
	})
	assert.NilError(t, err, "agent pod %s/%s did not succeed", ns, name)
	rc, err := w.client.CoreV1().Pods(ns).GetLogs(name, &corev1.PodLogOptions{}).Stream(ctx)
	assert.NilError(t, err)
	raw, err := io.ReadAll(rc)
	rc.Close()
	assert.NilError(t, err)
	var events []string
	for _, ev := range nodeagent.ParseEvents(string(raw)) {
		events = append(events, ev.Event+"/"+ev.Reason)
	}
	assert.DeepEqual(t, events, []string{"kubeletStopping/", "kubeletStopped/", "kubeletStarting/holdElapsed", "kubeletStarted/"})

	start := time.Now()
	assert.NilError(t, in.Recover(ctx, w.env, rec))
	t.Logf("recover took %s", time.Since(start).Round(time.Second))
	w.assertRecovered(t, ctx, in, rec)
}

// TestIntegrationNodeAgentRecoverDuringHold recovers while the kubelet is still stopped
// (a run aborted during the hold): the API cannot reach the agent, so the pod's
// deletion waits for the agent's dead-man's switch, and Recover returns once the node
// is back, within the hold plus the grace time.
func TestIntegrationNodeAgentRecoverDuringHold(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	const hold = 45 * time.Second
	w := newAgentWorld(t, ctx, "kill-kubelet-abort", hold)
	in, rec := w.plan(t, ctx)

	injected := time.Now()
	assert.NilError(t, in.Inject(ctx, w.env, rec))
	assert.Assert(t, !w.kubeletActive(ctx))

	assert.NilError(t, in.Recover(ctx, w.env, rec))
	took := time.Since(injected)
	t.Logf("recovered %s after injection", took.Round(time.Second))
	assert.Assert(t, took >= hold, "recovered before the hold ended: %s", took)
	assert.Assert(t, took < hold+3*time.Minute, "%s", took)
	w.assertRecovered(t, ctx, in, rec)
}
