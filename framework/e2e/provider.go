package gamedaye2e

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/e2e-framework/klient"
	"sigs.k8s.io/e2e-framework/support"
	"sigs.k8s.io/kind/pkg/cluster"
	"sigs.k8s.io/kind/pkg/cluster/nodeutils"
	"sigs.k8s.io/kind/pkg/log"

	"github.com/gameday-dev/gameday/clusters"
)

// DefaultWaitForReady bounds how long creation and WaitForControlPlane wait for the
// cluster's nodes and kube-system pods to be Ready.
const DefaultWaitForReady = 5 * time.Minute

// The provider implements e2e-framework's provider interfaces, the optional ones too.
var (
	_ support.E2EClusterProvider                = (*Provider)(nil)
	_ support.E2EClusterProviderWithImageLoader = (*Provider)(nil)
	_ support.E2EClusterProviderWithLifeCycle   = (*Provider)(nil)
)

// Provider is an e2e-framework cluster provider (support.E2EClusterProvider) backed by
// gameday's clusters.Kind: kind's Go library, so no kind binary is needed or
// installed. A cluster that already exists is reused, as e2e-framework's kind provider
// does; Destroy deletes only a cluster this provider created.
//
// It also implements the optional support.E2EClusterProviderWithImageLoader and
// support.E2EClusterProviderWithLifeCycle (start and stop nodes), so e2e-framework's
// envfuncs (LoadImageToCluster, ExportClusterLogs, DestroyCluster,
// PerformNodeOperation) work with it. Stopping nodes through the lifecycle methods
// leaves no fault record behind: for a game day, prefer InjectFault with a
// nodeloss.Spec, which `gameday recover` can undo.
type Provider struct {
	name         string
	config       string
	nodeImage    string
	waitForReady time.Duration
	logger       log.Logger
	// unsupported collects options that cannot apply; Create reports them.
	unsupported []string

	kind    *clusters.Kind
	cluster *clusters.Cluster
}

// NewProvider returns a provider for a kind cluster; name it with WithName (or use
// CreateKindCluster, which does).
func NewProvider() *Provider { return &Provider{} }

// WithConfig sets the kind config: a name shipped with gameday ("1cp-2w", the
// default) or the path of a kind config file.
func WithConfig(config string) support.ClusterOpts {
	return func(c support.E2EClusterProvider) {
		if p, ok := c.(*Provider); ok {
			p.config = config
		}
	}
}

// WithNodeImage sets the kind node image; by default clusters.DefaultNodeImage
// picks it (the offline test bed's image when Docker has it).
func WithNodeImage(image string) support.ClusterOpts {
	return func(c support.E2EClusterProvider) {
		if p, ok := c.(*Provider); ok {
			p.nodeImage = image
		}
	}
}

// WithWaitForReady bounds how long Create and WaitForControlPlane wait for the
// cluster to be Ready (default DefaultWaitForReady).
func WithWaitForReady(d time.Duration) support.ClusterOpts {
	return func(c support.E2EClusterProvider) {
		if p, ok := c.(*Provider); ok {
			p.waitForReady = d
		}
	}
}

// WithKindLogger sends kind's progress output to logger (default: none).
func WithKindLogger(logger log.Logger) support.ClusterOpts {
	return func(c support.E2EClusterProvider) {
		if p, ok := c.(*Provider); ok {
			p.logger = logger
		}
	}
}

// SetDefaults fills in the defaults: config "1cp-2w" and DefaultWaitForReady.
func (p *Provider) SetDefaults() support.E2EClusterProvider {
	if p.config == "" {
		p.config = "1cp-2w"
	}
	if p.waitForReady == 0 {
		p.waitForReady = DefaultWaitForReady
	}
	return p
}

// WithName sets the kind cluster name.
func (p *Provider) WithName(name string) support.E2EClusterProvider {
	p.name = name
	return p
}

// WithVersion cannot apply: it selects the kind binary's version in e2e-framework,
// and kind is linked into gameday as a Go library whose version go.mod fixes. A
// non-empty version makes Create fail; choose the Kubernetes version through
// WithNodeImage instead.
func (p *Provider) WithVersion(version string) support.E2EClusterProvider {
	if version != "" {
		p.unsupported = append(p.unsupported, fmt.Sprintf(
			"WithVersion(%q): kind is a Go library here, its version is set by go.mod (pick the Kubernetes version with WithNodeImage)", version))
	}
	return p
}

