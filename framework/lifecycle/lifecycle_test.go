package lifecycle_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/gameday-dev/gameday/clusters"
	"github.com/gameday-dev/gameday/framework/fault"
	"github.com/gameday-dev/gameday/framework/journal"
	"github.com/gameday-dev/gameday/framework/lifecycle"
	"github.com/gameday-dev/gameday/framework/scenario"
	"github.com/gameday-dev/gameday/reports"
)

// trace is a log of what the test actions were asked to do, shared by a test.
type trace struct {
	mu  sync.Mutex
	log []string
}

func (c *trace) add(format string, args ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.log = append(c.log, fmt.Sprintf(format, args...))
}

func (c *trace) get() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.log...)
}

// lcFault is a fault over targets; failInject fails the Inject of one target.
type lcFault struct {
	trace      *trace
	targets    []string
	failInject string
}

func (f *lcFault) Plan(_ context.Context, env fault.Env) ([]fault.Record, error) {
	var recs []fault.Record
	for _, t := range f.targets {
		recs = append(recs, fault.Record{ID: fault.RecordID(env.RunID, env.Step, t), Kind: "lcFault", RunID: env.RunID, Step: env.Step, Target: t, Restore: map[string]string{"secret": "s3cr3t"}})
	}
	return recs, nil
}
func (f *lcFault) Describe(rec fault.Record) string { return "break " + rec.Target }
func (f *lcFault) Inject(_ context.Context, _ fault.Env, rec fault.Record) error {
	f.trace.add("inject %s", rec.Target)
	if rec.Target == f.failInject {
		return errors.New("inject failed")
	}
	return nil
}
func (f *lcFault) Recover(_ context.Context, _ fault.Env, rec fault.Record) error {
	f.trace.add("recover %s", rec.Target)
	return nil
}

// lcDrill has three phases; the one named fail fails once, then works; the
// policies of the phases are given.
type lcDrill struct {
	trace    *trace
	policies [3]fault.CrashPolicy
	fail     string
	failed   bool
}

func (d *lcDrill) Plan(_ context.Context, env fault.Env) ([]fault.Record, error) {
	return []fault.Record{{ID: fault.RecordID(env.RunID, env.Step, "cluster"), Kind: "lcDrill", RunID: env.RunID, Step: env.Step, Target: "cluster", Restore: map[string]string{}}}, nil
}
func (d *lcDrill) Describe(rec fault.Record) string { return "drill " + rec.Target }
func (d *lcDrill) Recover(_ context.Context, _ fault.Env, rec fault.Record) error {
	d.trace.add("undo after %s", rec.Restore["last"])
	return nil
}
func (d *lcDrill) Phases(fault.Record) []fault.Phase {
	var out []fault.Phase
	for i, name := range []string{"backup", "disaster", "restore"} {
		out = append(out, fault.Phase{Name: name, OnCrash: d.policies[i], Run: func(ctx context.Context, env fault.Env, rec *fault.Record) error {
			d.trace.add("phase %s", name)
			if name == d.fail && !d.failed {
				d.failed = true
				return errors.New("phase broke")
			}
			rec.Restore["last"] = name
			return nil
		}})
	}
	return out
}

// anySpec is a scenario.FaultSpec stand-in naming the kind; NewAction ignores it.
type anySpec struct{ scenario.FaultSpec }

func (anySpec) FaultKind() string { return "test" }

// recSink records what the lifecycle reports.
type recSink struct {
	mu      sync.Mutex
	events  []string
	figures []reports.Figure
}

func (s *recSink) OpenWindow(name string, _ time.Time)  { s.add("open " + name) }
func (s *recSink) Effective(name string, _ time.Time)   { s.add("effective " + name) }
func (s *recSink) CloseWindow(name string, _ time.Time) { s.add("close " + name) }
func (s *recSink) Observe(o reports.Observation)        { s.add("observe " + o.What) }
func (s *recSink) Figure(f reports.Figure) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.figures = append(s.figures, f)
}
func (s *recSink) add(e string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.events = append(s.events, e)
}

// lcWorld is a lifecycle over a journal in a temp folder and a fake clientset.
type lcWorld struct {
	life    *lifecycle.Lifecycle
	j       *journal.Journal
	store   *lifecycle.Store
	recSink *recSink
}

