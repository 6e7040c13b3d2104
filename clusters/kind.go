package clusters

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/kind/pkg/cluster"
	"sigs.k8s.io/kind/pkg/cluster/nodes"
	"sigs.k8s.io/kind/pkg/cluster/nodeutils"
	kindexec "sigs.k8s.io/kind/pkg/exec"
	"sigs.k8s.io/kind/pkg/log"

	kindconfigs "github.com/gameday-dev/gameday/clusters/kind"
)

// DefaultKubernetesVersion is the node version used when the offline test bed's
// images exist and nothing else is asked for.
const DefaultKubernetesVersion = "v1.35.4"

// OfflineNodeImage is the name of the test bed's node image for a Kubernetes version.
func OfflineNodeImage(version string) string { return "gameday/node:" + version }

// Kind creates, reuses and deletes kind clusters through kind's Go library.
type Kind struct {
	// Name is the kind cluster name (default "gameday").
	Name string
	// Config is a kind config: a shipped name ("1cp-2w") or a file path.
	Config string
	// NodeImage overrides the node image; empty picks DefaultNodeImage().
	NodeImage string
	// Reuse an existing cluster of the same name instead of failing.
	Reuse bool
	// KubeconfigPath is where the cluster's kubeconfig is written (default
	// StateDir()/kind-<name>.kubeconfig, so the user's ~/.kube/config is left alone).
	KubeconfigPath string
	// WaitForReady bounds how long creation waits for every node to be Ready.
	WaitForReady time.Duration
	// Logger receives kind's progress output (default: none).
	Logger log.Logger
}

// runtimeBinary is the container CLI kind's provider uses; node control uses the same.
func runtimeBinary() string {
	switch os.Getenv("KIND_EXPERIMENTAL_PROVIDER") {
	case "podman":
		return "podman"
	case "nerdctl":
		return "nerdctl"
	}
	return "docker"
}

func (k *Kind) name() string {
	if k.Name == "" {
		return "gameday"
	}
	return k.Name
}

func (k *Kind) provider() *cluster.Provider {
	logger := k.Logger
	if logger == nil {
		logger = log.NoopLogger{}
	}
	opt, err := cluster.DetectNodeProvider()
	if err != nil || opt == nil {
		opt = cluster.ProviderWithDocker()
	}
	return cluster.NewProvider(cluster.ProviderWithLogger(logger), opt)
}

func (k *Kind) kubeconfigPath() string {
	if k.KubeconfigPath != "" {
		return k.KubeconfigPath
	}
	return filepath.Join(StateDir(), "kind-"+k.name()+".kubeconfig")
}

// StateDir is where gameday keeps kubeconfigs of the clusters it created:
// $GAMEDAY_STATE_DIR, else $XDG_STATE_HOME/gameday, else ~/.local/state/gameday.
func StateDir() string {
	if d := os.Getenv("GAMEDAY_STATE_DIR"); d != "" {
		return d
	}
	if d := os.Getenv("XDG_STATE_HOME"); d != "" {
		return filepath.Join(d, "gameday")
	}
	home, _ := os.UserHomeDir()
	return filepath.Join(home, ".local", "state", "gameday")
}

// DefaultNodeImage picks the node image: $GAMEDAY_NODE_IMAGE, else the offline test
// bed's image for DefaultKubernetesVersion when Docker has it, else "" (kind's own
// default public image).
func DefaultNodeImage(ctx context.Context) string {
	if img := os.Getenv("GAMEDAY_NODE_IMAGE"); img != "" {
		return img
	}
	img := OfflineNodeImage(DefaultKubernetesVersion)
	if err := kindexec.CommandContext(ctx, runtimeBinary(), "image", "inspect", img).Run(); err == nil {
		return img
	}
	return ""
}

// Exists reports whether a kind cluster of this name exists.
func (k *Kind) Exists() (bool, error) {
	names, err := k.provider().List()
	if err != nil {
		return false, fmt.Errorf("listing kind clusters: %w", err)
	}
	for _, n := range names {
		if n == k.name() {
			return true, nil
		}
	}
	return false, nil
}

