package journal

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/gameday-dev/gameday/framework/fault"
)

// helperEnv makes the test binary act as a second process (see TestMain).
const helperEnv = "GAMEDAY_JOURNAL_TEST_HELPER"

func TestMain(m *testing.M) {
	if role := os.Getenv(helperEnv); role != "" {
		if err := helperMain(role, os.Getenv("GAMEDAY_JOURNAL_TEST_DIR")); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// helperMain is what a re-executed test binary does: "append:PREFIX:N" plans, injects
// and reverts N records; "crash" plans and injects under the run lock, then waits to
// be killed; "recover" runs one recover pass and prints how many records it reverted.
func helperMain(role, dir string) error {
	j, err := Open(dir)
	if err != nil {
		return err
	}
	defer j.Close()
	switch {
	case strings.HasPrefix(role, "append:"):
		parts := strings.Split(role, ":")
		n, _ := strconv.Atoi(parts[2])
		return appendCycles(j, parts[1], n)
	case role == "crash":
		// A run that dies mid-step: it holds the run lock, injected a and planned b.
		err := errors.Join(j.Lock(context.Background()), j.Planned(record("a")), j.Injected("a"), j.Planned(record("b")))
		if err != nil {
			return err
		}
		fmt.Println("ready")
		time.Sleep(time.Minute) // until SIGKILL
		return errors.New("not killed")
	case role == "recover":
		n, err := recoverPass(context.Background(), j, 100*time.Millisecond)
		fmt.Println(n)
		return err
	}
	return fmt.Errorf("unknown helper role %q", role)
}

// appendCycles plans, injects and reverts n records named prefix-i.
func appendCycles(j *Journal, prefix string, n int) error {
	for i := range n {
		rec := record(fmt.Sprintf("%s-%d", prefix, i))
		if err := j.Planned(rec); err != nil {
			return err
		}
		if err := j.Injected(rec.ID); err != nil {
			return err
		}
		if err := j.Reverted(rec.ID); err != nil {
			return err
		}
	}
	return nil
}

// recoverPass is what `gameday recover` does with a journal: lock, revert what is
// outstanding (here: pretend to, taking hold time), record it, unlock.
func recoverPass(ctx context.Context, j *Journal, hold time.Duration) (int, error) {
	if err := j.Lock(ctx); err != nil {
		return 0, err
	}
	defer j.Unlock()
	recs, err := j.Outstanding()
	if err != nil {
		return 0, err
	}
	time.Sleep(hold)
	for _, rec := range recs {
		if err := j.Reverted(rec.ID); err != nil {
			return 0, err
		}
	}
	return len(recs), nil
}

func record(id string) fault.Record {
	return fault.Record{
		ID: id, Kind: "nodeLoss", Mode: "stop", RunID: "run-1", Step: "s1",
		Cluster: "gameday", Target: "node/" + id,
		Restore:   map[string]string{"state": "running"},
		PlannedAt: time.Date(2026, 11, 22, 1, 2, 3, 0, time.UTC),
	}
}

func ids(recs []fault.Record) []string {
	out := []string{}
	for _, r := range recs {
		out = append(out, r.ID)
	}
	return out
}

func openTemp(t *testing.T) *Journal {
	t.Helper()
	j, err := Open(filepath.Join(t.TempDir(), "run"))
	assert.NilError(t, err)
	t.Cleanup(func() { j.Close() })
	return j
}

func TestOutstanding(t *testing.T) {
	t.Parallel()
	type step struct {
		op Op
		id string
	}
	tests := []struct {
		name  string
		steps []step
		want  []string
	}{
		{name: "empty", want: []string{}},
		{name: "planned only is outstanding (crash mid-inject)", steps: []step{{OpPlanned, "a"}}, want: []string{"a"}},
		{name: "injected", steps: []step{{OpPlanned, "a"}, {OpInjected, "a"}}, want: []string{"a"}},
		{name: "reverted", steps: []step{{OpPlanned, "a"}, {OpInjected, "a"}, {OpReverted, "a"}}, want: []string{}},
		{name: "reverted without inject", steps: []step{{OpPlanned, "a"}, {OpReverted, "a"}}, want: []string{}},
		{name: "recover failed stays outstanding", steps: []step{{OpPlanned, "a"}, {OpInjected, "a"}, {OpRecoverFailed, "a"}}, want: []string{"a"}},
		{name: "recover failed then reverted", steps: []step{{OpPlanned, "a"}, {OpRecoverFailed, "a"}, {OpReverted, "a"}}, want: []string{}},
		{
			name:  "undo order: last planned first",
			steps: []step{{OpPlanned, "a"}, {OpPlanned, "b"}, {OpInjected, "a"}, {OpPlanned, "c"}},
			want:  []string{"c", "b", "a"},
		},
		{
			name:  "some reverted",
			steps: []step{{OpPlanned, "a"}, {OpPlanned, "b"}, {OpPlanned, "c"}, {OpReverted, "b"}},
			want:  []string{"c", "a"},
		},
		{
			name:  "planned again after revert moves to the top",
			steps: []step{{OpPlanned, "a"}, {OpPlanned, "b"}, {OpReverted, "a"}, {OpPlanned, "a"}},
			want:  []string{"a", "b"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			j := openTemp(t)
			for _, s := range tc.steps {
				var err error
				switch s.op {
				case OpPlanned:
					err = j.Planned(record(s.id))
				case OpInjected:
					err = j.Injected(s.id)
				case OpReverted:
					err = j.Reverted(s.id)
				case OpRecoverFailed:
					err = j.RecoverFailed(s.id, errors.New("node gone"))
				}
				assert.NilError(t, err)
			}
			got, err := j.Outstanding()
			assert.NilError(t, err)
			assert.DeepEqual(t, ids(got), tc.want)

			// A reader without the Journal sees the same.
			state, err := Read(j.Path())
			assert.NilError(t, err)
			assert.DeepEqual(t, ids(state.Outstanding()), tc.want)
			assert.Equal(t, len(state.Entries), len(tc.steps))
		})
	}
}

func TestAppendRules(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		do      func(j *Journal) error
		wantErr string
	}{
		{name: "planned needs an id", do: func(j *Journal) error { r := record("a"); r.ID = ""; return j.Planned(r) }, wantErr: "needs an id"},
		{name: "planned needs a target", do: func(j *Journal) error { r := record("a"); r.Target = ""; return j.Planned(r) }, wantErr: "needs an id, kind and target"},
		{name: "injected unknown", do: func(j *Journal) error { return j.Injected("nope") }, wantErr: `no planned record "nope" to mark injected`},
		{name: "reverted unknown", do: func(j *Journal) error { return j.Reverted("nope") }, wantErr: `no planned record "nope"`},
		{
			name: "planned twice while outstanding",
			do: func(j *Journal) error {
				if err := j.Planned(record("a")); err != nil {
					return err
				}
				return j.Planned(record("a"))
			},
			wantErr: `record "a" is already outstanding`,
		},
		{
			name: "planned again after revert",
			do: func(j *Journal) error {
				return errors.Join(j.Planned(record("a")), j.Reverted("a"), j.Planned(record("a")))
			},
		},
		{
			name: "closed",
			do: func(j *Journal) error {
				assert.NilError(t, j.Close())
				assert.NilError(t, j.Close())
				return j.Planned(record("a"))
			},
			wantErr: "journal is closed",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := tc.do(openTemp(t))
			if tc.wantErr == "" {
				assert.NilError(t, err)
				return
			}
			assert.ErrorContains(t, err, tc.wantErr)
		})
	}
}

