package gamedaye2e

import (
	"context"
	"errors"
	"testing"

	"gotest.tools/v3/assert"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
	"sigs.k8s.io/e2e-framework/support"

	"github.com/gameday-dev/gameday/clusters"
)

// None of these tests reaches Docker: every path they take fails or answers before.

func TestProviderOptions(t *testing.T) {
	t.Parallel()
	p := NewProvider()
	p.SetDefaults()
	assert.Equal(t, p.config, "1cp-2w")
	assert.Equal(t, p.waitForReady, DefaultWaitForReady)
	p.WithName("gd").WithOpts(WithConfig("3cp-2w"), WithNodeImage("gameday/node:v1"), WithWaitForReady(0))
	assert.Equal(t, p.name, "gd")
	assert.Equal(t, p.config, "3cp-2w")
	assert.Equal(t, p.nodeImage, "gameday/node:v1")
	assert.Equal(t, p.GetKubectlContext(), "kind-gd")

	// Options of other providers are ignored, as e2e-framework's are for ours.
	var other support.E2EClusterProvider = &otherProvider{}
	WithConfig("x")(other)
}

// otherProvider stands for another provider's type.
type otherProvider struct{ support.E2EClusterProvider }

func TestProviderRejectsWhatCannotApply(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tests := []struct {
		name    string
		p       support.E2EClusterProvider
		args    []string
		wantErr string
		wantIs  error
	}{
		{name: "kind binary version", p: NewProvider().WithName("gd").WithVersion("v0.26.0"),
			wantErr: `WithVersion("v0.26.0")`, wantIs: errors.ErrUnsupported},
		{name: "kind binary path", p: NewProvider().WithName("gd").WithPath("/usr/local/bin/kind"),
			wantErr: "not a kind binary", wantIs: errors.ErrUnsupported},
		{name: "CLI arguments", p: NewProvider().WithName("gd"), args: []string{"--image", "x"},
			wantErr: "do not apply to kind's Go library"},
		{name: "no name", p: NewProvider(), wantErr: "no name"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.p.Create(ctx, tc.args...)
			assert.ErrorContains(t, err, tc.wantErr)
			if tc.wantIs != nil {
				assert.Assert(t, errors.Is(err, tc.wantIs))
			}
		})
	}
	// Empty values are no-ops, as e2e-framework's envfuncs may pass them.
	p := NewProvider().WithName("gd").WithVersion("").WithPath("").(*Provider)
	assert.Equal(t, len(p.unsupported), 0)
}

func TestProviderBeforeCreate(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p := NewProvider()
	p.WithName("gd")
	assert.Equal(t, p.GetKubeconfig(), "")
	assert.Assert(t, p.KubernetesRestConfig() == nil)
	assert.Assert(t, p.Cluster() == nil)
	_, err := p.GenerateKubeconfig()
	assert.ErrorContains(t, err, "not created yet")
	assert.ErrorContains(t, p.LoadImage(ctx, "img"), "not created yet")
	assert.ErrorContains(t, p.StopNode(ctx, &support.Node{Name: "gd-worker"}), "not created yet")
	_, err = p.ListNode(ctx)
	assert.ErrorContains(t, err, "not created yet")
	assert.ErrorContains(t, p.Destroy(ctx), "nothing to destroy")
	assert.ErrorContains(t, p.WaitForControlPlane(ctx, nil), "no client")
}

func TestProviderNodeLifecycle(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	nodes := &fakeNodes{}
	p := NewProvider()
	p.WithName("gd")
	p.cluster = &clusters.Cluster{Name: "gd", Provider: "kind", Nodes: nodes}

	assert.NilError(t, p.StopNode(ctx, &support.Node{Name: "gd-worker"}))
	assert.NilError(t, p.StartNode(ctx, &support.Node{Name: "gd-worker"}))
	assert.DeepEqual(t, nodes.stopped, []string{"gd-worker"})
	assert.DeepEqual(t, nodes.started, []string{"gd-worker"})
	assert.ErrorContains(t, p.StopNode(ctx, &support.Node{Name: "gd-worker"}, "--force"), "do not apply")
	assert.ErrorContains(t, p.StopNode(ctx, nil), "no node name")
	assert.Assert(t, errors.Is(p.AddNode(ctx, &support.Node{Name: "n"}), errors.ErrUnsupported))
	assert.Assert(t, errors.Is(p.RemoveNode(ctx, &support.Node{Name: "n"}), errors.ErrUnsupported))
	_, err := p.GenerateKubeconfig("--user", "x")
	assert.ErrorContains(t, err, `only "--internal" applies`)
}

func TestClusterReady(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	node := func(name string, ready corev1.ConditionStatus) *corev1.Node {
		return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name},
			Status: corev1.NodeStatus{Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: ready}}}}
	}
	pod := func(name string, phase corev1.PodPhase, ready corev1.ConditionStatus) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: metav1.NamespaceSystem},
			Status: corev1.PodStatus{Phase: phase, Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: ready}}}}
	}
	tests := []struct {
		name    string
		objs    []runtimeObject
		wantErr string
	}{
		{name: "empty", wantErr: "no nodes yet"},
		{name: "ready", objs: []runtimeObject{node("cp", "True"), node("w1", "True"), pod("etcd-cp", corev1.PodRunning, "True")}},
		{name: "node not ready", objs: []runtimeObject{node("cp", "True"), node("w1", "Unknown")}, wantErr: "node w1 is not Ready"},
		{name: "no system pods", objs: []runtimeObject{node("cp", "True")}, wantErr: "no kube-system pods yet"},
		{name: "pod not ready", objs: []runtimeObject{node("cp", "True"), pod("coredns-1", corev1.PodRunning, "False")},
			wantErr: "pod kube-system/coredns-1 is not Ready"},
		{name: "finished pods are ignored", objs: []runtimeObject{node("cp", "True"), pod("etcd-cp", corev1.PodRunning, "True"),
			pod("coredns-old", corev1.PodFailed, "False")}},
		{name: "pod pending", objs: []runtimeObject{node("cp", "True"), pod("kindnet-1", corev1.PodPending, "False")},
			wantErr: "phase Pending"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cs := fake.NewClientset()
			for _, o := range tc.objs {
				switch o := o.(type) {
				case *corev1.Node:
					_, err := cs.CoreV1().Nodes().Create(ctx, o, metav1.CreateOptions{})
					assert.NilError(t, err)
				case *corev1.Pod:
					_, err := cs.CoreV1().Pods(o.Namespace).Create(ctx, o, metav1.CreateOptions{})
					assert.NilError(t, err)
				}
			}
			err := clusterReady(ctx, cs)
			if tc.wantErr == "" {
				assert.NilError(t, err)
				return
			}
			assert.ErrorContains(t, err, tc.wantErr)
		})
	}
}

// runtimeObject is a node or a pod for TestClusterReady.
type runtimeObject = any