func newLCWorld(t *testing.T, action fault.Action) *lcWorld {
	t.Helper()
	j, err := journal.Open(t.TempDir())
	assert.NilError(t, err)
	t.Cleanup(func() { j.Close() })
	client := fake.NewClientset()
	store := &lifecycle.Store{Client: client}
	s := &recSink{}
	return &lcWorld{
		life: &lifecycle.Lifecycle{
			Env:     fault.Env{Cluster: &clusters.Cluster{Name: "gd"}, Client: client, RunID: "run-1", Sink: s},
			Journal: j, Store: store, VerifyInterval: time.Millisecond,
			NewAction: func(scenario.FaultSpec) (fault.Action, error) { return action, nil },
		},
		j: j, store: store, recSink: s,
	}
}

func (w *lcWorld) stored(t *testing.T) []string {
	t.Helper()
	recs, err := w.store.List(context.Background())
	assert.NilError(t, err)
	var ids []string
	for _, r := range recs {
		ids = append(ids, r.ID)
	}
	return ids
}

func TestFaultLifecycle(t *testing.T) {
	c := &trace{}
	w := newLCWorld(t, &lcFault{trace: c, targets: []string{"a", "b"}})
	ctx := context.Background()
	act, err := w.life.Plan(ctx, "step", anySpec{}, time.Minute)
	assert.NilError(t, err)
	assert.Equal(t, len(c.get()), 0, "planning changes nothing")
	assert.Equal(t, len(w.stored(t)), 0)

	assert.NilError(t, w.life.Start(ctx, act))
	assert.DeepEqual(t, c.get(), []string{"inject a", "inject b"})
	assert.DeepEqual(t, w.stored(t), []string{"run-1/step/a", "run-1/step/b"})
	out, err := w.j.Outstanding()
	assert.NilError(t, err)
	assert.Equal(t, len(out), 2)
	assert.Equal(t, out[0].Restore["secret"], "s3cr3t", "restore data is journaled")
	assert.Equal(t, len(w.life.Outstanding()), 1)

	assert.NilError(t, w.life.Revert(ctx, "step"))
	assert.DeepEqual(t, c.get()[2:], []string{"recover b", "recover a"}) // newest first
	assert.Equal(t, len(w.stored(t)), 0, "settled records leave the cluster store")
	out, err = w.j.Outstanding()
	assert.NilError(t, err)
	assert.Equal(t, len(out), 0)
	assert.Equal(t, len(w.life.Outstanding()), 0)
	assert.NilError(t, w.life.Revert(ctx, ""), "idempotent")
	assert.Equal(t, len(c.get()), 4)
	assert.DeepEqual(t, w.recSink.events, []string{"open step", "effective step", "close step"})
	assert.Equal(t, len(w.recSink.figures), 1)
	assert.Equal(t, w.recSink.figures[0].Name, "injectionTime")
}

func TestFaultInjectFailureLeavesOnlyWhatWasReached(t *testing.T) {
	c := &trace{}
	w := newLCWorld(t, &lcFault{trace: c, targets: []string{"a", "b", "c"}, failInject: "b"})
	ctx := context.Background()
	act, err := w.life.Plan(ctx, "step", anySpec{}, time.Minute)
	assert.NilError(t, err)
	assert.ErrorContains(t, w.life.Start(ctx, act), "inject failed")
	assert.DeepEqual(t, w.stored(t), []string{"run-1/step/a", "run-1/step/b"}) // c was never reached
	assert.NilError(t, w.life.Revert(ctx, ""))
	assert.DeepEqual(t, c.get(), []string{"inject a", "inject b", "recover b", "recover a"})
}

func TestPlanRefusesAStepTwice(t *testing.T) {
	w := newLCWorld(t, &lcFault{trace: &trace{}, targets: []string{"a"}})
	ctx := context.Background()
	act, err := w.life.Plan(ctx, "step", anySpec{}, time.Minute)
	assert.NilError(t, err)
	assert.NilError(t, w.life.Start(ctx, act))
	_, err = w.life.Plan(ctx, "step", anySpec{}, time.Minute)
	assert.ErrorContains(t, err, "already has an action")
	_, err = w.life.Plan(ctx, "", anySpec{}, time.Minute)
	assert.ErrorContains(t, err, "needs a step name")
	w2 := newLCWorld(t, &lcFault{trace: &trace{}})
	_, err = w2.life.Plan(ctx, "x", anySpec{}, time.Minute)
	assert.ErrorContains(t, err, "found no target")
}