// Up creates the cluster, or reuses it when it exists and Reuse is set, and returns
// a handle whose Created field says which happened.
func (k *Kind) Up(ctx context.Context) (*Cluster, error) {
	exists, err := k.Exists()
	if err != nil {
		return nil, err
	}
	created := false
	if exists && !k.Reuse {
		return nil, fmt.Errorf("kind cluster %q already exists (reuse it, or delete it with `gameday cluster down --name %s`)", k.name(), k.name())
	}
	if !exists {
		if err := k.create(ctx); err != nil {
			return nil, err
		}
		created = true
	} else if err := k.provider().ExportKubeConfig(k.name(), k.kubeconfigPath(), false); err != nil {
		return nil, fmt.Errorf("exporting kubeconfig of kind cluster %q: %w", k.name(), err)
	}
	cfg, context, err := restConfigFromKubeconfig(k.kubeconfigPath(), "kind-"+k.name())
	if err != nil {
		return nil, err
	}
	if created {
		if err := k.waitForNodes(ctx, cfg); err != nil {
			return nil, err
		}
	}
	return &Cluster{
		Name: k.name(), Provider: "kind", KubeconfigPath: k.kubeconfigPath(), Context: context,
		Created: created, REST: cfg, Nodes: &kindNodes{cluster: k.name(), runtime: runtimeBinary()},
	}, nil
}

func (k *Kind) create(ctx context.Context) error {
	raw, err := k.rawConfig()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(k.kubeconfigPath()), 0o700); err != nil {
		return err
	}
	wait := k.WaitForReady
	if wait == 0 {
		wait = 5 * time.Minute
	}
	image := k.NodeImage
	if image == "" {
		image = DefaultNodeImage(ctx)
	}
	opts := []cluster.CreateOption{
		cluster.CreateWithRawConfig(raw),
		cluster.CreateWithWaitForReady(wait),
		cluster.CreateWithKubeconfigPath(k.kubeconfigPath()),
		cluster.CreateWithDisplayUsage(false),
		cluster.CreateWithDisplaySalutation(false),
	}
	if image != "" {
		opts = append(opts, cluster.CreateWithNodeImage(image))
	}
	if err := k.provider().Create(k.name(), opts...); err != nil {
		return fmt.Errorf("creating kind cluster %q: %w", k.name(), describeRunError(err))
	}
	return nil
}

// waitForNodes waits, within WaitForReady, until every node of a new cluster has
// registered and is Ready: kind's own wait covers the control planes only, and a
// game day must not start while a worker is still joining.
func (k *Kind) waitForNodes(ctx context.Context, cfg *rest.Config) error {
	machines, err := k.provider().ListInternalNodes(k.name())
	if err != nil {
		return fmt.Errorf("listing the nodes of kind cluster %q: %w", k.name(), err)
	}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	timeout := k.WaitForReady
	if timeout == 0 {
		timeout = 5 * time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var notReady []string
	err = wait.PollUntilContextCancel(ctx, time.Second, true, func(ctx context.Context) (bool, error) {
		list, err := client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, nil
		}
		notReady = notReady[:0]
		for _, n := range list.Items {
			if !NodeReady(&n) {
				notReady = append(notReady, n.Name)
			}
		}
		return len(list.Items) == len(machines) && len(notReady) == 0, nil
	})
	if err != nil {
		return fmt.Errorf("kind cluster %q: not every node Ready within %s (of %d machines, not Ready: %v)", k.name(), timeout, len(machines), notReady)
	}
	return nil
}