func TestEntriesCarryTheRecord(t *testing.T) {
	t.Parallel()
	j := openTemp(t)
	rec := record("a")
	rec.PlannedAt = time.Time{}
	assert.NilError(t, j.Planned(rec))
	assert.NilError(t, j.Injected("a"))
	assert.NilError(t, j.RecoverFailed("a", errors.New("docker: no such container")))

	state, err := Read(j.Path())
	assert.NilError(t, err)
	assert.Equal(t, len(state.Entries), 3)
	for _, e := range state.Entries {
		assert.Equal(t, e.Record.ID, "a")
		assert.Equal(t, e.Record.Restore["state"], "running")
		assert.Assert(t, !e.Record.PlannedAt.IsZero(), "a zero PlannedAt is set when planned")
		assert.Assert(t, !e.At.IsZero())
	}
	rs, ok := state.Lookup("a")
	assert.Assert(t, ok)
	assert.Equal(t, rs.Last, OpRecoverFailed)
	assert.Assert(t, rs.Injected)
	assert.DeepEqual(t, rs.Failures, []string{"docker: no such container"})
}

func TestOpenCreatesRunFolder(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "runs", "node-loss-20261122T010203Z")
	j, err := Open(dir)
	assert.NilError(t, err)
	defer j.Close()
	assert.Equal(t, j.Dir(), dir)
	info, err := os.Stat(filepath.Join(dir, FileName))
	assert.NilError(t, err)
	assert.Equal(t, info.Size(), int64(0))

	_, err = Open(filepath.Join(dir, FileName))
	assert.ErrorContains(t, err, "is not a directory")
}