func TestDrillRunsPhasesWithCheckpoints(t *testing.T) {
	c := &trace{}
	w := newLCWorld(t, &lcDrill{trace: c})
	ctx := context.Background()
	act, err := w.life.Plan(ctx, "dr", anySpec{}, 0)
	assert.NilError(t, err)
	assert.NilError(t, w.life.Start(ctx, act))
	assert.DeepEqual(t, c.get(), []string{"phase backup", "phase disaster", "phase restore"})
	state, err := journal.Read(w.j.Path())
	assert.NilError(t, err)
	var ops []string
	for _, e := range state.Entries {
		ops = append(ops, strings.TrimSpace(string(e.Op)+" "+e.Phase))
	}
	assert.DeepEqual(t, ops, []string{
		"planned",
		"phaseStarted backup", "phaseDone backup",
		"phaseStarted disaster", "phaseDone disaster",
		"phaseStarted restore", "phaseDone restore",
		"finished",
	})
	// What a phase added to the record is journaled with it.
	assert.Equal(t, state.Entries[6].Record.Restore["last"], "restore")
	assert.Equal(t, len(w.stored(t)), 0)
	assert.Equal(t, len(w.life.Outstanding()), 0)
	var phases []string
	for _, f := range w.recSink.figures {
		phases = append(phases, f.Name+" "+f.Target)
	}
	assert.DeepEqual(t, phases, []string{"phaseDuration phase/backup", "phaseDuration phase/disaster", "phaseDuration phase/restore", "injectionTime "})
}

