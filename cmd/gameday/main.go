// Command gameday runs Kubernetes game days: it injects faults into a cluster, measures
// how the workloads' SLOs hold up and recover, and writes a report. See docs/cli.md.
package main

import (
	"os"

	"github.com/gameday-dev/gameday/framework/cli"
)

func main() {
	os.Exit(cli.Main())
}
