package clusters_test

import (
	"context"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"

	"github.com/gameday-dev/gameday/clusters"
)

// TestIntegrationTestbedHA boots the three-control-plane config offline, behind
// kind's API server load balancer as the test bed builds it (clusters/images/kindlb
// under kind's envoy image name), and shows the load balancer does its job: with one
// control-plane machine frozen, API requests through it keep succeeding once its
// health checks have taken that API server out, and it is put back when it thaws.
func TestIntegrationTestbedHA(t *testing.T) {
	if testing.Short() {
		t.Skip("real cluster test; run without -short after `make testbed`")
	}
	versions := testbedVersions()
	version := versions[len(versions)-1]
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	image := clusters.OfflineNodeImage(version)
	requireImage(t, image)
	kind := &clusters.Kind{Name: "gd-testbed-ha", Config: "3cp-2w", NodeImage: image, WaitForReady: 6 * time.Minute}
	if exists, _ := kind.Exists(); exists {
		assert.NilError(t, kind.Down(ctx))
	}
	start := time.Now()
	cl, err := kind.Up(ctx)
	assert.NilError(t, err)
	t.Cleanup(func() {
		if err := kind.Down(context.Background()); err != nil {
			t.Errorf("deleting cluster: %v", err)
		}
	})
	t.Logf("cluster %s (3 control planes, 2 workers) up in %s", kind.Name, time.Since(start).Round(time.Second))
	client, err := cl.Clientset()
	assert.NilError(t, err)

	nodes, err := client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	assert.NilError(t, err)
	assert.Equal(t, len(nodes.Items), 5)
	var controlPlanes []string
	for _, n := range nodes.Items {
		assert.Assert(t, clusters.NodeReady(&n), "node %s not Ready", n.Name)
		if _, cp := n.Labels["node-role.kubernetes.io/control-plane"]; cp {
			controlPlanes = append(controlPlanes, n.Name)
		}
	}
	assert.Equal(t, len(controlPlanes), 3, "control planes: %v", controlPlanes)
	lb := kind.Name + "-external-load-balancer"
	waitFor(ctx, t, "the load balancer to see three healthy API servers", func(context.Context) (bool, error) {
		return strings.Count(lbClusters(t, lb), "::health_flags::healthy") == 3, nil
	})

	// Freeze one control plane: its API server and etcd member stop answering
	// without closing connections, the hardest case for a load balancer.
	frozen := controlPlanes[len(controlPlanes)-1]
	assert.NilError(t, cl.Nodes.PauseNode(ctx, frozen))
	frozenAt := time.Now()
	unpaused := false
	defer func() {
		if !unpaused {
			_ = cl.Nodes.UnpauseNode(context.Background(), frozen)
		}
	}()
	// A new connection per request, so the load balancer picks a backend for each one
	// (a kept-alive connection would stay on whichever API server it reached first).
	tlsConfig, err := rest.TLSConfigFor(cl.REST)
	assert.NilError(t, err)
	hc := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{TLSClientConfig: tlsConfig, DisableKeepAlives: true}}
	// Requests through the load balancer, every 250ms for 30s.
	var failedAt []time.Duration
	total := 0
	for time.Since(frozenAt) < 30*time.Second {
		total++
		resp, err := hc.Get(cl.REST.Host + "/readyz")
		if err == nil {
			_ = resp.Body.Close()
		}
		if err != nil || resp.StatusCode != http.StatusOK {
			failedAt = append(failedAt, time.Since(frozenAt).Round(100*time.Millisecond))
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Logf("with %s frozen: %d of %d requests through the load balancer failed, at %v", frozen, len(failedAt), total, failedAt)
	// kind's health check: every 2s, 3s timeout, out after 2 failures, so the frozen
	// API server is out of rotation 7-10s after the freeze. Before that,
	// requests the load balancer sends to it time out; after that, allowing for one
	// 2s request already in flight, nothing may fail.
	for _, at := range failedAt {
		assert.Assert(t, at < 12*time.Second, "a request failed %s after the freeze, after the health checks should have removed %s", at, frozen)
	}
	assert.Assert(t, strings.Contains(lbClusters(t, lb), frozen+":6443::health_flags::/failed_active_hc"),
		"the load balancer does not report %s unhealthy:\n%s", frozen, lbClusters(t, lb))

	assert.NilError(t, cl.Nodes.UnpauseNode(ctx, frozen))
	unpaused = true
	waitFor(ctx, t, "the thawed API server back in rotation", func(context.Context) (bool, error) {
		return strings.Count(lbClusters(t, lb), "::health_flags::healthy") == 3, nil
	})
}

// lbClusters is the load balancer's view of its backends (its admin /clusters page).
func lbClusters(t *testing.T, container string) string {
	t.Helper()
	out, err := exec.Command("docker", "exec", container, "bash", "-c",
		`exec 3<>/dev/tcp/127.0.0.1/10000 && printf 'GET /clusters HTTP/1.0\r\n\r\n' >&3 && cat <&3`).CombinedOutput()
	if err != nil {
		t.Logf("reading %s /clusters: %v: %s", container, err, out)
	}
	return string(out)
}
