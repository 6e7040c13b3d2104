package cli

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/gameday-dev/gameday/framework/probe"
)

func (a *app) newAgentCommand() *cobra.Command {
	var cfg probe.AgentConfig
	cmd := &cobra.Command{
		Use:   "agent --http name=URL... --dns name=host@server:53...",
		Short: "Run the in-cluster probe agent (used inside the cluster by gameday run)",
		Long: `Agent runs probes from inside the cluster and writes every sample to stdout as one
JSON line, plus a {"heartbeat":TIME} line at the start and every --heartbeat, until
SIGTERM or Ctrl-C (then it exits 0). 'gameday run' starts it as a pod from the
gameday/gameday:dev image and follows its log; you rarely run it yourself.

Exit code 2 for invalid flags (no probe, a bad URL or server, non-positive times).`,
		Example: `  gameday agent --http web=http://workload.gameday-workload.svc/healthz \
    --dns coredns=workload.gameday-workload.svc.cluster.local@10.96.0.10:53 \
    --interval 250ms --timeout 1s`,
		Args: usageArgs(cobra.NoArgs),
	}
	cfg.Flags(cmd.Flags())
	cmd.RunE = runE(func(ctx context.Context, _ []string) error {
		if err := cfg.Validate(); err != nil {
			return usageError{cmd: "gameday agent", err: err}
		}
		a.interrupts.say("", nil) // SIGTERM is how the agent is told to stop
		return probe.RunAgent(ctx, cfg, a.stdout)
	})
	return cmd
}