// A crash mid-append leaves a prefix of the last line (or zeros in its place). Reads
// ignore it with a warning; the next append cuts it off.
func TestTornLastLine(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		tail string
	}{
		{name: "prefix of a line", tail: `{"op":"injected","at":"2026-11-22T01:02:04Z","rec`},
		{name: "one byte", tail: `{`},
		{name: "zeros", tail: "\x00\x00\x00\x00\x00\x00"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			j := openTemp(t)
			assert.NilError(t, j.Planned(record("a")))
			assert.NilError(t, j.Planned(record("b")))
			assert.NilError(t, j.Close())
			appendRaw(t, j.Path(), tc.tail)

			state, err := Read(j.Path())
			assert.NilError(t, err)
			assert.Equal(t, len(state.Entries), 2)
			assert.DeepEqual(t, ids(state.Outstanding()), []string{"b", "a"})
			assert.Assert(t, is.Len(state.Warnings, 1))
			assert.Assert(t, is.Contains(state.Warnings[0], j.Path()+":3: ignoring a torn last line"))

			// Appending after the crash repairs the file.
			j2, err := Open(j.Dir())
			assert.NilError(t, err)
			defer j2.Close()
			assert.NilError(t, j2.Reverted("a"))
			state, err = Read(j.Path())
			assert.NilError(t, err)
			assert.Assert(t, is.Len(state.Warnings, 0))
			assert.Equal(t, len(state.Entries), 3)
			assert.DeepEqual(t, ids(state.Outstanding()), []string{"b"})
		})
	}
}

// A complete last line that lost only its newline is kept, and the next append does
// not run into it.
func TestLastLineWithoutNewline(t *testing.T) {
	t.Parallel()
	j := openTemp(t)
	assert.NilError(t, j.Planned(record("a")))
	data, err := os.ReadFile(j.Path())
	assert.NilError(t, err)
	assert.NilError(t, os.WriteFile(j.Path(), data[:len(data)-1], 0o644))

	assert.NilError(t, j.Injected("a"))
	state, err := Read(j.Path())
	assert.NilError(t, err)
	assert.Assert(t, is.Len(state.Warnings, 0))
	assert.Equal(t, len(state.Entries), 2)
}

func TestCorruptLine(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		line    string
		last    bool
		wantErr string
	}{
		{name: "garbage", line: "not json", wantErr: ":2: invalid character"},
		{name: "unknown op", line: `{"op":"exploded","record":{"id":"x"}}`, wantErr: `:2: unknown op "exploded"`},
		{name: "no record id", line: `{"op":"planned","record":{"kind":"nodeLoss"}}`, wantErr: ":2: entry without a record id"},
		{name: "complete bad last line", line: "not json", last: true, wantErr: ":2: invalid character"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			j := openTemp(t)
			assert.NilError(t, j.Planned(record("a")))
			assert.NilError(t, j.Close())
			appendRaw(t, j.Path(), tc.line+"\n")
			if !tc.last {
				appendRaw(t, j.Path(), `{"op":"reverted","record":{"id":"a"}}`+"\n")
			}

			_, err := Read(j.Path())
			var corrupt *CorruptError
			assert.Assert(t, errors.As(err, &corrupt), "got %v", err)
			assert.Equal(t, corrupt.Line, 2)
			assert.ErrorContains(t, err, "corrupt journal "+j.Path()+tc.wantErr)

			_, err = Open(j.Dir())
			assert.ErrorContains(t, err, "corrupt journal "+j.Path()+":2")
		})
	}
}

func appendRaw(t *testing.T, path, text string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	assert.NilError(t, err)
	_, err = f.WriteString(text)
	assert.NilError(t, err)
	assert.NilError(t, f.Close())
}

func TestConcurrentAppendsFromGoroutines(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "run")
	shared, err := Open(dir)
	assert.NilError(t, err)
	defer shared.Close()
	other, err := Open(dir) // a second open file, as another process would have
	assert.NilError(t, err)
	defer other.Close()

	const workers, perWorker = 6, 10
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		j := shared
		if w%2 == 1 {
			j = other
		}
		wg.Go(func() { errs <- appendCycles(j, fmt.Sprintf("g%d", w), perWorker) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		assert.NilError(t, err)
	}
	state, err := Read(shared.Path())
	assert.NilError(t, err)
	assert.Assert(t, is.Len(state.Warnings, 0))
	assert.Equal(t, len(state.Entries), workers*perWorker*3)
	assert.Equal(t, len(state.Records), workers*perWorker)
	assert.Assert(t, is.Len(state.Outstanding(), 0))
}