// WithPath cannot apply: there is no kind binary to locate. A non-empty path makes
// Create fail.
func (p *Provider) WithPath(path string) support.E2EClusterProvider {
	if path != "" {
		p.unsupported = append(p.unsupported, fmt.Sprintf("WithPath(%q): gameday uses kind's Go library, not a kind binary", path))
	}
	return p
}

// WithOpts applies options such as WithConfig and WithNodeImage.
func (p *Provider) WithOpts(opts ...support.ClusterOpts) support.E2EClusterProvider {
	for _, o := range opts {
		o(p)
	}
	return p
}

// Create creates the kind cluster, or reuses it when it exists, waits for its nodes
// to be Ready and returns the path of its kubeconfig (under clusters.StateDir(), so
// ~/.kube/config is left alone). kind CLI arguments cannot apply: any args are an
// error; pass options with WithOpts instead.
func (p *Provider) Create(ctx context.Context, args ...string) (string, error) {
	if len(args) > 0 {
		return "", fmt.Errorf("kind cluster %q: command-line arguments %q do not apply to kind's Go library; use WithOpts(WithConfig(...), WithNodeImage(...))", p.name, args)
	}
	if len(p.unsupported) > 0 {
		return "", fmt.Errorf("kind cluster %q: %w: %s", p.name, errors.ErrUnsupported, strings.Join(p.unsupported, "; "))
	}
	if p.name == "" {
		return "", errors.New("kind cluster: no name (use WithName)")
	}
	p.SetDefaults()
	p.kind = &clusters.Kind{
		Name: p.name, Config: p.config, NodeImage: p.nodeImage, Reuse: true,
		WaitForReady: p.waitForReady, Logger: p.logger,
	}
	c, err := p.kind.Up(ctx)
	if err != nil {
		return "", fmt.Errorf("kind cluster %q: %w", p.name, err)
	}
	p.cluster = c
	return c.KubeconfigPath, nil
}

// CreateWithConfig is Create with a kind config (a shipped name or a file path); an
// empty config keeps the one set by WithConfig.
func (p *Provider) CreateWithConfig(ctx context.Context, config string) (string, error) {
	if config != "" {
		p.config = config
	}
	return p.Create(ctx)
}

// Cluster is gameday's handle on the cluster (with its NodeController), nil before
// Create.
func (p *Provider) Cluster() *clusters.Cluster { return p.cluster }

// GetKubeconfig returns the path of the kubeconfig Create wrote, "" before Create.
func (p *Provider) GetKubeconfig() string {
	if p.cluster == nil {
		return ""
	}
	return p.cluster.KubeconfigPath
}

// GenerateKubeconfig writes the cluster's kubeconfig again and returns its path.
// With the single argument "--internal" it writes the kubeconfig that reaches the
// API server from inside the kind network (as `kind get kubeconfig --internal`) to a
// file of its own; other arguments are an error.
func (p *Provider) GenerateKubeconfig(args ...string) (string, error) {
	if p.cluster == nil {
		return "", fmt.Errorf("kind cluster %q: not created yet (call Create first)", p.name)
	}
	switch {
	case len(args) == 0:
		if err := p.kindProvider().ExportKubeConfig(p.name, p.cluster.KubeconfigPath, false); err != nil {
			return "", fmt.Errorf("exporting kubeconfig of kind cluster %q: %w", p.name, err)
		}
		return p.cluster.KubeconfigPath, nil
	case len(args) == 1 && args[0] == "--internal":
		raw, err := p.kindProvider().KubeConfig(p.name, true)
		if err != nil {
			return "", fmt.Errorf("internal kubeconfig of kind cluster %q: %w", p.name, err)
		}
		path := filepath.Join(filepath.Dir(p.cluster.KubeconfigPath), "kind-"+p.name+"-internal.kubeconfig")
		if err := os.WriteFile(path, []byte(raw), 0o600); err != nil {
			return "", fmt.Errorf("internal kubeconfig of kind cluster %q: %w", p.name, err)
		}
		return path, nil
	}
	return "", fmt.Errorf("kind cluster %q: kubeconfig arguments %q: only \"--internal\" applies", p.name, args)
}

// GetKubectlContext returns the kubeconfig context of the cluster, "kind-<name>".
func (p *Provider) GetKubectlContext() string { return "kind-" + p.name }

// ExportLogs writes the cluster's logs to dest, as `kind export logs` does.
func (p *Provider) ExportLogs(ctx context.Context, dest string) error {
	if err := p.kindProvider().CollectLogs(p.name, dest); err != nil {
		return fmt.Errorf("exporting logs of kind cluster %q to %s: %w", p.name, dest, err)
	}
	return nil
}