// NodeReady reports whether a node's Ready condition is True.
func NodeReady(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// rawConfig reads the kind config: a shipped name or a file.
func (k *Kind) rawConfig() ([]byte, error) {
	cfg := k.Config
	if cfg == "" {
		cfg = kindconfigs.DefaultName
	}
	if kindconfigs.IsName(cfg) {
		return KindConfig(cfg)
	}
	raw, err := os.ReadFile(cfg)
	if err != nil {
		return nil, fmt.Errorf("kind config: %w", err)
	}
	return raw, nil
}

// Down deletes the cluster and its kubeconfig file. Deleting a missing cluster is
// not an error.
func (k *Kind) Down(ctx context.Context) error {
	if err := k.provider().Delete(k.name(), k.kubeconfigPath()); err != nil {
		return fmt.Errorf("deleting kind cluster %q: %w", k.name(), describeRunError(err))
	}
	_ = os.Remove(k.kubeconfigPath())
	return nil
}

// ListKind returns the names of the kind clusters on this machine.
func ListKind() ([]string, error) {
	return (&Kind{}).provider().List()
}

func loadImage(ctx context.Context, image string, targets []nodes.Node) error {
	tmp, err := os.CreateTemp("", "gameday-image-*.tar")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	if err := kindexec.CommandContext(ctx, runtimeBinary(), "save", "-o", tmp.Name(), image).Run(); err != nil {
		return fmt.Errorf("saving image %s: %w", image, describeRunError(err))
	}
	for _, n := range targets {
		f, err := os.Open(tmp.Name())
		if err != nil {
			return err
		}
		err = nodeutils.LoadImageArchive(n, f)
		f.Close()
		if err != nil {
			return fmt.Errorf("loading image %s into node %s: %w", image, n.String(), describeRunError(err))
		}
	}
	return nil
}

// describeRunError adds a failed command's output to its error, as kind's CLI does.
func describeRunError(err error) error {
	var runErr *kindexec.RunError
	if errors.As(err, &runErr) && len(runErr.Output) > 0 {
		out := bytes.TrimSpace(runErr.Output)
		if len(out) > 2000 {
			out = append([]byte("..."), out[len(out)-2000:]...)
		}
		return fmt.Errorf("%w\n%s", err, out)
	}
	return err
}

// kindNodes implements NodeController for kind nodes, which are containers.
type kindNodes struct {
	cluster string
	runtime string
}

func (n *kindNodes) container(ctx context.Context, args ...string) ([]byte, error) {
	out, err := kindexec.CombinedOutputLines(kindexec.CommandContext(ctx, n.runtime, args...))
	return []byte(strings.Join(out, "\n")), describeRunError(err)
}

// State reports the node container's state.
func (n *kindNodes) State(ctx context.Context, node string) (NodeState, error) {
	out, err := n.container(ctx, "inspect", "-f", "{{.State.Status}}", node)
	if err != nil {
		if strings.Contains(strings.ToLower(string(out)), "no such") {
			return NodeMissing, nil
		}
		return "", fmt.Errorf("inspecting node %s: %w", node, err)
	}
	switch strings.TrimSpace(string(out)) {
	case "running":
		return NodeRunning, nil
	case "paused":
		return NodePaused, nil
	default:
		return NodeStopped, nil
	}
}

// StopNode stops the node container: systemd shuts the node down as a machine would.
func (n *kindNodes) StopNode(ctx context.Context, node string) error {
	return n.transition(ctx, node, NodeStopped, "stop", "--time", "10", node)
}

// StartNode starts a stopped node container; kind nodes come back with their state.
func (n *kindNodes) StartNode(ctx context.Context, node string) error {
	st, err := n.State(ctx, node)
	if err != nil {
		return err
	}
	if st == NodePaused {
		return n.UnpauseNode(ctx, node)
	}
	return n.transition(ctx, node, NodeRunning, "start", node)
}

// PauseNode freezes the node container's processes (cgroup freezer).
func (n *kindNodes) PauseNode(ctx context.Context, node string) error {
	return n.transition(ctx, node, NodePaused, "pause", node)
}

// UnpauseNode thaws a paused node container.
func (n *kindNodes) UnpauseNode(ctx context.Context, node string) error {
	return n.transition(ctx, node, NodeRunning, "unpause", node)
}

func (n *kindNodes) transition(ctx context.Context, node string, want NodeState, args ...string) error {
	st, err := n.State(ctx, node)
	if err != nil {
		return err
	}
	if st == want {
		return nil
	}
	if st == NodeMissing {
		return fmt.Errorf("node %s of kind cluster %s does not exist", node, n.cluster)
	}
	if _, err := n.container(ctx, args...); err != nil {
		return fmt.Errorf("%s node %s: %w", args[0], node, err)
	}
	return nil
}

// Exec runs a command inside the node container.
func (n *kindNodes) Exec(ctx context.Context, node string, stdin io.Reader, command ...string) ([]byte, error) {
	args := append([]string{"exec"}, interactive(stdin)...)
	args = append(args, node)
	args = append(args, command...)
	cmd := kindexec.CommandContext(ctx, n.runtime, args...)
	if stdin != nil {
		cmd.SetStdin(stdin)
	}
	var out bytes.Buffer
	cmd.SetStdout(&out)
	cmd.SetStderr(&out)
	if err := cmd.Run(); err != nil {
		return out.Bytes(), fmt.Errorf("on node %s, %s: %w: %s", node, strings.Join(command, " "), err, bytes.TrimSpace(out.Bytes()))
	}
	return out.Bytes(), nil
}

func interactive(stdin io.Reader) []string {
	if stdin != nil {
		return []string{"-i"}
	}
	return nil
}

// Address is the node container's IP on the kind network, reachable from the host.
func (n *kindNodes) Address(ctx context.Context, node string) (string, error) {
	out, err := n.container(ctx, "inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}", node)
	if err != nil {
		return "", fmt.Errorf("address of node %s: %w", node, err)
	}
	fields := strings.Fields(string(out))
	if len(fields) == 0 {
		return "", fmt.Errorf("node %s has no IPv4 address", node)
	}
	return fields[0], nil
}