func helper(ctx context.Context, dir, role string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, os.Args[0])
	cmd.Env = append(os.Environ(), helperEnv+"="+role, "GAMEDAY_JOURNAL_TEST_DIR="+dir)
	return cmd
}

func TestConcurrentAppendsFromProcesses(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dir := filepath.Join(t.TempDir(), "run")
	j, err := Open(dir)
	assert.NilError(t, err)
	defer j.Close()

	const perProcess = 20
	var cmds []*exec.Cmd
	for _, prefix := range []string{"p1", "p2"} {
		cmd := helper(ctx, dir, fmt.Sprintf("append:%s:%d", prefix, perProcess))
		assert.NilError(t, cmd.Start())
		cmds = append(cmds, cmd)
	}
	assert.NilError(t, appendCycles(j, "parent", perProcess))
	for _, cmd := range cmds {
		assert.NilError(t, cmd.Wait())
	}

	state, err := Read(j.Path())
	assert.NilError(t, err)
	assert.Assert(t, is.Len(state.Warnings, 0))
	assert.Equal(t, len(state.Entries), 3*3*perProcess)
	assert.Equal(t, len(state.Records), 3*perProcess)
	assert.Assert(t, is.Len(state.Outstanding(), 0))
}

// Two `gameday recover` processes on one journal: the run lock serialises them, the
// first reverts everything, the second finds nothing to do.
func TestConcurrentRecoverFromProcesses(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dir := filepath.Join(t.TempDir(), "run")
	j, err := Open(dir)
	assert.NilError(t, err)
	for _, id := range []string{"a", "b", "c", "d", "e"} {
		assert.NilError(t, j.Planned(record(id)))
	}
	assert.NilError(t, j.Close())

	outs := make([]*strings.Builder, 2)
	var cmds []*exec.Cmd
	for i := range outs {
		outs[i] = &strings.Builder{}
		cmd := helper(ctx, dir, "recover")
		cmd.Stdout = outs[i]
		assert.NilError(t, cmd.Start())
		cmds = append(cmds, cmd)
	}
	for _, cmd := range cmds {
		assert.NilError(t, cmd.Wait())
	}
	counts := []string{strings.TrimSpace(outs[0].String()), strings.TrimSpace(outs[1].String())}
	assert.Assert(t, (counts[0] == "5" && counts[1] == "0") || (counts[0] == "0" && counts[1] == "5"), "reverted counts %v", counts)

	state, err := Read(filepath.Join(dir, FileName))
	assert.NilError(t, err)
	assert.Equal(t, len(state.Entries), 10, "each record reverted exactly once")
}

// A run killed with SIGKILL leaves its records outstanding, and its run lock is
// released by the kernel, so recover can start at once.
func TestRecoverAfterSIGKILL(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dir := filepath.Join(t.TempDir(), "run")
	cmd := helper(ctx, dir, "crash")
	stdout, err := cmd.StdoutPipe()
	assert.NilError(t, err)
	assert.NilError(t, cmd.Start())
	line, err := bufio.NewReader(stdout).ReadString('\n')
	assert.NilError(t, err)
	assert.Equal(t, line, "ready\n")

	runs, err := Scan(filepath.Dir(dir))
	assert.NilError(t, err)
	assert.Assert(t, is.Len(runs, 1))
	assert.Assert(t, runs[0].Busy, "the live run holds the lock")

	assert.NilError(t, cmd.Process.Kill())
	_ = cmd.Wait()

	j, err := Open(dir)
	assert.NilError(t, err)
	defer j.Close()
	lockCtx, cancelLock := context.WithTimeout(ctx, 5*time.Second)
	defer cancelLock()
	assert.NilError(t, j.Lock(lockCtx))
	recs, err := j.Outstanding()
	assert.NilError(t, err)
	assert.DeepEqual(t, ids(recs), []string{"b", "a"})
}

