package clusters_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"

	"github.com/gameday-dev/gameday/clusters"
	"github.com/gameday-dev/gameday/fixtures"
	"github.com/gameday-dev/gameday/framework/apply"
	"github.com/gameday-dev/gameday/framework/probe"
)

// testbedVersions are the node image versions the offline test bed builds.
func testbedVersions() []string {
	if v := os.Getenv("GAMEDAY_K8S_VERSIONS"); v != "" {
		return strings.Fields(v)
	}
	return []string{"v1.35.4", "v1.36.3"}
}

// TestIntegrationTestbed creates a 1+2 kind cluster from each offline node image
// through kind's Go library and checks, on the live cluster, everything a game day
// relies on: nodes, CoreDNS, the CNI on every node, a Service answering from a pod on
// another node, cluster DNS, and local-path storage.
func TestIntegrationTestbed(t *testing.T) {
	if testing.Short() {
		t.Skip("real cluster test; run without -short after `make testbed`")
	}
	for _, version := range testbedVersions() {
		t.Run(version, func(t *testing.T) { testTestbedCluster(t, version) })
	}
}

func testTestbedCluster(t *testing.T, version string) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	image := clusters.OfflineNodeImage(version)
	requireImage(t, image)
	name := "gd-testbed-" + strings.NewReplacer("v", "", ".", "-").Replace(version)
	kind := &clusters.Kind{Name: name, Config: "1cp-2w", NodeImage: image, WaitForReady: 4 * time.Minute}
	if exists, _ := kind.Exists(); exists {
		assert.NilError(t, kind.Down(ctx)) // left by an earlier crashed run
	}
	start := time.Now()
	cl, err := kind.Up(ctx)
	assert.NilError(t, err)
	t.Cleanup(func() {
		if err := kind.Down(context.Background()); err != nil {
			t.Errorf("deleting cluster: %v", err)
		}
	})
	t.Logf("cluster %s up in %s", name, time.Since(start).Round(time.Second))
	assert.NilError(t, kind.LoadImages(ctx, probe.DefaultAgentImage, fixtures.WorkloadImage))
	client, err := cl.Clientset()
	assert.NilError(t, err)

	// Every node Ready, at the version of the image.
	nodes, err := client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	assert.NilError(t, err)
	assert.Equal(t, len(nodes.Items), 3)
	var workers []string
	controlPlane := ""
	for _, n := range nodes.Items {
		assert.Assert(t, clusters.NodeReady(&n), "node %s not Ready", n.Name)
		assert.Equal(t, n.Status.NodeInfo.KubeletVersion, version, "node %s", n.Name)
		if _, cp := n.Labels["node-role.kubernetes.io/control-plane"]; cp {
			controlPlane = n.Name
		} else {
			workers = append(workers, n.Name)
		}
	}
	assert.Equal(t, len(workers), 2)
	sv, err := client.Discovery().ServerVersion()
	assert.NilError(t, err)
	assert.Equal(t, sv.GitVersion, version)

	// CoreDNS Ready; the CNI (flannel) Ready on every node.
	waitFor(ctx, t, "CoreDNS ready", func(ctx context.Context) (bool, error) {
		d, err := client.AppsV1().Deployments("kube-system").Get(ctx, "coredns", metav1.GetOptions{})
		return err == nil && d.Status.ReadyReplicas > 0 && d.Status.ReadyReplicas == *d.Spec.Replicas, nil
	})
	waitFor(ctx, t, "flannel ready on every node", func(ctx context.Context) (bool, error) {
		pods, err := client.CoreV1().Pods("kube-flannel").List(ctx, metav1.ListOptions{LabelSelector: "app=flannel"})
		if err != nil {
			return false, nil
		}
		readyOn := map[string]bool{}
		for _, p := range pods.Items {
			if podReady(p) {
				readyOn[p.Spec.NodeName] = true
			}
		}
		return len(readyOn) == len(nodes.Items), nil
	})

	// The workload: 3 replicas over both workers.
	applier, err := apply.NewApplier(cl.REST)
	assert.NilError(t, err)
	applyFixture(ctx, t, applier, "../fixtures/workload")
	pods, err := client.CoreV1().Pods(fixtures.WorkloadNamespace).List(ctx, metav1.ListOptions{
		LabelSelector: fixtures.WorkloadSelectorKey + "=" + fixtures.WorkloadSelectorValue})
	assert.NilError(t, err)
	podNodes := map[string]int{}
	for _, p := range pods.Items {
		podNodes[p.Spec.NodeName]++
	}
	assert.Equal(t, len(pods.Items), 3)
	assert.Equal(t, len(podNodes), 2, "replicas by node: %v", podNodes)
	for _, w := range workers {
		assert.Assert(t, podNodes[w] > 0, "no replica on worker %s: %v", w, podNodes)
	}

	// From a pod on another node (the control plane, which runs no replica): HTTP
	// through the ClusterIP Service, and the Service name through cluster DNS.
	svc, err := client.CoreV1().Services(fixtures.WorkloadNamespace).Get(ctx, fixtures.WorkloadService, metav1.GetOptions{})
	assert.NilError(t, err)
	dnsSvc, err := client.CoreV1().Services("kube-system").Get(ctx, "kube-dns", metav1.GetOptions{})
	assert.NilError(t, err)
	fqdn := fmt.Sprintf("%s.%s.svc.cluster.local", fixtures.WorkloadService, fixtures.WorkloadNamespace)
	cfg := probe.AgentConfig{
		HTTP:     []probe.AgentHTTPTarget{{Name: "http", URL: "http://" + net.JoinHostPort(svc.Spec.ClusterIP, "80") + "/healthz"}},
		DNS:      []probe.AgentDNSTarget{{Name: "dns", Host: fqdn, Server: net.JoinHostPort(dnsSvc.Spec.ClusterIP, "53")}},
		Interval: 250 * time.Millisecond, Timeout: time.Second,
	}
	samples := runAgent(ctx, t, client, applier, controlPlane, cfg, 8*time.Second)
	for _, probeName := range []string{"http", "dns"} {
		// Samples taken before the agent's node has programmed the Service (kube-proxy
		// syncs endpoints a moment after the pods turn Ready) may fail; once one
		// succeeds, every later one must.
		var before, after []string
		ok := 0
		for _, s := range samples {
			switch {
			case s.Probe != probeName:
			case s.OK:
				ok++
			case ok == 0:
				before = append(before, s.Error)
			default:
				after = append(after, s.At.Format("15:04:05.000")+" "+s.Error)
			}
		}
		if len(before) > 0 {
			t.Logf("%s: %d samples failed before the first success: %v", probeName, len(before), before)
		}
		assert.Assert(t, ok >= 10, "%s: only %d good samples", probeName, ok)
		assert.Equal(t, len(after), 0, "%s: samples failed after it answered: %v", probeName, after)
	}

	// A PVC binds through local-path storage.
	applyFixture(ctx, t, applier, "../fixtures/workload-data")
	pvc, err := client.CoreV1().PersistentVolumeClaims(fixtures.DataNamespace).Get(ctx, fixtures.DataPVC, metav1.GetOptions{})
	assert.NilError(t, err)
	assert.Equal(t, pvc.Status.Phase, corev1.ClaimBound)
	assert.Equal(t, *pvc.Spec.StorageClassName, fixtures.DataStorageClass)
}