// Destroy deletes the cluster if this provider created it; a cluster it reused
// belongs to someone else and is kept (delete it with `gameday cluster down`).
func (p *Provider) Destroy(ctx context.Context) error {
	if p.cluster == nil || p.kind == nil {
		return fmt.Errorf("kind cluster %q: not created by this provider, nothing to destroy", p.name)
	}
	if !p.cluster.Created {
		return nil
	}
	if err := p.kind.Down(ctx); err != nil {
		return fmt.Errorf("destroying kind cluster %q: %w", p.name, err)
	}
	return nil
}

// WaitForControlPlane waits until every node is Ready and every kube-system pod runs
// and is Ready (finished and terminating pods aside), for at most the WithWaitForReady duration. A node left stopped by an
// interrupted game day shows up here: revert it with `gameday recover`.
func (p *Provider) WaitForControlPlane(ctx context.Context, client klient.Client) error {
	if client == nil {
		return errors.New("wait for control plane: no client")
	}
	cs, err := kubernetes.NewForConfig(client.RESTConfig())
	if err != nil {
		return fmt.Errorf("wait for control plane: %w", err)
	}
	timeout := p.waitForReady
	if timeout == 0 {
		timeout = DefaultWaitForReady
	}
	var last error
	err = wait.PollUntilContextTimeout(ctx, time.Second, timeout, true, func(ctx context.Context) (bool, error) {
		last = clusterReady(ctx, cs)
		return last == nil, nil
	})
	if err != nil {
		if last != nil {
			return fmt.Errorf("kind cluster %q not ready after %s: %w", p.name, timeout, last)
		}
		return fmt.Errorf("kind cluster %q not ready: %w", p.name, err)
	}
	return nil
}

// clusterReady reports what is not ready yet: a node, or a kube-system pod.
func clusterReady(ctx context.Context, cs kubernetes.Interface) error {
	nodes, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return fmt.Errorf("listing nodes: %w", err)
	}
	if len(nodes.Items) == 0 {
		return errors.New("no nodes yet")
	}
	for _, n := range nodes.Items {
		if !conditionTrue(n.Status.Conditions, corev1.NodeReady) {
			return fmt.Errorf("node %s is not Ready", n.Name)
		}
	}
	pods, err := cs.CoreV1().Pods(metav1.NamespaceSystem).List(ctx, metav1.ListOptions{})
	if err != nil {
		return fmt.Errorf("listing kube-system pods: %w", err)
	}
	if len(pods.Items) == 0 {
		return errors.New("no kube-system pods yet")
	}
	for _, pod := range pods.Items {
		if pod.DeletionTimestamp != nil || pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
			continue // on its way out (e.g. evicted from a node that was lost): not expected to be Ready
		}
		if pod.Status.Phase != corev1.PodRunning || !podReady(&pod) {
			return fmt.Errorf("pod kube-system/%s is not Ready (phase %s)", pod.Name, pod.Status.Phase)
		}
	}
	return nil
}

