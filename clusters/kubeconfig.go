package clusters

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
)

// Existing is an existing cluster reached through a kubeconfig context. It is never
// created or deleted, and has no NodeController: node faults on such clusters go
// through an in-cluster agent and need an explicit opt-in.
type Existing struct {
	// Path is the kubeconfig file; empty means $KUBECONFIG's first file or ~/.kube/config.
	Path string
	// Context is the context to use; empty means the file's current context.
	Context string
}

// Connect loads the kubeconfig and returns a handle; it does not call the cluster.
func (e Existing) Connect(ctx context.Context) (*Cluster, error) {
	path := e.Path
	if path == "" {
		path = DefaultKubeconfigPath()
	}
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("kubeconfig: %w", err)
	}
	cfg, name, err := restConfigFromKubeconfig(path, e.Context)
	if err != nil {
		return nil, err
	}
	return &Cluster{Name: name, Provider: "kubeconfig", KubeconfigPath: path, Context: name, REST: cfg}, nil
}

// DefaultKubeconfigPath is the first file in $KUBECONFIG, else ~/.kube/config.
func DefaultKubeconfigPath() string {
	if env := os.Getenv("KUBECONFIG"); env != "" {
		return filepath.SplitList(env)[0]
	}
	home, _ := os.UserHomeDir()
	return filepath.Join(home, ".kube", "config")
}