func TestConcurrentRecoverFromGoroutines(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "run")
	j, err := Open(dir)
	assert.NilError(t, err)
	defer j.Close()
	for _, id := range []string{"a", "b", "c"} {
		assert.NilError(t, j.Planned(record(id)))
	}

	const passes = 4
	counts := make(chan int, passes)
	var wg sync.WaitGroup
	for range passes {
		wg.Go(func() {
			jj, err := Open(dir)
			assert.Check(t, err)
			defer jj.Close()
			n, err := recoverPass(context.Background(), jj, 10*time.Millisecond)
			assert.Check(t, err)
			counts <- n
		})
	}
	wg.Wait()
	close(counts)
	total := 0
	for n := range counts {
		total += n
	}
	assert.Equal(t, total, 3)
}

func TestLockWaitsAndNamesHolder(t *testing.T) {
	t.Parallel()
	holder := openTemp(t)
	waiter, err := Open(holder.Dir())
	assert.NilError(t, err)
	defer waiter.Close()

	assert.NilError(t, holder.Lock(context.Background()))
	assert.ErrorContains(t, holder.Lock(context.Background()), "already locked by this Journal")

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	err = waiter.Lock(ctx)
	assert.Assert(t, errors.Is(err, context.DeadlineExceeded), "got %v", err)
	assert.ErrorContains(t, err, fmt.Sprintf("is locked by pid %d on ", os.Getpid()))

	// Appends are not blocked by the run lock.
	assert.NilError(t, waiter.Planned(record("a")))

	runs, err := Scan(filepath.Dir(holder.Dir()))
	assert.NilError(t, err)
	assert.Assert(t, is.Len(runs, 1))
	assert.Assert(t, runs[0].Busy)

	// Close releases the lock.
	assert.NilError(t, holder.Close())
	assert.NilError(t, waiter.Lock(context.Background()))
	assert.NilError(t, waiter.Unlock())
	assert.NilError(t, waiter.Unlock())
}

func TestScan(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	at := func(minute int) string {
		return time.Date(2026, 11, 22, 1, minute, 0, 0, time.UTC).Format(time.RFC3339)
	}
	write := func(rel string, lines ...string) {
		dir := filepath.Join(root, rel)
		assert.NilError(t, os.MkdirAll(dir, 0o755))
		assert.NilError(t, os.WriteFile(filepath.Join(dir, FileName), []byte(strings.Join(lines, "\n")+"\n"), 0o644))
	}
	entry := func(op Op, minute int, id string) string {
		return fmt.Sprintf(`{"op":%q,"at":%q,"record":{"id":%q,"kind":"nodeLoss","target":"node/%s"}}`, op, at(minute), id, id)
	}
	write("dns-20261122T0110Z", entry(OpPlanned, 10, "x"), entry(OpInjected, 10, "x"))
	write("node-loss-20261122T0105Z", entry(OpPlanned, 5, "y"), entry(OpPlanned, 6, "z"), entry(OpReverted, 7, "y"))
	write("clean-20261122T0101Z", entry(OpPlanned, 1, "w"), entry(OpReverted, 2, "w"))
	write("nested/older-20261122T0100Z", entry(OpPlanned, 0, "v"))
	write(".hidden/run", entry(OpPlanned, 0, "h"))
	write("broken", entry(OpPlanned, 0, "b"), "garbage", entry(OpReverted, 1, "b"))
	brokenAt := time.Date(2026, 11, 22, 1, 8, 0, 0, time.UTC)
	assert.NilError(t, os.Chtimes(filepath.Join(root, "broken", FileName), brokenAt, brokenAt))
	assert.NilError(t, os.MkdirAll(filepath.Join(root, "empty-run"), 0o755))
	assert.NilError(t, os.WriteFile(filepath.Join(root, "empty-run", FileName), nil, 0o644))

	runs, err := Scan(root)
	assert.NilError(t, err)
	var got []string
	for _, r := range runs {
		rel, _ := filepath.Rel(root, r.Dir)
		desc := rel + " " + strings.Join(ids(r.Outstanding), ",")
		if r.Err != nil {
			desc += " error"
		}
		got = append(got, desc)
	}
	// "broken" is dated by its file's modification time.
	assert.DeepEqual(t, got, []string{
		"nested/older-20261122T0100Z v",
		"node-loss-20261122T0105Z z",
		"broken  error",
		"dns-20261122T0110Z x",
	})
	assert.Equal(t, runs[0].Started.Format(time.RFC3339), at(0))
	assert.Assert(t, !runs[0].Busy)
	var corrupt *CorruptError
	assert.Assert(t, errors.As(runs[2].Err, &corrupt))

	_, err = Scan(filepath.Join(root, "missing"))
	assert.ErrorContains(t, err, "scanning")
}