func conditionTrue(conds []corev1.NodeCondition, t corev1.NodeConditionType) bool {
	for _, c := range conds {
		if c.Type == t {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func podReady(pod *corev1.Pod) bool {
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// KubernetesRestConfig returns the client configuration of the cluster, nil before
// Create.
func (p *Provider) KubernetesRestConfig() *rest.Config {
	if p.cluster == nil {
		return nil
	}
	return p.cluster.REST
}

// LoadImage copies an image from the local image store into every node (as `kind
// load docker-image`), skipping nodes that have it. Extra arguments are an error.
func (p *Provider) LoadImage(ctx context.Context, image string, args ...string) error {
	if len(args) > 0 {
		return fmt.Errorf("load image %s into kind cluster %q: arguments %q do not apply", image, p.name, args)
	}
	if p.kind == nil {
		return fmt.Errorf("load image %s: kind cluster %q not created yet (call Create first)", image, p.name)
	}
	if err := p.kind.LoadImages(ctx, image); err != nil {
		return fmt.Errorf("load image into kind cluster %q: %w", p.name, err)
	}
	return nil
}

// LoadImageArchive imports an image archive (a `docker save` tar) into every node,
// as `kind load image-archive` does. Extra arguments are an error.
func (p *Provider) LoadImageArchive(ctx context.Context, archivePath string, args ...string) error {
	if len(args) > 0 {
		return fmt.Errorf("load image archive %s into kind cluster %q: arguments %q do not apply", archivePath, p.name, args)
	}
	nodes, err := p.kindProvider().ListInternalNodes(p.name)
	if err != nil {
		return fmt.Errorf("listing nodes of kind cluster %q: %w", p.name, err)
	}
	if len(nodes) == 0 {
		return fmt.Errorf("load image archive %s: kind cluster %q has no nodes", archivePath, p.name)
	}
	for _, n := range nodes {
		if err := ctx.Err(); err != nil {
			return err
		}
		f, err := os.Open(archivePath)
		if err != nil {
			return fmt.Errorf("load image archive: %w", err)
		}
		err = nodeutils.LoadImageArchive(n, f)
		f.Close()
		if err != nil {
			return fmt.Errorf("loading image archive %s into node %s: %w", archivePath, n.String(), err)
		}
	}
	return nil
}

// AddNode is not supported: kind cannot add nodes to a running cluster.
func (p *Provider) AddNode(ctx context.Context, node *support.Node, args ...string) error {
	return fmt.Errorf("add node to kind cluster %q: kind cannot add nodes to a running cluster: %w", p.name, errors.ErrUnsupported)
}

// RemoveNode is not supported: kind cannot remove nodes from a running cluster (stop
// the node instead).
func (p *Provider) RemoveNode(ctx context.Context, node *support.Node, args ...string) error {
	return fmt.Errorf("remove node from kind cluster %q: kind cannot remove nodes of a running cluster (stop it instead): %w", p.name, errors.ErrUnsupported)
}

// StartNode starts a stopped (or unpauses a paused) node; starting a running node is
// not an error.
func (p *Provider) StartNode(ctx context.Context, node *support.Node, args ...string) error {
	nc, err := p.nodes(node, args)
	if err != nil {
		return err
	}
	return nc.StartNode(ctx, node.Name)
}

// StopNode stops a node's container; stopping a stopped node is not an error.
func (p *Provider) StopNode(ctx context.Context, node *support.Node, args ...string) error {
	nc, err := p.nodes(node, args)
	if err != nil {
		return err
	}
	return nc.StopNode(ctx, node.Name)
}

func (p *Provider) nodes(node *support.Node, args []string) (clusters.NodeController, error) {
	switch {
	case node == nil || node.Name == "":
		return nil, errors.New("node operation: no node name")
	case len(args) > 0:
		return nil, fmt.Errorf("node %s: arguments %q do not apply", node.Name, args)
	case p.cluster == nil || p.cluster.Nodes == nil:
		return nil, fmt.Errorf("node %s: kind cluster %q not created yet (call Create first)", node.Name, p.name)
	}
	return p.cluster.Nodes, nil
}

// ListNode lists the cluster's nodes with their role, machine state and address (the
// address only while the node runs). Extra arguments are an error.
func (p *Provider) ListNode(ctx context.Context, args ...string) ([]support.Node, error) {
	if len(args) > 0 {
		return nil, fmt.Errorf("list nodes of kind cluster %q: arguments %q do not apply", p.name, args)
	}
	if p.cluster == nil || p.cluster.Nodes == nil {
		return nil, fmt.Errorf("list nodes: kind cluster %q not created yet (call Create first)", p.name)
	}
	kindNodes, err := p.kindProvider().ListInternalNodes(p.name)
	if err != nil {
		return nil, fmt.Errorf("listing nodes of kind cluster %q: %w", p.name, err)
	}
	out := make([]support.Node, 0, len(kindNodes))
	for _, kn := range kindNodes {
		n := support.Node{Name: kn.String(), Cluster: p.name}
		if n.Role, err = kn.Role(); err != nil {
			return nil, fmt.Errorf("role of node %s: %w", n.Name, err)
		}
		state, err := p.cluster.Nodes.State(ctx, n.Name)
		if err != nil {
			return nil, err
		}
		n.State = string(state)
		if state == clusters.NodeRunning {
			if addr, err := p.cluster.Nodes.Address(ctx, n.Name); err == nil {
				n.IP = net.ParseIP(addr)
			}
		}
		out = append(out, n)
	}
	return out, nil
}

// kindProvider is kind's library provider, for what clusters.Kind does not offer
// (logs, image archives, node roles); it detects the container runtime as kind does.
func (p *Provider) kindProvider() *cluster.Provider {
	logger := p.logger
	if logger == nil {
		logger = log.NoopLogger{}
	}
	runtime, err := cluster.DetectNodeProvider()
	if err != nil || runtime == nil {
		runtime = cluster.ProviderWithDocker()
	}
	return cluster.NewProvider(cluster.ProviderWithLogger(logger), runtime)
}
