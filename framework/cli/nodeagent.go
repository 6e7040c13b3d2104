package cli

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/gameday-dev/gameday/framework/nodeagent"
)

func (a *app) newNodeAgentCommand() *cobra.Command {
	var cfg nodeagent.Config
	cmd := &cobra.Command{
		Use:   "node-agent --stop-kubelet-for DURATION",
		Short: "Stop this node's kubelet for a while (run by nodeLoss inside a privileged pod)",
		Long: `Node-agent is the nodeLoss fault's agent on existing clusters. It runs inside a
privileged pod with hostPID pinned to the target node (gameday creates that pod; you
do not run this command yourself). It changes its root to the host's (--host-root),
runs the host's 'systemctl stop kubelet', and writes a {"event":"kubeletStopped"} JSON
line. It then waits for --stop-kubelet-for, or until SIGTERM or SIGINT, whichever comes
first, runs 'systemctl start kubelet' (retrying every 2s for up to 2 minutes) and
exits 0.

The wait is a dead-man's switch: while the kubelet is stopped, the Kubernetes API
cannot reach this pod (no exec, no logs, and deleting the pod signals nothing until a
kubelet runs again), so the node comes back when the time is up even if gameday died.
Signals never interrupt a systemctl command, and a second signal does not end the
agent before the kubelet has been started again.

Exit code 0 once the kubelet runs again, 2 for invalid flags, 3 when the host cannot
be entered or the kubelet cannot be stopped or started, 4 when a signal came before
anything was changed.`,
		Example: `  gameday node-agent --stop-kubelet-for 45s --host-root /proc/1/root`,
		Hidden:  true,
		Args:    usageArgs(cobra.NoArgs),
	}
	f := cmd.Flags()
	f.DurationVar(&cfg.StopKubeletFor, "stop-kubelet-for", 0, "how long the kubelet stays stopped unless a signal ends the hold first (required)")
	f.StringVar(&cfg.HostRoot, "host-root", nodeagent.DefaultHostRoot, "the host's root filesystem as this process sees it")
	cmd.RunE = runE(func(ctx context.Context, _ []string) error {
		if err := cfg.Validate(); err != nil {
			return usageError{cmd: "gameday node-agent", err: err}
		}
		a.interrupts.keepRunning()
		return nodeagent.Run(ctx, cfg, nodeagent.ChrootHost{}, a.stdout)
	})
	return cmd
}

// keepRunning makes interrupts quiet and harmless for the node agent: the first
// cancels the command's context (ending the hold), later ones are ignored instead of
// exiting at once, which could leave the node without its kubelet.
func (in *interrupts) keepRunning() {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.first = ""
	in.second = func() string { return "" }
	in.exit = func(int) {}
}
