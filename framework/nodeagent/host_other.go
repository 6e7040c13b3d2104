//go:build !linux

package nodeagent

import (
	"context"
	"errors"
)

// errNotLinux is what ChrootHost does off Linux: Kubernetes nodes the agent can stop
// the kubelet of run Linux and systemd.
var errNotLinux = errors.New("the node agent runs only on Linux nodes")

// ChrootHost is the real Host on Linux; elsewhere every call fails.
type ChrootHost struct{}

// Enter fails: there is no host to enter off Linux.
func (ChrootHost) Enter(string) error { return errNotLinux }

// Exists reports false.
func (ChrootHost) Exists(string) bool { return false }

// Run fails.
func (ChrootHost) Run(context.Context, ...string) ([]byte, error) { return nil, errNotLinux }
