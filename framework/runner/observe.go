package runner

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/gameday-dev/gameday/framework/fault"
	"github.com/gameday-dev/gameday/framework/lifecycle"
)

// actionEnv is what the run's actions act on, for one step.
func (r *run) actionEnv(step string) fault.Env {
	return fault.Env{Cluster: r.cluster, Client: r.client, RunID: r.id, Step: step, Sink: r}
}

// observe runs, until ctx ends, the Watch of every action kind the scenario uses
// that watches what Kubernetes itself notices (node Ready transitions, CoreDNS
// availability): "time Kubernetes took to notice", next to the probes' view. Each
// watcher looks once more after ctx ends, so a change that made the final
// verification pass is recorded.
func (r *run) observe(ctx context.Context) {
	var wg sync.WaitGroup
	seen := map[string]bool{}
	for _, step := range r.sc.Spec.Steps {
		if step.Fault == nil || seen[step.Fault.FaultKind()] {
			continue
		}
		seen[step.Fault.FaultKind()] = true
		action, err := fault.New(step.Fault)
		if err != nil {
			continue
		}
		if w, ok := action.(fault.Watcher); ok {
			wg.Go(func() { w.Watch(ctx, r.actionEnv(step.Name)) })
		}
	}
	wg.Wait()
}

// verifyHealthy waits until every settled action verifies (node Ready, Corefile
// identical, CoreDNS available) and no record of this run is left in the cluster.
func (r *run) verifyHealthy(ctx context.Context) error {
	r.progress.Phase("verify")
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Minute)
	defer cancel()
	if err := r.life.Verify(ctx); err != nil {
		return err
	}
	recs, err := r.life.Store.List(ctx)
	if err != nil {
		return fmt.Errorf("looking for records left in the cluster: %w", err)
	}
	var leftovers []string
	for _, rec := range recs {
		if rec.RunID == r.id {
			leftovers = append(leftovers, rec.ID)
		}
	}
	if len(leftovers) > 0 {
		return errors.New("records left in the cluster (" + lifecycle.DefaultNamespace + "): " + strings.Join(leftovers, ", "))
	}
	return nil
}
