package cli

import (
	"context"
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
	kindversion "sigs.k8s.io/kind/pkg/cmd/kind/version"
)

func (a *app) newVersionCommand() *cobra.Command {
	return &cobra.Command{
		Use:     "version",
		Short:   "Print the versions of gameday, Go and the kind library",
		Long:    `Version prints gameday's version, the Go version it was built with, and the version of the kind library it creates clusters with.`,
		Example: `  gameday version`,
		Args:    usageArgs(cobra.NoArgs),
		RunE: runE(func(context.Context, []string) error {
			fmt.Fprintf(a.stdout, "gameday %s\n", version())
			fmt.Fprintf(a.stdout, "go %s %s/%s\n", runtime.Version(), runtime.GOOS, runtime.GOARCH)
			fmt.Fprintf(a.stdout, "kind library v%s\n", kindversion.Version())
			return nil
		}),
	}
}

// version is Version, or the module version recorded by `go install ...@vX` when
// Version was not set at build time.
func version() string {
	if Version != "dev" {
		return Version
	}
	if info, ok := debug.ReadBuildInfo(); ok && info.Main.Version != "" && info.Main.Version != "(devel)" {
		return info.Main.Version
	}
	return Version
}
