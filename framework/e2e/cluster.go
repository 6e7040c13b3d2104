package gamedaye2e

import (
	"context"
	"fmt"
	"strings"

	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/e2e-framework/klient"
	"sigs.k8s.io/e2e-framework/pkg/env"
	"sigs.k8s.io/e2e-framework/pkg/envconf"
	"sigs.k8s.io/e2e-framework/support"

	"github.com/gameday-dev/gameday/clusters"
	"github.com/gameday-dev/gameday/framework/guard"
)

// CreateKindCluster returns an env.Func that creates the kind cluster name from a kind
// config (a name shipped with gameday such as "1cp-2w", a file path, or "" for the
// default), or reuses it when it exists, and waits until it is Ready. Like
// e2e-framework's envfuncs.CreateCluster it points cfg at the cluster (kubeconfig,
// context and client) and stores the *Provider in the context under
// support.ClusterNameContextKey(name), so envfuncs.LoadImageToCluster and friends
// work with it; it also makes the cluster the one the fault and probe steps of this
// package act on (see ClusterFrom).
func CreateKindCluster(name, config string, opts ...support.ClusterOpts) env.Func {
	return func(ctx context.Context, cfg *envconf.Config) (context.Context, error) {
		p := NewProvider()
		p.SetDefaults().WithName(name).WithOpts(opts...)
		kubeconfig, err := p.CreateWithConfig(ctx, config)
		if err != nil {
			return ctx, err
		}
		client, err := klient.New(p.KubernetesRestConfig())
		if err != nil {
			return ctx, fmt.Errorf("client for kind cluster %q: %w", name, err)
		}
		cfg.WithKubeconfigFile(kubeconfig).WithKubeContext(p.GetKubectlContext()).WithClient(client)
		if err := p.WaitForControlPlane(ctx, client); err != nil {
			return ctx, err
		}
		ctx = context.WithValue(ctx, support.ClusterNameContextKey(name), p)
		return context.WithValue(ctx, clusterKey{}, &binding{cluster: p.Cluster()}), nil
	}
}

// DestroyKindCluster returns an env.Func that deletes the kind cluster name stored by
// CreateKindCluster, if that created it: a reused cluster is kept (see
// Provider.Destroy). Use it in Environment.Finish.
func DestroyKindCluster(name string) env.Func {
	return func(ctx context.Context, cfg *envconf.Config) (context.Context, error) {
		p, ok := ctx.Value(support.ClusterNameContextKey(name)).(*Provider)
		if !ok {
			return ctx, fmt.Errorf("destroy kind cluster %q: no gameday kind provider of that name in the context (create it with CreateKindCluster)", name)
		}
		return ctx, p.Destroy(ctx)
	}
}

// clusterKey is the context key of the cluster the steps act on.
type clusterKey struct{}

// binding is the cluster the steps act on, and what the guard rails allow for it.
type binding struct {
	cluster   *clusters.Cluster
	allowed   []string // kubeconfig contexts explicitly allowed
	guardOpts []guard.Option
}

// WithCluster returns a context in which the fault and probe steps act on c, for a
// cluster that CreateKindCluster did not make, e.g. one from clusters.Existing. Naming
// the cluster here allows its kubeconfig context, as `--allow-context` does for the
// CLI; a context that looks like production is still refused unless opts include
// guard.AllowProductionLooking().
func WithCluster(ctx context.Context, c *clusters.Cluster, opts ...guard.Option) context.Context {
	b := &binding{cluster: c, guardOpts: opts}
	if c != nil && c.Context != "" {
		b.allowed = []string{c.Context}
	}
	return context.WithValue(ctx, clusterKey{}, b)
}

// ClusterFrom returns the cluster stored by CreateKindCluster or WithCluster.
func ClusterFrom(ctx context.Context) (*clusters.Cluster, bool) {
	b, ok := ctx.Value(clusterKey{}).(*binding)
	if !ok || b.cluster == nil {
		return nil, false
	}
	return b.cluster, true
}

// newClientset builds the client the steps use; tests replace it.
var newClientset = func(c *clusters.Cluster) (kubernetes.Interface, error) { return c.Clientset() }

// target resolves the cluster the steps act on and checks the guard rails: the
// cluster in ctx, else the cluster of cfg's kubeconfig and context, which counts as a
// gameday kind cluster when its context is "kind-NAME" and kind cluster NAME exists
// on this machine (so env.NewWithKubeConfig and envfuncs.CreateCluster(NewProvider(),
// ...) work), and is otherwise refused unless allowed with WithCluster.
func target(ctx context.Context, cfg *envconf.Config) (*clusters.Cluster, kubernetes.Interface, error) {
	b, ok := ctx.Value(clusterKey{}).(*binding)
	if !ok || b.cluster == nil {
		c, err := clusterFromConfig(ctx, cfg)
		if err != nil {
			return nil, nil, err
		}
		b = &binding{cluster: c}
	}
	if err := guard.Check(b.cluster, b.allowed, b.guardOpts...); err != nil {
		return nil, nil, fmt.Errorf("%w (to act on it from a Go test, pass it to gamedaye2e.WithCluster)", err)
	}
	client, err := newClientset(b.cluster)
	if err != nil {
		return nil, nil, fmt.Errorf("client for cluster %s: %w", b.cluster.Name, err)
	}
	return b.cluster, client, nil
}

// clusterFromConfig connects to the cluster of cfg's kubeconfig file and context.
func clusterFromConfig(ctx context.Context, cfg *envconf.Config) (*clusters.Cluster, error) {
	if cfg == nil {
		return nil, fmt.Errorf("no cluster: use CreateKindCluster or WithCluster")
	}
	c, err := clusters.Existing{Path: cfg.KubeconfigFile(), Context: cfg.KubeContext()}.Connect(ctx)
	if err != nil {
		return nil, fmt.Errorf("no cluster in the context and none in the environment config: %w", err)
	}
	name, isKind := strings.CutPrefix(c.Context, "kind-")
	if !isKind {
		return c, nil
	}
	kind := &clusters.Kind{Name: name, Reuse: true}
	if exists, err := kind.Exists(); err != nil || !exists {
		return c, nil
	}
	kc, err := kind.Up(ctx)
	if err != nil {
		return nil, err
	}
	return kc, nil
}
