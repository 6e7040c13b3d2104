package gamedaye2e

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/e2e-framework/pkg/envconf"
	"sigs.k8s.io/e2e-framework/pkg/features"

	"github.com/gameday-dev/gameday/framework/probe"
)

// AgentNamespace is where StartAgentProbes runs the in-cluster probe agent (the
// namespace the runner uses too); it is created when missing.
const AgentNamespace = "gameday-system"

// FirstSampleTimeout bounds how long StartProbes and StartAgentProbes wait for the
// first sample of each probe they start.
const FirstSampleTimeout = time.Minute

// agentDeployTimeout bounds how long StartAgentProbes waits for the agent to run.
const agentDeployTimeout = 2 * time.Minute

// StartProbes returns a step that runs the probes (built with probe.NewHTTP,
// probe.NewDNS, probe.NewAPIServer, ...) in the background into a probe.Recorder
// stored in the context (see RecorderFrom), and waits until each has a first sample.
// It fails the test, after stopping every probe, when a probe name is used twice or
// a probe produces no sample within FirstSampleTimeout.
//
// Called while probes run, it adds probes to the same recorder. Called after
// StopProbes, it starts a new measurement: a new recorder, and scoring leaves out the
// fault windows from before.
func StartProbes(probes ...probe.Probe) features.Func {
	return func(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
		t.Helper()
		ctx, s := ensureSession(ctx)
		if err := s.startProbes(ctx, probes); err != nil {
			s.abortProbes(ctx, t)
			t.Fatalf("start probes: %v", err)
		}
		return ctx
	}
}

func (s *session) startProbes(ctx context.Context, probes []probe.Probe) error {
	if len(probes) == 0 {
		return errors.New("no probes given")
	}
	names := make([]string, 0, len(probes))
	for _, p := range probes {
		names = append(names, p.Name())
	}
	runCtx, rec, err := s.reserve(ctx, names)
	if err != nil {
		return err
	}
	s.goRun(runCtx, func(ctx context.Context) error { return probe.RunAll(ctx, probes, rec.Emit) })
	return s.waitFirstSamples(ctx, names, FirstSampleTimeout)
}

// StartAgentProbes returns a step that runs gameday's in-cluster probe agent
// (probe.DefaultAgentImage, which must be in the nodes: see Provider.LoadImage) on
// node with cfg's HTTP and DNS probes (a zero Interval, Timeout or Heartbeat means the
// probe package's default), and follows its samples into the same recorder
// as StartProbes. Pick a node no fault takes away. The agent reaches what the harness
// cannot: ClusterIPs and the cluster DNS Service. StopProbes deletes the agent.
func StartAgentProbes(node string, cfg probe.AgentConfig) features.Func {
	return func(ctx context.Context, t *testing.T, envCfg *envconf.Config) context.Context {
		t.Helper()
		ctx, s := ensureSession(ctx)
		if err := s.startAgent(ctx, envCfg, node, cfg); err != nil {
			s.abortProbes(ctx, t)
			t.Fatalf("start agent probes on %s: %v", node, err)
		}
		return ctx
	}
}

func (s *session) startAgent(ctx context.Context, envCfg *envconf.Config, node string, cfg probe.AgentConfig) error {
	cfg.Interval = cmp.Or(cfg.Interval, probe.DefaultInterval)
	cfg.Timeout = cmp.Or(cfg.Timeout, probe.DefaultTimeout)
	cfg.Heartbeat = cmp.Or(cfg.Heartbeat, probe.DefaultHeartbeat)
	if err := cfg.Validate(); err != nil {
		return err
	}
	var names []string
	for _, h := range cfg.HTTP {
		names = append(names, h.Name)
	}
	for _, d := range cfg.DNS {
		names = append(names, d.Name)
	}
	if len(names) == 0 {
		return errors.New("the agent config has no probes")
	}
	_, client, err := target(ctx, envCfg)
	if err != nil {
		return err
	}
	runCtx, rec, err := s.reserve(ctx, names)
	if err != nil {
		return err
	}
	if err := ensureNamespace(ctx, client, AgentNamespace); err != nil {
		return err
	}
	deployCtx, cancel := context.WithTimeout(ctx, agentDeployTimeout)
	pod, err := probe.DeployAgent(deployCtx, client, probe.AgentDeployment{
		Namespace: AgentNamespace, NodeName: node, Args: cfg.Args(),
	})
	cancel()
	if pod != "" {
		s.mu.Lock()
		s.agents = append(s.agents, agentPod{client: client, namespace: AgentNamespace, name: pod})
		s.mu.Unlock()
	}
	if err != nil {
		return err
	}
	s.goRun(runCtx, func(ctx context.Context) error {
		return probe.FollowAgent(ctx, client, AgentNamespace, pod, rec.Emit)
	})
	return s.waitFirstSamples(ctx, names, FirstSampleTimeout)
}

