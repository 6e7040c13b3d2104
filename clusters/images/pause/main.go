// Command pause is the pod sandbox ("pause") container of the offline test bed: it
// holds a pod's namespaces open, reaps orphaned children, and exits cleanly on
// SIGINT/SIGTERM. `pause -v` prints its version and exits 0, which kubeadm's upgrade
// health check relies on (it runs the pause image with -v as a Job).
package main

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

const version = "gameday-pause/1"

func main() {
	if len(os.Args) > 1 && (os.Args[1] == "-v" || os.Args[1] == "--version") {
		fmt.Println(version)
		return
	}
	if os.Getpid() != 1 {
		fmt.Fprintln(os.Stderr, "warning: pause should be the first process (pid 1)")
	}
	signals := make(chan os.Signal, 8)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM, syscall.SIGCHLD)
	for sig := range signals {
		if sig == syscall.SIGCHLD {
			reap()
			continue
		}
		fmt.Fprintf(os.Stderr, "shutting down, got signal: %v\n", sig)
		os.Exit(0)
	}
}

// reap collects every exited child so that none stays a zombie.
func reap() {
	for {
		var status syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &status, syscall.WNOHANG, nil)
		if pid <= 0 || err != nil {
			return
		}
	}
}
