package gamedaye2e

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/e2e-framework/pkg/envconf"
	"sigs.k8s.io/e2e-framework/pkg/features"

	"github.com/gameday-dev/gameday/clusters"
	"github.com/gameday-dev/gameday/framework/fault"
	"github.com/gameday-dev/gameday/framework/lease"
	"github.com/gameday-dev/gameday/framework/lifecycle"
	"github.com/gameday-dev/gameday/framework/scenario"
)

// RevertTimeout bounds how long RevertFaults (and InjectFault's clean-up after a
// failed injection) spends reverting faults and waiting for them to verify.
const RevertTimeout = 5 * time.Minute

// verifyInterval is how often RevertFaults asks a fault.Verifier again.
var verifyInterval = time.Second

// newAction makes the action of a fault spec; tests replace it.
var newAction = fault.New

// logf is how the steps log progress: t.Logf.
type logf func(format string, args ...any)

// InjectFault returns a step that injects a scenario fault, e.g.
//
//	&nodeloss.Spec{Mode: nodeloss.Stop, Target: nodeloss.Target{Role: nodeloss.RoleWorker, Count: 1}}
//	&dnsoutage.Spec{Mode: dnsoutage.ScaleDown}
//
// into the cluster of CreateKindCluster or WithCluster (else of the environment's
// kubeconfig; the cluster must pass gameday's guard rails). It plans the targets,
// opens a fault window named step for scoring, and injects each record through the
// kind's fault.Injector, which marks the object before changing it, as a game-day
// run does. The fault stays until RevertFaults; HoldFault keeps it for a while.
//
// Import the fault kind's package for its side effect (framework/fault/nodeloss,
// framework/fault/dnsoutage). step must be unique within the test. When injecting
// fails, the step reverts what it already injected, then fails the test.
func InjectFault(step string, spec scenario.FaultSpec) features.Func {
	return func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
		t.Helper()
		ctx, s := ensureSession(ctx)
		if err := s.inject(ctx, cfg, step, spec, t.Logf); err != nil {
			t.Fatalf("inject fault %s: %v", step, err)
		}
		return ctx
	}
}

func (s *session) inject(ctx context.Context, cfg *envconf.Config, step string, spec scenario.FaultSpec, log logf) error {
	if spec == nil {
		return errors.New("no fault spec")
	}
	if step == "" {
		return errors.New("the step needs a name")
	}
	s.mu.Lock()
	for _, w := range s.windows {
		if w.Name == step {
			s.mu.Unlock()
			return fmt.Errorf("a fault step named %q was already injected in this test; name each step uniquely", step)
		}
	}
	s.mu.Unlock()
	c, client, err := target(ctx, cfg)
	if err != nil {
		return err
	}
	life := s.lifecycleFor(c, client, log)
	act, err := life.Plan(ctx, step, spec, 0)
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.actions = append(s.actions, act)
	s.mu.Unlock()
	if err := life.Start(ctx, act); err != nil {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), RevertTimeout)
		defer cancel()
		if rerr := life.Revert(rctx, step); rerr != nil {
			return errors.Join(err, fmt.Errorf("reverting what was injected (run `gameday recover`): %w", rerr))
		}
		return err
	}
	return nil
}

// lifecycleFor returns the session's lifecycle for a cluster, making it on first
// use. There is no run folder, so the records' durable copy is the one in the
// cluster (lifecycle.Store), where `gameday recover` finds them.
func (s *session) lifecycleFor(c *clusters.Cluster, client kubernetes.Interface, log logf) *lifecycle.Lifecycle {
	s.mu.Lock()
	defer s.mu.Unlock()
	if l, ok := s.lifecycles[c.Name]; ok {
		return l
	}
	l := &lifecycle.Lifecycle{
		Env: fault.Env{Cluster: c, Client: client, RunID: s.runID, Sink: s},
		// No lease: the records name this process, and recover leaves them alone
		// while it lives.
		Store:         &lifecycle.Store{Client: client, Holder: lease.Identity(s.runID, "e2e")},
		NewAction:     newAction,
		Logf:          log,
		RevertTimeout: RevertTimeout, VerifyTimeout: RevertTimeout, VerifyInterval: verifyInterval,
	}
	if s.lifecycles == nil {
		s.lifecycles = map[string]*lifecycle.Lifecycle{}
	}
	s.lifecycles[c.Name] = l
	return l
}

// HoldFault returns a step that waits until d has passed since the latest fault was
// injected, so that the fault lasts at least d before RevertFaults in Teardown. It
// fails the test when no fault was injected.
func HoldFault(d time.Duration) features.Func {
	return func(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
		t.Helper()
		windows := FaultWindows(ctx)
		if len(windows) == 0 {
			t.Fatalf("hold fault: no fault was injected")
		}
		last := windows[len(windows)-1]
		if wait := time.Until(last.Start.Add(d)); wait > 0 {
			t.Logf("holding fault %s for %s more", last.Name, wait.Round(time.Second))
			select {
			case <-ctx.Done():
				t.Fatalf("hold fault %s: %v", last.Name, ctx.Err())
			case <-time.After(wait):
			}
		}
		return ctx
	}
}

// RevertFaults returns a step that reverts every fault injected so far and not yet
// reverted, newest first, then waits until each fault verifies (for nodeLoss: the
// node runs and is Ready; for dnsOutage: CoreDNS is back), within RevertTimeout. It
// is idempotent and does nothing when nothing was injected, so it belongs in
// Teardown, where it runs even when an assessment failed. A fault that cannot be
// reverted or verified is a test error (not fatal, so later Teardown steps still
// run); `gameday recover` reverts what is left.
func RevertFaults() features.Func {
	return func(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
		t.Helper()
		s, ok := sessionFrom(ctx)
		if !ok {
			return ctx
		}
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), RevertTimeout)
		defer cancel()
		for _, l := range s.allLifecycles() {
			l.Logf = t.Logf
			if err := l.Revert(rctx, ""); err != nil {
				t.Errorf("revert faults: %v (run `gameday recover` to revert what is left)", err)
			}
			if err := l.Verify(rctx); err != nil {
				t.Errorf("verify reverted faults: %v", err)
			}
		}
		return ctx
	}
}

// allLifecycles returns the session's lifecycles, one per cluster.
func (s *session) allLifecycles() []*lifecycle.Lifecycle {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*lifecycle.Lifecycle, 0, len(s.lifecycles))
	for _, l := range s.lifecycles {
		out = append(out, l)
	}
	return out
}
