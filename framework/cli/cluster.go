package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/gameday-dev/gameday/clusters"
	kindconfigs "github.com/gameday-dev/gameday/clusters/kind"
)

func (a *app) newClusterCommand() *cobra.Command {
	cmd := groupCommand(&cobra.Command{
		Use:   "cluster",
		Short: "Create, delete and list local kind clusters for game days",
		Long: `The cluster commands manage local kind clusters through kind's Go library (no kind
binary needed, only Docker or Podman). Their kubeconfigs are written under
$GAMEDAY_STATE_DIR (default ~/.local/state/gameday), leaving ~/.kube/config alone.`,
		Example: `  gameday cluster up
  gameday cluster up --name big --config 3cp-2w --wait 10m
  gameday cluster list
  gameday cluster load --name big my-app:dev
  gameday cluster down --name big`,
	})
	cmd.AddCommand(a.newClusterUpCommand(), a.newClusterDownCommand(), a.newClusterListCommand(), a.newClusterLoadCommand())
	return cmd
}

type clusterUpFlags struct {
	name      string
	config    string
	nodeImage string
	wait      time.Duration
}

func (a *app) newClusterUpCommand() *cobra.Command {
	flags := &clusterUpFlags{}
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Create a kind cluster, or reuse it when it exists",
		Long: fmt.Sprintf(`Up creates a kind cluster and waits until every node is Ready, or reuses the
cluster of that name when it exists (--config and --node-image then do not apply).
It prints the cluster's kubeconfig path and the export line that points kubectl at it.

--config is a shipped config name (%s) or a kind config file.
Exit code 2 for an unknown config, 3 when the cluster cannot be created.`, strings.Join(clusters.KindConfigNames(), ", ")),
		Example: `  gameday cluster up
  eval "$(gameday cluster up | grep ^export)"

  # three control-plane nodes, a specific node image
  gameday cluster up --name ha --config 3cp-2w --node-image kindest/node:v1.35.0

  # your own kind config
  gameday cluster up --config ./my-kind.yaml`,
		Args: usageArgs(cobra.NoArgs),
		RunE: runE(func(ctx context.Context, _ []string) error {
			return a.clusterUp(ctx, flags)
		}),
	}
	f := cmd.Flags()
	f.StringVar(&flags.name, "name", "gameday", "kind cluster name")
	f.StringVar(&flags.config, "config", "1cp-2w", "shipped kind config name ("+strings.Join(clusters.KindConfigNames(), ", ")+") or a kind config file")
	f.StringVar(&flags.nodeImage, "node-image", "", "kind node image (default: $GAMEDAY_NODE_IMAGE, the offline test bed's image, or kind's)")
	f.DurationVar(&flags.wait, "wait", 5*time.Minute, "how long to wait for every node to be Ready")
	return cmd
}

func (a *app) clusterUp(ctx context.Context, flags *clusterUpFlags) error {
	if err := checkKindConfig(flags.config); err != nil {
		return invalidInput(err)
	}
	if flags.wait <= 0 {
		return usageError{cmd: "gameday cluster up", err: fmt.Errorf("--wait must be positive, got %s", flags.wait)}
	}
	kind := &clusters.Kind{
		Name: flags.name, Config: flags.config, NodeImage: flags.nodeImage,
		Reuse: true, WaitForReady: flags.wait, Logger: a.log,
	}
	c, err := kind.Up(ctx)
	if err != nil {
		return err
	}
	if c.Created {
		fmt.Fprintf(a.stdout, "created kind cluster %q\n", c.Name)
	} else {
		fmt.Fprintf(a.stdout, "kind cluster %q already exists; reusing it\n", c.Name)
	}
	fmt.Fprintf(a.stdout, "kubeconfig: %s (context %s)\n", c.KubeconfigPath, c.Context)
	fmt.Fprintf(a.stdout, "export KUBECONFIG=%s\n", shellQuote(c.KubeconfigPath))
	return nil
}

// checkKindConfig reports an unknown shipped config name or a missing config file
// before anything is created. It mirrors how clusters.Kind tells names from files.
func checkKindConfig(config string) error {
	if kindconfigs.IsName(config) {
		if !kindconfigs.Known(config) {
			return fmt.Errorf("--config: %w", kindconfigs.UnknownNameError(config))
		}
		return nil
	}
	if _, err := os.Stat(config); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("--config %s: no such file", config)
		}
		return fmt.Errorf("--config: %w", err)
	}
	return nil
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:@%+=,") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

type clusterDownFlags struct {
	name string
}

