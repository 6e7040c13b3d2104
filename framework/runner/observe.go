package runner

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/gameday-dev/gameday/framework/fault"
	"github.com/gameday-dev/gameday/reports"
)

// observe records what Kubernetes itself noticed, with the cluster's own timestamps:
// node Ready condition changes (lastTransitionTime) and CoreDNS availability. They
// give "time Kubernetes took to notice" next to the probes' view.
//
// It polls every 500ms while ctx lives, and once more after ctx ends, so that a
// change that made the run's final verification pass (a node Ready again) is
// recorded even when it happened since the last poll.
func (r *run) observe(ctx context.Context) {
	ready := map[string]corev1.ConditionStatus{}
	dnsAvailable := int32(-1)
	t := time.NewTicker(500 * time.Millisecond)
	defer t.Stop()
	for {
		r.observeOnce(ctx, ready, &dnsAvailable)
		select {
		case <-ctx.Done():
			final, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			r.observeOnce(final, ready, &dnsAvailable)
			cancel()
			return
		case <-t.C:
		}
	}
}

// observeOnce polls node conditions and CoreDNS availability once, recording
// every change since the previous poll.
func (r *run) observeOnce(ctx context.Context, ready map[string]corev1.ConditionStatus, dnsAvailable *int32) {
	if nodes, err := r.client.CoreV1().Nodes().List(ctx, metav1.ListOptions{}); err == nil {
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
					r.addObservation(reports.Observation{
						What: what, At: c.LastTransitionTime.Time.UTC(),
						Source: "node/" + n.Name + " .status.conditions[Ready]",
						Detail: fmt.Sprintf("Ready=%s reason=%s", c.Status, c.Reason),
					})
				}
				ready[n.Name] = c.Status
			}
		}
	}
	if dep, err := r.client.AppsV1().Deployments("kube-system").Get(ctx, "coredns", metav1.GetOptions{}); err == nil {
		avail := dep.Status.AvailableReplicas
		if *dnsAvailable >= 0 && (avail == 0) != (*dnsAvailable == 0) {
			o := reports.Observation{
				What: "corednsUnavailable", At: time.Now().UTC(),
				Source: "deployment/kube-system/coredns .status.availableReplicas (polled every 500ms)",
				Detail: fmt.Sprintf("%d/%d available", avail, dep.Status.Replicas),
			}
			if avail > 0 {
				o.What = "corednsAvailable"
				o.Source = "pods k8s-app=kube-dns .status.conditions[Ready]"
				if at, ok := r.firstReadyDNSPod(ctx); ok {
					o.At = at
				}
			}
			r.addObservation(o)
		}
		*dnsAvailable = avail
	}
}

// firstReadyDNSPod is the earliest Ready transition among Ready CoreDNS pods: when
// cluster DNS came back, by the cluster's own clock.
func (r *run) firstReadyDNSPod(ctx context.Context) (time.Time, bool) {
	pods, err := r.client.CoreV1().Pods("kube-system").List(ctx, metav1.ListOptions{LabelSelector: "k8s-app=kube-dns"})
	if err != nil {
		return time.Time{}, false
	}
	var first time.Time
	for _, p := range pods.Items {
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue && (first.IsZero() || c.LastTransitionTime.Before(&metav1.Time{Time: first})) {
				first = c.LastTransitionTime.Time.UTC()
			}
		}
	}
	return first, !first.IsZero()
}

// addObservation stores an observation, relating it to the fault step it falls in.
func (r *run) addObservation(o reports.Observation) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if o.Step == "" {
		for i := len(r.windows) - 1; i >= 0; i-- {
			if !o.At.Before(r.windows[i].Start) {
				o.Step = r.windows[i].Name
				break
			}
		}
	}
	r.observations = append(r.observations, o)
}

// verifyHealthy waits until every reverted fault verifies (node Ready, Corefile
// identical, CoreDNS available) and no fault marker is left in the cluster.
func (r *run) verifyHealthy(ctx context.Context) error {
	r.progress.Phase("verify")
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Minute)
	defer cancel()
	r.mu.Lock()
	reverted := append([]injected(nil), r.reverted...)
	r.mu.Unlock()
	for _, f := range reverted {
		v, ok := f.injector.(fault.Verifier)
		if !ok {
			continue
		}
		var last error
		err := wait.PollUntilContextCancel(ctx, time.Second, true, func(ctx context.Context) (bool, error) {
			last = v.Verify(ctx, r.env(f.rec.Step), f.rec)
			return last == nil, nil
		})
		if err != nil {
			return fmt.Errorf("after reverting %s: %v", f.injector.Describe(f.rec), last)
		}
		r.progress.Printf("verified: %s is reverted", f.rec.Target)
	}
	var leftovers []string
	for _, kind := range fault.Kinds() {
		inj, err := fault.ForKind(kind)
		if err != nil {
			return err
		}
		recs, err := inj.Outstanding(ctx, r.env(""))
		if err != nil {
			return fmt.Errorf("looking for fault markers: %w", err)
		}
		for _, rec := range recs {
			if rec.RunID == r.id {
				leftovers = append(leftovers, rec.ID)
			}
		}
	}
	if len(leftovers) > 0 {
		return errors.New("fault markers left in the cluster: " + strings.Join(leftovers, ", "))
	}
	return nil
}