// requireImage fails (never skips) when the test bed has not been built: CI must not
// pass by running nothing.
func requireImage(t *testing.T, image string) {
	t.Helper()
	if out, err := exec.Command("docker", "image", "inspect", "-f", "{{.Id}}", image).CombinedOutput(); err != nil {
		t.Fatalf("node image %s is missing: run `make testbed` first (%v: %s)", image, err, out)
	}
}

func applyFixture(ctx context.Context, t *testing.T, a *apply.Applier, dir string) []*unstructured.Unstructured {
	t.Helper()
	objs, err := apply.Load(dir, "")
	assert.NilError(t, err)
	assert.NilError(t, a.Apply(ctx, objs))
	assert.NilError(t, a.WaitReady(ctx, objs, 4*time.Minute))
	return objs
}

// runAgent runs the gameday agent in a pod on node for d and returns its samples.
func runAgent(ctx context.Context, t *testing.T, client kubernetes.Interface, a *apply.Applier, node string, cfg probe.AgentConfig, d time.Duration) []probe.Sample {
	t.Helper()
	ns := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": "gameday-system"}}}
	assert.NilError(t, a.Apply(ctx, []*unstructured.Unstructured{ns}))
	pod, err := probe.DeployAgent(ctx, client, probe.AgentDeployment{Namespace: "gameday-system", NodeName: node, Args: cfg.Args()})
	assert.NilError(t, err)
	defer func() { _ = probe.DeleteAgent(context.Background(), client, "gameday-system", pod) }()
	rec := &probe.Recorder{}
	fctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	_ = probe.FollowAgent(fctx, client, "gameday-system", pod, rec.Emit)
	var all []probe.Sample
	for _, name := range rec.Probes() {
		all = append(all, rec.Samples(name)...)
	}
	return all
}

func waitFor(ctx context.Context, t *testing.T, what string, cond wait.ConditionWithContextFunc) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	assert.NilError(t, wait.PollUntilContextCancel(ctx, time.Second, true, cond), "waiting for %s", what)
}

func podReady(p corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}