func (a *app) newClusterDownCommand() *cobra.Command {
	flags := &clusterDownFlags{}
	cmd := &cobra.Command{
		Use:   "down",
		Short: "Delete a kind cluster and its kubeconfig",
		Long: `Down deletes the kind cluster and the kubeconfig gameday wrote for it. Deleting a
cluster that does not exist is not an error.`,
		Example: `  gameday cluster down
  gameday cluster down --name ha`,
		Args: usageArgs(cobra.NoArgs),
		RunE: runE(func(ctx context.Context, _ []string) error {
			kind := &clusters.Kind{Name: flags.name, Logger: a.log}
			exists, err := kind.Exists()
			if err != nil {
				return err
			}
			if !exists {
				fmt.Fprintf(a.stdout, "no kind cluster named %q; nothing to delete\n", flags.name)
				return nil
			}
			if err := kind.Down(ctx); err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "deleted kind cluster %q\n", flags.name)
			return nil
		}),
	}
	cmd.Flags().StringVar(&flags.name, "name", "gameday", "kind cluster name")
	return cmd
}

func (a *app) newClusterListCommand() *cobra.Command {
	return &cobra.Command{
		Use:     "list",
		Short:   "List the kind clusters on this machine",
		Long:    `List prints the names of the kind clusters on this machine, one per line.`,
		Example: `  gameday cluster list`,
		Args:    usageArgs(cobra.NoArgs),
		RunE: runE(func(context.Context, []string) error {
			names, err := clusters.ListKind()
			if err != nil {
				return fmt.Errorf("listing kind clusters: %w", err)
			}
			if len(names) == 0 {
				fmt.Fprintln(a.stderr, "no kind clusters")
				return nil
			}
			for _, n := range names {
				fmt.Fprintln(a.stdout, n)
			}
			return nil
		}),
	}
}

type clusterLoadFlags struct {
	name string
}

func (a *app) newClusterLoadCommand() *cobra.Command {
	flags := &clusterLoadFlags{}
	cmd := &cobra.Command{
		Use:   "load IMAGE...",
		Short: "Copy local images into every node of a kind cluster",
		Long: `Load copies images from the local Docker (or Podman) image store into every node
of a kind cluster, as ` + "`kind load docker-image`" + ` does, without the kind binary. A node that
already holds the same image ID under that name is skipped. It prints, per image,
the nodes it was loaded into and those that already had it.

A run loads the probe agent's image and every image named in its fixtures' pod
specs by itself; use load for images your cluster needs otherwise, or to load a
rebuilt image into a running cluster. Reference loaded images with a tag other than
:latest (or imagePullPolicy: IfNotPresent), or the kubelet tries to pull them.

Exit code 2 when an image is not in the local image store or the cluster does not
exist, 3 when loading fails.`,
		Example: `  docker build -t my-app:dev .
  gameday cluster load my-app:dev

  gameday cluster load --name ha my-app:dev my-worker:dev`,
		Args: usageArgs(cobra.MinimumNArgs(1)),
		RunE: runE(func(ctx context.Context, images []string) error {
			return a.clusterLoad(ctx, flags, images)
		}),
	}
	cmd.Flags().StringVar(&flags.name, "name", "gameday", "kind cluster name")
	return cmd
}

func (a *app) clusterLoad(ctx context.Context, flags *clusterLoadFlags, images []string) error {
	// Every image and the cluster are checked before anything is copied, and every
	// problem is reported at once.
	var problems []string
	for _, image := range images {
		if _, err := clusters.LocalImageID(ctx, image); errors.Is(err, clusters.ErrImageNotLocal) {
			problems = append(problems, fmt.Sprintf("%s: %s", err, clusters.BuildHint(image)))
		} else if err != nil {
			return err
		}
	}
	kind := &clusters.Kind{Name: flags.name, Logger: a.log}
	exists, err := kind.Exists()
	if err != nil {
		return err
	}
	if !exists {
		problems = append(problems, fmt.Sprintf("no kind cluster named %q (create it with `gameday cluster up --name %s`)", flags.name, flags.name))
	}
	if len(problems) > 0 {
		return invalidInput(errors.New(strings.Join(problems, "; ")))
	}
	loads, err := kind.LoadImagesReport(ctx, images...)
	for _, l := range loads {
		switch {
		case len(l.Loaded) == 0:
			fmt.Fprintf(a.stdout, "%s: already on every node (%s)\n", l.Image, strings.Join(l.Present, ", "))
		case len(l.Present) == 0:
			fmt.Fprintf(a.stdout, "%s: loaded into %s\n", l.Image, strings.Join(l.Loaded, ", "))
		default:
			fmt.Fprintf(a.stdout, "%s: loaded into %s; already on %s\n", l.Image, strings.Join(l.Loaded, ", "), strings.Join(l.Present, ", "))
		}
	}
	if err != nil {
		return fmt.Errorf("loading images into kind cluster %q: %w", flags.name, err)
	}
	return nil
}
