package gamedaye2e

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/rest"

	"github.com/gameday-dev/gameday/clusters"
	"github.com/gameday-dev/gameday/framework/fault"
	"github.com/gameday-dev/gameday/framework/probe"
	"github.com/gameday-dev/gameday/framework/scenario"
)

// fakeProbe emits a sample every interval; fail decides which attempts fail.
type fakeProbe struct {
	name     string
	interval time.Duration
	fail     func(n int) bool
	runErr   error // returned at once instead of probing
	silent   bool  // never emits
}

func (p *fakeProbe) Name() string { return p.name }

func (p *fakeProbe) Run(ctx context.Context, emit func(probe.Sample)) error {
	if p.runErr != nil {
		return p.runErr
	}
	for n := 0; ; n++ {
		if !p.silent {
			s := probe.Sample{Probe: p.name, At: time.Now(), OK: true}
			if p.fail != nil && p.fail(n) {
				s.OK, s.Error = false, "fake failure"
			}
			emit(s)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(p.interval):
		}
	}
}

// fakeInjector records what it is asked to do. It plans one record per target,
// fails Inject for failInject, fails Recover recoverFailures times, and fails Verify
// verifyFailures times before passing.
type fakeInjector struct {
	mu              sync.Mutex
	targets         []string
	failInject      string
	recoverFailures int
	verifyFailures  int

	planned   int
	injected  []string
	recovered []string
	verified  []string
}

var _ fault.Verifier = (*fakeInjector)(nil)

func (f *fakeInjector) Plan(ctx context.Context, env fault.Env) ([]fault.Record, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.planned++
	var recs []fault.Record
	for _, tgt := range f.targets {
		recs = append(recs, fault.Record{
			ID: fault.RecordID(env.RunID, env.Step, tgt), Kind: "fake", RunID: env.RunID, Step: env.Step,
			Cluster: env.Cluster.Name, Target: tgt, PlannedAt: time.Now().UTC(),
		})
	}
	return recs, nil
}

func (f *fakeInjector) Inject(ctx context.Context, env fault.Env, rec fault.Record) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.injected = append(f.injected, rec.Target)
	if rec.Target == f.failInject {
		return errors.New("fake inject failure")
	}
	return nil
}

func (f *fakeInjector) Recover(ctx context.Context, env fault.Env, rec fault.Record) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.recoverFailures > 0 {
		f.recoverFailures--
		return errors.New("fake recover failure")
	}
	f.recovered = append(f.recovered, rec.Target)
	return nil
}

func (f *fakeInjector) Describe(rec fault.Record) string { return "fake fault on " + rec.Target }

func (f *fakeInjector) Verify(ctx context.Context, env fault.Env, rec fault.Record) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.verifyFailures > 0 {
		f.verifyFailures--
		return fmt.Errorf("%s not back yet", rec.Target)
	}
	f.verified = append(f.verified, rec.Target)
	return nil
}

func (f *fakeInjector) calls() (planned int, injected, recovered, verified []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.planned, append([]string(nil), f.injected...), append([]string(nil), f.recovered...), append([]string(nil), f.verified...)
}

// useFakes makes the fault steps use inj and a fake clientset, and makes polling fast,
// until the test ends. Tests that call it must not run in parallel.
func useFakes(t *testing.T, inj fault.Injector) {
	t.Helper()
	oldInjector, oldClientset, oldVerify := newAction, newClientset, verifyInterval
	newAction = func(scenario.FaultSpec) (fault.Action, error) { return inj, nil }
	newClientset = func(*clusters.Cluster) (kubernetes.Interface, error) { return fake.NewClientset(), nil }
	verifyInterval = 5 * time.Millisecond
	t.Cleanup(func() { newAction, newClientset, verifyInterval = oldInjector, oldClientset, oldVerify })
}

// kindCluster is a cluster handle that passes the guard rails as a kind cluster.
func kindCluster(name string) *clusters.Cluster {
	return &clusters.Cluster{
		Name: name, Provider: "kind", Context: "kind-" + name,
		REST: &rest.Config{Host: "https://127.0.0.1:6443"}, Nodes: &fakeNodes{},
	}
}

// fakeNodes is a NodeController that records stops and starts.
type fakeNodes struct {
	mu      sync.Mutex
	stopped []string
	started []string
}

func (n *fakeNodes) StopNode(ctx context.Context, node string) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.stopped = append(n.stopped, node)
	return nil
}

func (n *fakeNodes) StartNode(ctx context.Context, node string) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.started = append(n.started, node)
	return nil
}

func (n *fakeNodes) PauseNode(ctx context.Context, node string) error   { return nil }
func (n *fakeNodes) UnpauseNode(ctx context.Context, node string) error { return nil }
func (n *fakeNodes) State(ctx context.Context, node string) (clusters.NodeState, error) {
	return clusters.NodeRunning, nil
}
func (n *fakeNodes) Exec(ctx context.Context, node string, stdin io.Reader, command ...string) ([]byte, error) {
	return nil, nil
}
func (n *fakeNodes) Address(ctx context.Context, node string) (string, error) {
	return "172.18.0.2", nil
}

// revert and verify run RevertFaults' two halves on every lifecycle of the session.
func (s *session) revert(ctx context.Context, log logf, step string) error {
	var errs []error
	for _, l := range s.allLifecycles() {
		l.Logf = log
		errs = append(errs, l.Revert(ctx, step))
	}
	return errors.Join(errs...)
}

func (s *session) verify(ctx context.Context, log logf) error {
	var errs []error
	for _, l := range s.allLifecycles() {
		l.Logf = log
		errs = append(errs, l.Verify(ctx))
	}
	return errors.Join(errs...)
}