// abortProbes stops every probe of the session and deletes its agents before a
// start step fails the test: after a failed Setup step, e2e-framework runs no
// Teardown that would. The error it reports repeats the start error, so only the
// rest is logged.
func (s *session) abortProbes(ctx context.Context, t *testing.T) {
	t.Helper()
	if err := s.stopProbes(ctx); err != nil {
		t.Logf("stopping the probes: %v", err)
	}
}

// ensureNamespace creates a namespace labelled as gameday's unless it exists.
func ensureNamespace(ctx context.Context, client kubernetes.Interface, name string) error {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
		Name: name, Labels: map[string]string{probe.ManagedByLabel: probe.ManagedByValue},
	}}
	if _, err := client.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating namespace %s: %w", name, err)
	}
	return nil
}

// reserve claims probe names on the session's recorder, starting a new measurement
// when no probes run, and returns the context the probes run in (cancelled by
// StopProbes, not by the step's context) and the recorder.
func (s *session) reserve(ctx context.Context, names []string) (context.Context, *probe.Recorder, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stop == nil {
		if len(s.names) > 0 {
			// A new measurement after StopProbes: earlier samples and windows do not count.
			s.recorder, s.names, s.probeErr = &probe.Recorder{}, map[string]bool{}, nil
			s.since = time.Now()
		}
		s.runCtx, s.stop = context.WithCancel(context.WithoutCancel(ctx))
	}
	seen := map[string]bool{}
	for _, n := range names {
		switch {
		case n == "":
			return nil, nil, errors.New("a probe has no name")
		case seen[n] || s.names[n]:
			return nil, nil, fmt.Errorf("probe name %q used twice", n)
		}
		seen[n] = true
	}
	for _, n := range names {
		s.names[n] = true
	}
	return s.runCtx, s.recorder, nil
}

// goRun runs fn in the background until StopProbes, keeping its error for StopProbes.
func (s *session) goRun(runCtx context.Context, fn func(ctx context.Context) error) {
	s.workers.Go(func() {
		if err := fn(runCtx); err != nil {
			s.mu.Lock()
			s.probeErr = append(s.probeErr, err)
			s.mu.Unlock()
		}
	})
}

// firstSamplePoll is how often waitFirstSamples looks at the recorder.
var firstSamplePoll = 50 * time.Millisecond

// waitFirstSamples waits until every named probe has a sample, a probe failed to
// run, or timeout passes.
func (s *session) waitFirstSamples(ctx context.Context, names []string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		s.mu.Lock()
		rec, runErr := s.recorder, errors.Join(s.probeErr...)
		s.mu.Unlock()
		if runErr != nil {
			return runErr
		}
		var missing []string
		for _, n := range names {
			if _, ok := rec.Last(n); !ok {
				missing = append(missing, n)
			}
		}
		if len(missing) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no sample from probe %s after %s", strings.Join(missing, ", "), timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(firstSamplePoll):
		}
	}
}

// StopProbes returns a step that stops the probes StartProbes and StartAgentProbes
// started, waits for them to end and deletes the agent pods. The samples stay in the
// recorder for scoring. It reports a probe that failed to run as a test error, and
// does nothing when no probes run, so it belongs in Teardown.
func StopProbes() features.Func {
	return func(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
		t.Helper()
		s, ok := sessionFrom(ctx)
		if !ok {
			return ctx
		}
		if err := s.stopProbes(ctx); err != nil {
			t.Errorf("stop probes: %v", err)
		}
		return ctx
	}
}

// agentDeleteTimeout bounds deleting the agent pods.
const agentDeleteTimeout = time.Minute

func (s *session) stopProbes(ctx context.Context) error {
	s.mu.Lock()
	stop, agents := s.stop, s.agents
	s.stop, s.agents = nil, nil
	s.mu.Unlock()
	if stop == nil {
		return nil
	}
	stop()
	s.workers.Wait()
	s.mu.Lock()
	errs := slices.Clone(s.probeErr)
	s.mu.Unlock()
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), agentDeleteTimeout)
	defer cancel()
	for _, a := range agents {
		if err := probe.DeleteAgent(dctx, a.client, a.namespace, a.name); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
