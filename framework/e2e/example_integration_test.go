package gamedaye2e_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"strconv"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/e2e-framework/pkg/env"
	"sigs.k8s.io/e2e-framework/pkg/envconf"
	"sigs.k8s.io/e2e-framework/pkg/features"
	"sigs.k8s.io/e2e-framework/support"

	"github.com/gameday-dev/gameday/clusters"
	"github.com/gameday-dev/gameday/framework/apply"
	gamedaye2e "github.com/gameday-dev/gameday/framework/e2e"
	"github.com/gameday-dev/gameday/framework/probe"

	// The fault kinds this test injects.
	"github.com/gameday-dev/gameday/framework/fault/nodeloss"
	_ "github.com/gameday-dev/gameday/framework/fault/nodeloss"
)

const (
	// e2eCluster is the kind cluster gameday's real-cluster tests share; a cluster of
	// that name is reused, and deleted at the end only if this test created it
	// (and GAMEDAY_KEEP_E2E_CLUSTER is unset).
	e2eCluster = "gd-e2e"
	// workloadImage is the test workload's image, built by `make testbed`.
	workloadImage = "gameday/workload:dev"
	// workloadNodePort is the workload-nodeport Service's port on every node.
	workloadNodePort = 30080
)

// TestIntegrationE2EFrameworkNodeLoss is a node-loss game day written as an
// e2e-framework test: on kind cluster gd-e2e with the test workload, an HTTP probe
// reaches the workload's NodePort through the control-plane node, one worker is
// stopped for 75s, and the test asserts that the probe saw failures, that the service
// recovered while the worker was down, and that an MTTR was recorded. The worker is
// started again in Teardown, whatever the assessments concluded.
func TestIntegrationE2EFrameworkNodeLoss(t *testing.T) {
	if testing.Short() {
		t.Skip("real cluster test: creates or reuses kind cluster gd-e2e; run without -short after `make testbed`")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	image := clusters.DefaultNodeImage(ctx)
	if image == "" {
		t.Fatalf("no offline node image %s: run `make testbed` first", clusters.OfflineNodeImage(clusters.DefaultKubernetesVersion))
	}

	cfg := envconf.New()
	testenv := env.NewWithConfig(cfg)
	// What a TestMain would register with testenv.Setup and testenv.Finish; run here so
	// that this package's unit tests need no cluster.
	for _, setup := range []env.Func{
		gamedaye2e.CreateKindCluster(e2eCluster, "1cp-2w", gamedaye2e.WithNodeImage(image)),
		loadImage(e2eCluster, workloadImage),
		applyWorkload("../../fixtures/workload"),
	} {
		var err error
		if ctx, err = setup(ctx, cfg); err != nil {
			t.Fatalf("environment setup: %v", err)
		}
	}
	setupCtx := ctx
	t.Cleanup(func() {
		if os.Getenv("GAMEDAY_KEEP_E2E_CLUSTER") != "" {
			return
		}
		// The provider lives in the context the setup returned.
		if _, err := gamedaye2e.DestroyKindCluster(e2eCluster)(context.WithoutCancel(setupCtx), cfg); err != nil {
			t.Errorf("environment finish: %v", err)
		}
	})

	loseWorker := &nodeloss.Spec{
		Mode:   nodeloss.Stop,
		Target: nodeloss.Target{Role: nodeloss.RoleWorker, Count: 1},
	}
	nodeLoss := features.New("node loss").
		WithLabel("fault", "nodeLoss").
		Setup(startNodePortProbe("http")).
		Assess("stop one worker", gamedaye2e.InjectFault("lose-worker", loseWorker)).
		Assess("the probe saw failures", gamedaye2e.AssertDetectedWithin("http", time.Minute)).
		Assess("the worker stays down for 75s", gamedaye2e.HoldFault(75*time.Second)).
		Assess("the service recovered", gamedaye2e.AssertRecoveredWithin("http", 2*time.Minute)).
		Assess("MTTR is recorded", func(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
			res, err := gamedaye2e.Score(ctx, "http", 0.5, gamedaye2e.DefaultHealthyWindow)
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Faults) != 1 || res.Faults[0].MTTR == nil {
				t.Fatalf("want one fault window with an MTTR, got %+v", res.Faults)
			}
			f := res.Faults[0]
			t.Logf("MTTD %s, MTTR %s, %d of %d samples failed in the window, availability %.3f",
				*f.MTTD, *f.MTTR, f.Failed, f.Samples, res.Availability)
			return ctx
		}).
		Teardown(gamedaye2e.RevertFaults()).
		Teardown(gamedaye2e.StopProbes()).
		Feature()

	testenv.WithContext(ctx).Test(t, nodeLoss)
}

// loadImage returns an env.Func that loads a local image into the nodes of the
// cluster stored under name, through e2e-framework's optional image-loader interface
// as envfuncs.LoadImageToCluster does (which works with the provider too; it is not
// used here only because its package needs a module gameday does not otherwise use).
func loadImage(name, image string) env.Func {
	return func(ctx context.Context, cfg *envconf.Config) (context.Context, error) {
		p, ok := ctx.Value(support.ClusterNameContextKey(name)).(support.E2EClusterProviderWithImageLoader)
		if !ok {
			return ctx, fmt.Errorf("no cluster provider named %q that loads images in the context", name)
		}
		return ctx, p.LoadImage(ctx, image)
	}
}

// applyWorkload returns an env.Func that applies the fixture at path afresh with
// gameday's applier and waits until its workloads are ready.
func applyWorkload(path string) env.Func {
	return func(ctx context.Context, cfg *envconf.Config) (context.Context, error) {
		objs, err := apply.Load(path, "")
		if err != nil {
			return ctx, err
		}
		a, err := apply.NewApplier(cfg.Client().RESTConfig())
		if err != nil {
			return ctx, err
		}
		// Fresh placement: an earlier node-loss test leaves the replicas packed on
		// the surviving worker, and losing the other one would then prove nothing.
		if err := a.Reset(ctx, objs, 5*time.Minute); err != nil {
			return ctx, fmt.Errorf("applying %s afresh: %w", path, err)
		}
		return ctx, nil
	}
}

// startNodePortProbe returns a Setup step that starts an HTTP probe of the workload's
// NodePort through the control-plane node, which a worker node loss does not take
// away: harness -> node address -> kube-proxy on that node -> a ready pod.
func startNodePortProbe(name string) features.Func {
	return func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
		t.Helper()
		c, ok := gamedaye2e.ClusterFrom(ctx)
		if !ok || c.Nodes == nil {
			t.Fatal("no kind cluster in the context")
		}
		client, err := kubernetes.NewForConfig(c.REST)
		if err != nil {
			t.Fatal(err)
		}
		nodes, err := client.CoreV1().Nodes().List(ctx, metav1.ListOptions{LabelSelector: "node-role.kubernetes.io/control-plane"})
		if err != nil {
			t.Fatalf("finding the control-plane node: %v", err)
		}
		if len(nodes.Items) == 0 {
			t.Fatal("the cluster has no control-plane node")
		}
		addr, err := c.Nodes.Address(ctx, nodes.Items[0].Name)
		if err != nil {
			t.Fatal(err)
		}
		p, err := probe.NewHTTP(probe.HTTPConfig{
			Name: name,
			URL:  "http://" + net.JoinHostPort(addr, strconv.Itoa(workloadNodePort)) + "/healthz",
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("probe %s: GET %s through node %s", name, p.Config().URL, nodes.Items[0].Name)
		return gamedaye2e.StartProbes(p)(ctx, t, cfg)
	}
}
