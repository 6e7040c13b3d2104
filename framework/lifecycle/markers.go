package lifecycle

import (
	"context"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/gameday-dev/gameday/framework/fault"
)

// MarkedObjects lists the objects that carry fault.MarkerAnnotation among the kinds
// gameday's actions change (Nodes, and Deployments, DaemonSets and ConfigMaps in
// every namespace), as "kind/namespace/name: record ID". After every record is
// settled it must be empty: a marker left behind is a fault that was not reverted,
// or a revert that forgot its marker.
func MarkedObjects(ctx context.Context, client kubernetes.Interface) ([]string, error) {
	var out []string
	add := func(kind, ns, name string, annotations map[string]string) {
		v, ok := annotations[fault.MarkerAnnotation]
		if !ok {
			return
		}
		id := v
		if rec, err := fault.ParseRecord(v); err == nil {
			id = rec.ID
		}
		where := kind + "/" + name
		if ns != "" {
			where = kind + "/" + ns + "/" + name
		}
		out = append(out, where+": "+id)
	}
	nodes, err := client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("listing nodes: %w", err)
	}
	for _, o := range nodes.Items {
		add("node", "", o.Name, o.Annotations)
	}
	deps, err := client.AppsV1().Deployments("").List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("listing deployments: %w", err)
	}
	for _, o := range deps.Items {
		add("deployment", o.Namespace, o.Name, o.Annotations)
	}
	dss, err := client.AppsV1().DaemonSets("").List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("listing daemonsets: %w", err)
	}
	for _, o := range dss.Items {
		add("daemonset", o.Namespace, o.Name, o.Annotations)
	}
	cms, err := client.CoreV1().ConfigMaps("").List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("listing configmaps: %w", err)
	}
	for _, o := range cms.Items {
		add("configmap", o.Namespace, o.Name, o.Annotations)
	}
	return out, nil
}

// Leftovers lists what gameday left in a cluster: stored records (outstanding
// actions) and objects that still carry a marker. Empty means clean.
func Leftovers(ctx context.Context, client kubernetes.Interface) ([]string, error) {
	recs, err := (&Store{Client: client}).List(ctx)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, r := range recs {
		out = append(out, "stored record "+r.ID)
	}
	marked, err := MarkedObjects(ctx, client)
	if err != nil {
		return nil, err
	}
	for _, m := range marked {
		out = append(out, "marker on "+m)
	}
	return out, nil
}
