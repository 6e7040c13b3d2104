package runner

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/kind/pkg/cluster"

	"github.com/gameday-dev/gameday/reports"
)

// collectLogs gathers what an engineer needs to understand a failed or aborted run:
// the cluster's events and, on kind, every node's logs (kind's own export).
func (r *run) collectLogs(ctx context.Context, rep *reports.Report) {
	if r.cluster == nil || r.client == nil || r.dir == "" {
		return
	}
	r.progress.Phase("collect logs")
	ctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	if path, err := r.dumpEvents(ctx); err == nil {
		rep.Logs = append(rep.Logs, reports.Log{What: "events in every namespace", Path: path})
	} else {
		r.progress.Printf("warning: events: %v", err)
	}
	if r.kind != nil {
		dir := filepath.Join(r.dir, "logs")
		// kind's export reports an error for the parts it cannot get (crictl is not in
		// the offline node image) but exports the rest.
		if err := cluster.NewProvider().CollectLogs(r.cluster.Name, dir); err != nil {
			r.progress.Printf("note: kind log export: %v", firstLine(err.Error()))
		}
		if _, err := os.Stat(dir); err == nil {
			rep.Logs = append(rep.Logs, reports.Log{What: "kind node logs (kubelet, containerd, pods)", Path: "logs"})
		}
	}
}

// dumpEvents writes the cluster's events, oldest first, to events.txt.
func (r *run) dumpEvents(ctx context.Context) (string, error) {
	list, err := r.client.CoreV1().Events(metav1.NamespaceAll).List(ctx, metav1.ListOptions{})
	if err != nil {
		return "", err
	}
	events := list.Items
	sort.Slice(events, func(i, j int) bool { return eventTime(&events[i]).Before(eventTime(&events[j])) })
	var b strings.Builder
	for _, e := range events {
		fmt.Fprintf(&b, "%s %s %s/%s %s: %s\n", eventTime(&e).UTC().Format(time.RFC3339), e.Type,
			strings.ToLower(e.InvolvedObject.Kind), qualified(e.InvolvedObject.Namespace, e.InvolvedObject.Name),
			e.Reason, reports.Redact(strings.TrimSpace(e.Message)))
	}
	if err := os.WriteFile(r.runFolderPath("events.txt"), []byte(b.String()), 0o644); err != nil {
		return "", err
	}
	return "events.txt", nil
}

func eventTime(e *corev1.Event) time.Time {
	switch {
	case !e.LastTimestamp.IsZero():
		return e.LastTimestamp.Time
	case !e.EventTime.IsZero():
		return e.EventTime.Time
	}
	return e.CreationTimestamp.Time
}

func qualified(ns, name string) string {
	if ns == "" {
		return name
	}
	return ns + "/" + name
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
