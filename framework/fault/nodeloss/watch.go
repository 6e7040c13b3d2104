package nodeloss

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/gameday-dev/gameday/framework/fault"
	"github.com/gameday-dev/gameday/reports"
)

// watchInterval is how often Watch looks at the nodes.
const watchInterval = 500 * time.Millisecond

// Watch records every node Ready condition change, with the cluster's own
// timestamp (lastTransitionTime): the time Kubernetes took to notice a node loss,
// next to the probes' view. It polls until ctx ends, then once more.
func (in *Injector) Watch(ctx context.Context, env fault.Env) {
	ready := map[string]corev1.ConditionStatus{}
	fault.Poll(ctx, watchInterval, func(ctx context.Context) {
		nodes, err := env.Client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
		if err != nil {
			return
		}
		for _, n := range nodes.Items {
			for _, c := range n.Status.Conditions {
				if c.Type != corev1.NodeReady {
					continue
				}
				if prev, seen := ready[n.Name]; seen && prev != c.Status {
					what := "nodeReady"
					if c.Status != corev1.ConditionTrue {
						what = "nodeNotReady"
					}
					env.Report().Observe(reports.Observation{
						What: what, At: c.LastTransitionTime.Time.UTC(),
						Source: "node/" + n.Name + " .status.conditions[Ready]",
						Detail: fmt.Sprintf("Ready=%s reason=%s", c.Status, c.Reason),
					})
				}
				ready[n.Name] = c.Status
			}
		}
	})
}
