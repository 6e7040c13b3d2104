package lease

import (
	"context"
	"fmt"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// BreakForRun deletes the cluster's lease if it is held by the given run: after
// `gameday recover` has reverted a run that was killed, that run can never release
// its lease, and the next run should not have to wait for it to expire. A lease
// held by any other run is left alone. It reports whether a lease was deleted.
func BreakForRun(ctx context.Context, client kubernetes.Interface, runID string, opts ...Option) (bool, error) {
	cfg := config{namespace: DefaultNamespace, name: DefaultName}
	for _, o := range opts {
		o(&cfg)
	}
	leases := client.CoordinationV1().Leases(cfg.namespace)
	cur, err := leases.Get(ctx, cfg.name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("reading lease %s/%s: %w", cfg.namespace, cfg.name, err)
	}
	if !strings.Contains(holderOf(cur)+",", ", run "+runID+",") {
		return false, nil
	}
	pre := metav1.Preconditions{UID: &cur.UID, ResourceVersion: &cur.ResourceVersion}
	err = leases.Delete(ctx, cfg.name, metav1.DeleteOptions{Preconditions: &pre})
	if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		return false, nil // released or renewed meanwhile: not ours to break
	}
	if err != nil {
		return false, fmt.Errorf("deleting lease %s/%s: %w", cfg.namespace, cfg.name, err)
	}
	return true, nil
}
