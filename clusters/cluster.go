// Package clusters creates, finds and deletes the Kubernetes clusters that game days
// run against: kind clusters through kind's Go library (created, reused, deleted), and
// existing clusters named by a kubeconfig context (never created or deleted).
//
// Node-level faults need more than the Kubernetes API; a provider that can stop,
// pause and exec into nodes also implements NodeController, discovered by type
// assertion as e2e-framework does for optional provider capabilities.
package clusters

import (
	"context"
	"fmt"
	"io"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// Cluster is a handle on a cluster a game day acts on.
type Cluster struct {
	// Name is the kind cluster name, or the kubeconfig context for existing clusters.
	Name string
	// Provider is "kind" or "kubeconfig".
	Provider string
	// KubeconfigPath is the kubeconfig file the harness uses, and Context its context.
	KubeconfigPath string
	Context        string
	// Created is true when this process created the cluster; only such clusters may
	// be deleted at the end of a run.
	Created bool
	// REST is the client configuration for the cluster's API server.
	REST *rest.Config
	// Nodes controls the nodes themselves (stop, pause, exec); nil when the provider
	// cannot reach nodes outside the Kubernetes API.
	Nodes NodeController
}

// Clientset returns a typed client for the cluster.
func (c *Cluster) Clientset() (kubernetes.Interface, error) {
	return kubernetes.NewForConfig(c.REST)
}

// NodeState is what a node machine (a kind node container) is doing.
type NodeState string

// Node machine states.
const (
	NodeRunning NodeState = "running"
	NodePaused  NodeState = "paused"
	NodeStopped NodeState = "stopped"
	NodeMissing NodeState = "missing"
)

// NodeController acts on the machines behind Kubernetes nodes. Every method is
// idempotent: stopping a stopped node or starting a running one is not an error.
type NodeController interface {
	// StopNode shuts a node down (the machine stops; its kubelet stops reporting).
	StopNode(ctx context.Context, node string) error
	// StartNode starts a stopped node again.
	StartNode(ctx context.Context, node string) error
	// PauseNode freezes every process on the node (a hung machine).
	PauseNode(ctx context.Context, node string) error
	// UnpauseNode thaws a paused node.
	UnpauseNode(ctx context.Context, node string) error
	// State reports what the node machine is doing.
	State(ctx context.Context, node string) (NodeState, error)
	// Exec runs a command on the node and returns its combined output.
	Exec(ctx context.Context, node string, stdin io.Reader, command ...string) ([]byte, error)
	// Address is the node's IP address on the network the harness can reach.
	Address(ctx context.Context, node string) (string, error)
}

// restConfigFromKubeconfig loads a client configuration for one context of a
// kubeconfig file, with client-side rate limiting off: a game day's probes must not
// queue behind each other.
func restConfigFromKubeconfig(path, context string) (*rest.Config, string, error) {
	rules := &clientcmd.ClientConfigLoadingRules{ExplicitPath: path}
	overrides := &clientcmd.ConfigOverrides{CurrentContext: context}
	loader := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, overrides)
	raw, err := loader.RawConfig()
	if err != nil {
		return nil, "", fmt.Errorf("kubeconfig %s: %w", path, err)
	}
	name := context
	if name == "" {
		name = raw.CurrentContext
	}
	if _, ok := raw.Contexts[name]; !ok {
		return nil, "", fmt.Errorf("kubeconfig %s: no context named %q", path, name)
	}
	cfg, err := loader.ClientConfig()
	if err != nil {
		return nil, "", fmt.Errorf("kubeconfig %s, context %s: %w", path, name, err)
	}
	cfg.QPS, cfg.Burst = -1, -1
	return cfg, name, nil
}
