package runner

import (
	"context"
	"fmt"
	"strings"

	"github.com/gameday-dev/gameday/clusters"
	"github.com/gameday-dev/gameday/framework/fault"
	"github.com/gameday-dev/gameday/framework/guard"
	"github.com/gameday-dev/gameday/framework/probe"
)

// dryRun prints the cluster, fixtures, probes and every planned fault with its
// resolved targets, without changing anything: no cluster is created, nothing is
// applied, nothing is journaled.
func (r *run) dryRun(ctx context.Context) error {
	p := r.progress
	p.Phase("dry run")
	if k := r.kindFor(); k != nil {
		exists, err := k.Exists()
		if err != nil {
			return err
		}
		if !exists {
			image := k.NodeImage
			if image == "" {
				image = clusters.DefaultNodeImage(ctx)
			}
			p.Printf("would create kind cluster %q from config %q with node image %q", kindName(k), orDefault(k.Config, "1cp-2w"), orDefault(image, "kind's default"))
			r.dryRunOffline()
			return nil
		}
		r.kind = k
		p.Printf("would reuse kind cluster %q", kindName(k))
		// Connecting to an existing kind cluster only reads its kubeconfig.
		var err2 error
		if r.cluster, err2 = k.Up(ctx); err2 != nil {
			return err2
		}
	} else {
		kc := r.sc.Spec.Cluster.Kubeconfig
		c, err := clusters.Existing{Path: r.path(kc.Path), Context: kc.Context}.Connect(ctx)
		if err != nil {
			return fmt.Errorf("%w: %w", ErrInvalidInput, err)
		}
		r.cluster = c
		p.Printf("would act on context %q (%s)", c.Context, guard.SafeString(c.REST))
	}
	if err := r.checkGuard(); err != nil {
		return err
	}
	client, err := probe.NewClientset(r.cluster.REST)
	if err != nil {
		return err
	}
	r.client = client
	objs, err := r.loadFixtures()
	if err != nil {
		return err
	}
	p.Printf("would apply %d fixture objects", len(objs))
	lost, err := r.nodesUnderFault(ctx)
	if err != nil {
		return err
	}
	if r.vantage, err = r.pickVantage(ctx, lost); err != nil {
		return err
	}
	p.Printf("would run the probe agent on node %s", r.vantage)
	for _, slo := range r.sc.Spec.SLOs {
		p.Printf("slo %s (objective %.4g): %s", slo.Name, slo.Objective, r.probePath(slo))
	}
	for _, step := range r.sc.Spec.Steps {
		if step.Fault == nil {
			p.Printf("step %s: %s", step.Name, describeStep(step.SteadyState != nil, step.Wait != nil))
			continue
		}
		inj, err := fault.New(step.Fault)
		if err != nil {
			return err
		}
		recs, err := inj.Plan(ctx, r.actionEnv(step.Name))
		if err != nil {
			return fmt.Errorf("step %s: %w", step.Name, err)
		}
		var what []string
		for _, rec := range recs {
			what = append(what, inj.Describe(rec))
		}
		p.Printf("step %s: would %s for %s, then revert", step.Name, strings.Join(what, "; "), step.Duration)
	}
	return nil
}

// dryRunOffline prints the plan when the cluster does not exist yet.
func (r *run) dryRunOffline() {
	for _, f := range r.sc.Spec.Fixtures {
		r.progress.Printf("would apply fixture %s", f.Path)
	}
	for _, step := range r.sc.Spec.Steps {
		if step.Fault != nil {
			r.progress.Printf("step %s: would inject %s for %s (targets are resolved once the cluster exists)", step.Name, step.Fault.FaultKind(), step.Duration)
		} else {
			r.progress.Printf("step %s: %s", step.Name, describeStep(step.SteadyState != nil, step.Wait != nil))
		}
	}
}

func describeStep(steady, wait bool) string {
	switch {
	case steady:
		return "observe the steady state"
	case wait:
		return "wait"
	}
	return "?"
}

func kindName(k *clusters.Kind) string { return orDefault(k.Name, "gameday") }

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}
