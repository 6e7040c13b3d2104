//go:build linux

package nodeagent

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"syscall"
)

// hostEnv is the environment of the host commands: the image has none worth passing
// on. SYSTEMD_IGNORE_CHROOT keeps systemctl from ignoring requests should it take the
// changed root for a chroot (it compares / with /proc/1/root, which are the same here).
var hostEnv = []string{
	"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
	"LANG=C",
	"SYSTEMD_IGNORE_CHROOT=1",
}

// ChrootHost is the real Host: it enters the host with chroot(2), which needs
// CAP_SYS_CHROOT (a privileged container), and runs commands with os/exec.
type ChrootHost struct{}

// Enter changes the process's root directory to root and its working directory to /.
func (ChrootHost) Enter(root string) error {
	if err := syscall.Chroot(root); err != nil {
		return fmt.Errorf("chroot %s: %w", root, err)
	}
	if err := os.Chdir("/"); err != nil {
		return fmt.Errorf("chdir / after chroot: %w", err)
	}
	return nil
}

// Exists reports whether path exists.
func (ChrootHost) Exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// Run runs command and returns its combined output.
func (ChrootHost) Run(ctx context.Context, command ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, command[0], command[1:]...)
	cmd.Env = hostEnv
	cmd.Dir = "/"
	out, err := cmd.CombinedOutput()
	if err != nil {
		return out, fmt.Errorf("%v: %w", command, err)
	}
	return out, nil
}
