// Package gamedaye2e drives gameday's faults, probes and scoring from an
// e2e-framework (sigs.k8s.io/e2e-framework) test, for Go users who want a game day
// as a test rather than as a scenario file.
//
// It has three parts:
//
//   - Provider, an e2e-framework cluster provider backed by gameday's clusters.Kind
//     (kind's Go library: no kind binary), with the env funcs CreateKindCluster and
//     DestroyKindCluster;
//   - steps in the features style (features.Func): StartProbes, StartAgentProbes and
//     StopProbes run gameday probes into a probe.Recorder; InjectFault plans and
//     injects a scenario fault through its fault.Injector, HoldFault keeps it, and
//     RevertFaults reverts every injected fault and waits until each verifies;
//   - scoring: Score computes a score.Result from the recorded samples and the fault
//     windows, and AssertDetectedWithin, AssertRecoveredWithin and AssertObjective
//     check it.
//
// A test reads like a short game day:
//
//	f := features.New("node loss").
//		Setup(gamedaye2e.StartProbes(httpProbe)).
//		Assess("lose a worker", gamedaye2e.InjectFault("lose-worker", &nodeloss.Spec{
//			Mode: nodeloss.Stop, Target: nodeloss.Target{Role: nodeloss.RoleWorker, Count: 1}})).
//		Assess("failures seen", gamedaye2e.AssertDetectedWithin("http", 30*time.Second)).
//		Assess("recovered", gamedaye2e.AssertRecoveredWithin("http", 2*time.Minute)).
//		Teardown(gamedaye2e.RevertFaults()).
//		Teardown(gamedaye2e.StopProbes()).
//		Feature()
//
// # State in the context
//
// The steps keep their state (the recorder, the injected fault records, the fault
// windows) in one mutable session stored in the context by the first step that needs
// it. Because it is shared by pointer, RevertFaults in Teardown finds every fault
// injected so far even when an assessment failed (e2e-framework drops the context an
// assessment returns when it calls t.FailNow). Features run with TestInParallel get a
// session each, unless one was stored before they started.
//
// # Undo
//
// Faults are injected through the same lifecycle as a game-day run (package
// lifecycle). There is no run journal: each record is kept, before anything
// changes, in a gameday-owned Secret in the cluster until it is reverted. If
// injecting fails half-way, InjectFault reverts what it injected before failing
// the step. Put
// RevertFaults in Teardown, which e2e-framework runs after failed assessments too
// (not in its fail-fast mode, nor after a Setup step fails: put InjectFault in an
// Assess). Whatever a crashed test leaves behind, `gameday recover` finds in the
// cluster and reverts.
//
// Import the fault kinds the test uses for their side effect:
//
//	_ "github.com/gameday-dev/gameday/framework/fault/nodeloss"
package gamedaye2e

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"slices"
	"sync"
	"time"

	"k8s.io/client-go/kubernetes"

	"github.com/gameday-dev/gameday/framework/fault"
	"github.com/gameday-dev/gameday/framework/lifecycle"
	"github.com/gameday-dev/gameday/framework/probe"
	"github.com/gameday-dev/gameday/framework/score"
	"github.com/gameday-dev/gameday/reports"
)

// sessionKey is the context key of the session.
type sessionKey struct{}

// session is the mutable state the steps share through the context.
type session struct {
	mu    sync.Mutex
	runID string // labels fault records and markers, like a runner's run ID

	recorder *probe.Recorder
	names    map[string]bool    // probes started on recorder
	since    time.Time          // start of the current measurement after a restart; windows before it are not scored
	runCtx   context.Context    // the running probes' context
	stop     context.CancelFunc // stops the running probes; nil when none run
	workers  sync.WaitGroup     // the goroutines running probes
	probeErr []error
	agents   []agentPod

	lifecycles map[string]*lifecycle.Lifecycle // by cluster name: runs the faults
	actions    []*lifecycle.Active             // every action started, in order
	windows    []score.Window
	figures    []reports.Figure
	notes      []reports.Observation
}

// agentPod is an in-cluster probe agent to delete when the probes stop.
type agentPod struct {
	client    kubernetes.Interface
	namespace string
	name      string
}

// newSession returns an empty session with a fresh run ID.
func newSession() *session {
	return &session{runID: newRunID(), recorder: &probe.Recorder{}, names: map[string]bool{}}
}

// newRunID is "e2e-" and a UTC timestamp and random suffix, unique per session.
func newRunID() string {
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return "e2e-" + time.Now().UTC().Format("20060102-150405") + "-" + hex.EncodeToString(b)
}

// sessionFrom returns the session in ctx.
func sessionFrom(ctx context.Context) (*session, bool) {
	s, ok := ctx.Value(sessionKey{}).(*session)
	return s, ok
}

// ensureSession returns the session in ctx, storing a new one when there is none.
func ensureSession(ctx context.Context) (context.Context, *session) {
	if s, ok := sessionFrom(ctx); ok {
		return ctx, s
	}
	s := newSession()
	return context.WithValue(ctx, sessionKey{}, s), s
}

// RecorderFrom returns the recorder the probes started by StartProbes write to; it
// keeps the samples after StopProbes.
func RecorderFrom(ctx context.Context) (*probe.Recorder, bool) {
	s, ok := sessionFrom(ctx)
	if !ok {
		return nil, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.recorder, true
}

// FaultWindows returns the fault windows of the faults injected so far, in injection
// order: Start is when injection began, End when the step's faults were reverted
// (zero while they are not).
func FaultWindows(ctx context.Context) []score.Window {
	s, ok := sessionFrom(ctx)
	if !ok {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.windows)
}

// FaultRecords returns the records of the faults injected so far, in injection order,
// reverted or not.
func FaultRecords(ctx context.Context) []fault.Record {
	s, ok := sessionFrom(ctx)
	if !ok {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var recs []fault.Record
	for _, a := range s.actions {
		recs = append(recs, a.Records...)
	}
	return recs
}
