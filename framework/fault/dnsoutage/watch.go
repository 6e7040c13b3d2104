package dnsoutage

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/gameday-dev/gameday/framework/fault"
	"github.com/gameday-dev/gameday/reports"
)

// watchInterval is how often Watch looks at CoreDNS.
const watchInterval = 500 * time.Millisecond

// Watch records when CoreDNS loses its last available replica and when it has one
// again (by the Ready transition of the first Ready pod, the cluster's own clock).
// It polls until ctx ends, then once more.
func (in *Injector) Watch(ctx context.Context, env fault.Env) {
	available := int32(-1)
	fault.Poll(ctx, watchInterval, func(ctx context.Context) {
		dep, err := env.Client.AppsV1().Deployments(Namespace).Get(ctx, Deployment, metav1.GetOptions{})
		if err != nil {
			return
		}
		avail := dep.Status.AvailableReplicas
		if available >= 0 && (avail == 0) != (available == 0) {
			o := reports.Observation{
				What: "corednsUnavailable", At: time.Now().UTC(),
				Source: "deployment/kube-system/coredns .status.availableReplicas (polled every 500ms)",
				Detail: fmt.Sprintf("%d/%d available", avail, dep.Status.Replicas),
			}
			if avail > 0 {
				o.What = "corednsAvailable"
				o.Source = "pods k8s-app=kube-dns .status.conditions[Ready]"
				if at, ok := firstReadyPod(ctx, env); ok {
					o.At = at
				}
			}
			env.Report().Observe(o)
		}
		available = avail
	})
}

// firstReadyPod is the earliest Ready transition among Ready CoreDNS pods: when
// cluster DNS came back, by the cluster's own clock.
func firstReadyPod(ctx context.Context, env fault.Env) (time.Time, bool) {
	pods, err := env.Client.CoreV1().Pods(Namespace).List(ctx, metav1.ListOptions{LabelSelector: "k8s-app=kube-dns"})
	if err != nil {
		return time.Time{}, false
	}
	var first time.Time
	for _, p := range pods.Items {
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue && (first.IsZero() || c.LastTransitionTime.Time.Before(first)) {
				first = c.LastTransitionTime.Time.UTC()
			}
		}
	}
	return first, !first.IsZero()
}