// A drill that fails (or is cut off) in a phase is settled as that phase says.
func TestDrillStoppedInAPhase(t *testing.T) {
	tests := []struct {
		name     string
		policy   fault.CrashPolicy
		wantErr  string
		wantLast []string
		settled  bool
	}{
		{name: "revert", policy: fault.Revert, wantLast: []string{"undo after backup"}, settled: true},
		{name: "roll forward", policy: fault.RollForward, wantLast: []string{"phase disaster", "phase restore"}, settled: true},
		{name: "stop", policy: fault.Stop, wantErr: `stopped in phase "disaster"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := &trace{}
			w := newLCWorld(t, &lcDrill{trace: c, fail: "disaster", policies: [3]fault.CrashPolicy{fault.Revert, tc.policy, fault.Revert}})
			ctx := context.Background()
			act, err := w.life.Plan(ctx, "dr", anySpec{}, 0)
			assert.NilError(t, err)
			assert.ErrorContains(t, w.life.Start(ctx, act), "phase disaster: phase broke")
			assert.DeepEqual(t, c.get(), []string{"phase backup", "phase disaster"})

			err = w.life.Revert(ctx, "")
			if tc.wantErr != "" {
				assert.ErrorContains(t, err, tc.wantErr)
				var stopped *fault.StoppedError
				assert.Assert(t, errors.As(err, &stopped))
				assert.Equal(t, stopped.Phase, "disaster")
				assert.Equal(t, len(w.life.Outstanding()), 1, "left for a person")
				assert.Equal(t, len(w.stored(t)), 1)
				// The cluster's copy knows the phase too: a recover without the
				// journal stops there as well, instead of reverting.
				states, err := w.store.States(ctx)
				assert.NilError(t, err)
				assert.Equal(t, states[0].Phase, "disaster")
				assert.Assert(t, !states[0].PhaseDone)
				fault.Register("lcDrill-stop-from-store", func(scenario.FaultSpec) (fault.Action, error) { return w.life.NewAction(nil) })
				st := states[0]
				st.Record.Kind = "lcDrill-stop-from-store"
				err = lifecycle.Settle(ctx, w.life.Env, nil, w.store, st, nil)
				assert.Assert(t, errors.As(err, &stopped), "%v", err)
				return
			}
			assert.NilError(t, err)
			assert.DeepEqual(t, c.get()[2:], tc.wantLast)
			assert.Equal(t, len(w.life.Outstanding()), 0)
			assert.Equal(t, len(w.stored(t)), 0)
			out, err := w.j.Outstanding()
			assert.NilError(t, err)
			assert.Check(t, is.Len(out, 0))
		})
	}
}

// Settle, as `gameday recover` trace it, resumes from the journaled checkpoint.
func TestSettleFromJournal(t *testing.T) {
	tests := []struct {
		name      string
		phase     string
		phaseDone bool
		policies  [3]fault.CrashPolicy
		want      []string
		wantErr   string
	}{
		{name: "no phase started", want: []string{"undo after "}},
		{name: "mid-phase revert", phase: "disaster", policies: [3]fault.CrashPolicy{fault.Stop, fault.Revert, fault.Stop}, want: []string{"undo after backup"}},
		{name: "mid-phase roll forward", phase: "disaster", policies: [3]fault.CrashPolicy{fault.Stop, fault.RollForward, fault.Stop}, want: []string{"phase disaster", "phase restore"}},
		{name: "between phases: the next one decides", phase: "backup", phaseDone: true, policies: [3]fault.CrashPolicy{fault.Stop, fault.RollForward, fault.Stop}, want: []string{"phase disaster", "phase restore"}},
		{name: "last phase done", phase: "restore", phaseDone: true, policies: [3]fault.CrashPolicy{fault.Stop, fault.Stop, fault.Stop}},
		{name: "mid-phase stop", phase: "restore", policies: [3]fault.CrashPolicy{fault.Revert, fault.Revert, fault.Stop}, wantErr: `stopped in phase "restore"`},
		{name: "unknown phase", phase: "teleport", policies: [3]fault.CrashPolicy{fault.Revert, fault.Revert, fault.Revert}, wantErr: `stopped in phase "backup"`},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := &trace{}
			kind := fmt.Sprintf("lcDrill-settle-%d", i)
			fault.Register(kind, func(scenario.FaultSpec) (fault.Action, error) {
				return &lcDrill{trace: c, policies: tc.policies}, nil
			})
			w := newLCWorld(t, nil)
			rec := fault.Record{ID: "run-1/dr/cluster", Kind: kind, RunID: "run-1", Step: "dr", Target: "cluster", Restore: map[string]string{"last": "backup"}}
			assert.NilError(t, w.j.Planned(rec))
			assert.NilError(t, w.store.Save(context.Background(), rec))
			if tc.phase != "" {
				assert.NilError(t, w.j.PhaseStarted(rec, tc.phase))
				if tc.phaseDone {
					assert.NilError(t, w.j.PhaseDone(rec, tc.phase))
				}
			}
			if tc.phase == "" {
				rec.Restore = map[string]string{}
				assert.NilError(t, w.j.Planned(fault.Record{ID: "other", Kind: kind, Target: "x"}))
			}
			states, err := w.j.OutstandingStates()
			assert.NilError(t, err)
			var rs journal.RecordState
			for _, s := range states {
				if s.Record.ID == rec.ID {
					rs = s
				}
			}
			if tc.phase == "" {
				rs.Record.Restore = map[string]string{}
			}
			err = lifecycle.Settle(context.Background(), w.life.Env, w.j, w.store, rs, nil)
			if tc.wantErr != "" {
				assert.ErrorContains(t, err, tc.wantErr)
				assert.DeepEqual(t, w.stored(t), []string{rec.ID})
				return
			}
			assert.NilError(t, err)
			assert.DeepEqual(t, c.get(), tc.want)
			assert.Equal(t, len(w.stored(t)), 0)
			st, err := journal.Read(w.j.Path())
			assert.NilError(t, err)
			got, _ := st.Lookup(rec.ID)
			assert.Assert(t, !got.Outstanding(), "settled: last %s", got.Last)
		})
	}
}

// slowFault blocks each Inject until release is closed.
type slowFault struct {
	lcFault
	release chan struct{}
	started chan struct{}
	once    sync.Once
}

func (f *slowFault) Inject(ctx context.Context, env fault.Env, rec fault.Record) error {
	f.once.Do(func() { close(f.started) })
	<-f.release
	return f.lcFault.Inject(ctx, env, rec)
}

// A Revert that comes while Start is still injecting waits for it, then reverts
// everything Start injected: nothing is left in effect behind a retired action.
func TestRevertDuringStartWaitsForIt(t *testing.T) {
	c := &trace{}
	f := &slowFault{lcFault: lcFault{trace: c, targets: []string{"a", "b", "c"}}, release: make(chan struct{}), started: make(chan struct{})}
	w := newLCWorld(t, f)
	ctx := context.Background()
	act, err := w.life.Plan(ctx, "step", anySpec{}, time.Minute)
	assert.NilError(t, err)
	startDone := make(chan error)
	go func() { startDone <- w.life.Start(ctx, act) }()
	<-f.started
	revertDone := make(chan error)
	go func() { revertDone <- w.life.Revert(ctx, "") }()
	time.Sleep(50 * time.Millisecond)
	close(f.release)
	assert.NilError(t, <-startDone)
	assert.NilError(t, <-revertDone)
	assert.DeepEqual(t, c.get(), []string{"inject a", "inject b", "inject c", "recover c", "recover b", "recover a"})
	assert.Equal(t, len(w.life.Outstanding()), 0)
	assert.Equal(t, len(w.stored(t)), 0)
}
