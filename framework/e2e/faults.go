package gamedaye2e

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/e2e-framework/pkg/envconf"
	"sigs.k8s.io/e2e-framework/pkg/features"

	"github.com/gameday-dev/gameday/framework/fault"
	"github.com/gameday-dev/gameday/framework/scenario"
	"github.com/gameday-dev/gameday/framework/score"
)

// RevertTimeout bounds how long RevertFaults (and InjectFault's clean-up after a
// failed injection) spends reverting faults and waiting for them to verify.
const RevertTimeout = 5 * time.Minute

// verifyInterval is how often RevertFaults asks a fault.Verifier again.
var verifyInterval = time.Second

// newInjector makes the injector of a fault spec; tests replace it.
var newInjector = fault.New

// logf is how the steps log progress: t.Logf.
type logf func(format string, args ...any)

// InjectFault returns a step that injects a scenario fault, e.g.
//
//	&scenario.NodeLoss{Mode: scenario.NodeLossStop, Target: scenario.NodeTarget{Role: scenario.RoleWorker, Count: 1}}
//	&scenario.DNSOutage{Mode: scenario.DNSOutageScaleDown}
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
	inj, err := newInjector(spec)
	if err != nil {
		return err
	}
	env := fault.Env{Cluster: c, Client: client, RunID: s.runID, Step: step}
	recs, err := inj.Plan(ctx, env)
	if err != nil {
		return fmt.Errorf("planning: %w", err)
	}
	if len(recs) == 0 {
		return fmt.Errorf("the %s fault found no target", spec.FaultKind())
	}
	s.mu.Lock()
	window := len(s.windows)
	s.windows = append(s.windows, score.Window{Name: step, Start: time.Now().UTC()})
	s.mu.Unlock()
	for _, rec := range recs {
		// Kept before injecting, so that a half-done injection is reverted too
		// (recovering a record that was never injected is a no-op).
		s.mu.Lock()
		s.faults = append(s.faults, &injected{rec: rec, injector: inj, env: env, window: window})
		s.mu.Unlock()
		log("inject: %s", inj.Describe(rec))
		if err := inj.Inject(ctx, env, rec); err != nil {
			err = fmt.Errorf("injecting %s: %w", rec.ID, err)
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), RevertTimeout)
			defer cancel()
			if rerr := s.revert(rctx, log, step); rerr != nil {
				return errors.Join(err, fmt.Errorf("reverting what was injected (run `gameday recover`): %w", rerr))
			}
			return err
		}
	}
	return nil
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
// reverted, newest first, then waits until each fault's injector verifies it (for
// nodeLoss: the node runs and is Ready; for dnsOutage: CoreDNS is back), within
// RevertTimeout. It is idempotent and does nothing when nothing was injected, so it
// belongs in Teardown, where it runs even when an assessment failed. A fault that
// cannot be reverted or verified is a test error (not fatal, so later Teardown steps
// still run); `gameday recover` reverts what is left.
func RevertFaults() features.Func {
	return func(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
		t.Helper()
		s, ok := sessionFrom(ctx)
		if !ok {
			return ctx
		}
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), RevertTimeout)
		defer cancel()
		if err := s.revert(rctx, t.Logf, ""); err != nil {
			t.Errorf("revert faults: %v (run `gameday recover` to revert what is left)", err)
		}
		if err := s.verify(rctx, t.Logf); err != nil {
			t.Errorf("verify reverted faults: %v", err)
		}
		return ctx
	}
}

// revert recovers the outstanding records of one step, or of every step when step
// is "", newest first. A window ends when all its records are reverted.
func (s *session) revert(ctx context.Context, log logf, step string) error {
	s.mu.Lock()
	var todo []*injected
	for i := len(s.faults) - 1; i >= 0; i-- {
		if f := s.faults[i]; !f.reverted && (step == "" || f.rec.Step == step) {
			todo = append(todo, f)
		}
	}
	s.mu.Unlock()
	var errs []error
	for _, f := range todo {
		log("revert: %s", f.injector.Describe(f.rec))
		if err := f.injector.Recover(ctx, f.env, f.rec); err != nil {
			errs = append(errs, fmt.Errorf("reverting %s: %w", f.rec.ID, err))
			continue
		}
		s.mu.Lock()
		f.reverted = true
		s.closeWindow(f.window)
		s.mu.Unlock()
	}
	return errors.Join(errs...)
}

// closeWindow sets a window's End once every record of it is reverted; s.mu is held.
func (s *session) closeWindow(window int) {
	for _, f := range s.faults {
		if f.window == window && !f.reverted {
			return
		}
	}
	if s.windows[window].End.IsZero() {
		s.windows[window].End = time.Now().UTC()
	}
}

// verify waits until every reverted, unverified record passes its injector's
// fault.Verifier (injectors without one pass at once).
func (s *session) verify(ctx context.Context, log logf) error {
	s.mu.Lock()
	var todo []*injected
	for _, f := range s.faults {
		if f.reverted && !f.verified {
			todo = append(todo, f)
		}
	}
	s.mu.Unlock()
	var errs []error
	for _, f := range todo {
		if v, ok := f.injector.(fault.Verifier); ok {
			var last error
			err := wait.PollUntilContextCancel(ctx, verifyInterval, true, func(ctx context.Context) (bool, error) {
				last = v.Verify(ctx, f.env, f.rec)
				return last == nil, nil
			})
			if err != nil {
				if last == nil {
					last = err
				}
				errs = append(errs, fmt.Errorf("after reverting %s: %w", f.injector.Describe(f.rec), last))
				continue
			}
			log("verified: %s is reverted", f.rec.Target)
		}
		s.mu.Lock()
		f.verified = true
		s.mu.Unlock()
	}
	return errors.Join(errs...)
}
