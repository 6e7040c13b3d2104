package nodeagent_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"gotest.tools/v3/assert"

	"github.com/gameday-dev/gameday/framework/nodeagent"
)

// fakeHost is a node with a kubelet: it logs every call, knows `systemctl stop|start
// kubelet`, and fails the commands it is told to.
type fakeHost struct {
	mu         sync.Mutex
	calls      []string
	files      map[string]bool
	enterErr   error
	stopErr    error
	startFails int           // how many start attempts fail before one succeeds
	kubelet    bool          // whether the kubelet runs
	stopped    chan struct{} // closed when the kubelet is stopped
}

func newFakeHost() *fakeHost {
	return &fakeHost{files: map[string]bool{"/usr/bin/systemctl": true}, kubelet: true, stopped: make(chan struct{})}
}

func (h *fakeHost) log(format string, args ...any) {
	h.calls = append(h.calls, fmt.Sprintf(format, args...))
}

func (h *fakeHost) Enter(root string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.log("enter %s", root)
	return h.enterErr
}

func (h *fakeHost) Exists(path string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.files[path]
}

func (h *fakeHost) Run(ctx context.Context, command ...string) ([]byte, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	cmd := strings.Join(command, " ")
	h.log("run %s", cmd)
	if ctx.Err() != nil {
		return nil, fmt.Errorf("run with a cancelled context: %w", ctx.Err())
	}
	if _, ok := ctx.Deadline(); !ok {
		return nil, errors.New("run without a timeout")
	}
	switch strings.TrimPrefix(strings.TrimPrefix(cmd, "/usr/bin/"), "/bin/") {
	case "systemctl stop kubelet":
		if h.stopErr != nil {
			return []byte("Failed to stop kubelet.service"), h.stopErr
		}
		h.kubelet = false
		close(h.stopped)
	case "systemctl start kubelet":
		if h.startFails > 0 {
			h.startFails--
			return []byte("Job for kubelet.service failed"), errors.New("exit status 1")
		}
		h.kubelet = true
	default:
		return nil, fmt.Errorf("the fake does not know %q", cmd)
	}
	return nil, nil
}

func (h *fakeHost) get() ([]string, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.calls...), h.kubelet
}

// syncBuffer is a bytes.Buffer safe for a writer and a reader in two goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// eventNames lists the events written, checking each line is a JSON event with a time.
func eventNames(t *testing.T, out string) []string {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(out), "\n")
	events := nodeagent.ParseEvents(out)
	assert.Equal(t, len(events), len(lines), "every line is an event: %s", out)
	var names []string
	for _, ev := range events {
		assert.Assert(t, !ev.At.IsZero(), "event without time: %+v", ev)
		names = append(names, ev.Event)
	}
	return names
}

func fastConfig(hold time.Duration) nodeagent.Config {
	return nodeagent.Config{StopKubeletFor: hold, RetryInterval: time.Millisecond, RetryFor: 50 * time.Millisecond}
}

func TestRunStopsWaitsStarts(t *testing.T) {
	t.Parallel()
	h := newFakeHost()
	var out syncBuffer
	start := time.Now()
	err := nodeagent.Run(t.Context(), fastConfig(100*time.Millisecond), h, &out)
	assert.NilError(t, err)
	assert.Assert(t, time.Since(start) >= 100*time.Millisecond, "the hold was cut short: %s", time.Since(start))

	calls, running := h.get()
	assert.DeepEqual(t, calls, []string{
		"enter /proc/1/root",
		"run /usr/bin/systemctl stop kubelet",
		"run /usr/bin/systemctl start kubelet",
	})
	assert.Assert(t, running)
	assert.DeepEqual(t, eventNames(t, out.String()), []string{"kubeletStopping", "kubeletStopped", "kubeletStarting", "kubeletStarted"})

	events := nodeagent.ParseEvents(out.String())
	stopped := events[1]
	assert.Assert(t, stopped.Until != nil)
	assert.Equal(t, stopped.Until.Sub(stopped.At).Round(10*time.Millisecond), 100*time.Millisecond)
	assert.Equal(t, events[2].Reason, nodeagent.ReasonHoldElapsed)
	assert.Equal(t, events[3].Attempt, 1)
}

// A signal (the context ending) shortens the hold, and does not interrupt the start.
func TestRunSignalEndsHold(t *testing.T) {
	t.Parallel()
	h := newFakeHost()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go func() {
		<-h.stopped
		cancel()
	}()
	var out syncBuffer
	start := time.Now()
	err := nodeagent.Run(ctx, fastConfig(time.Hour), h, &out)
	assert.NilError(t, err)
	assert.Assert(t, time.Since(start) < 10*time.Second)
	calls, running := h.get()
	assert.DeepEqual(t, calls[1:], []string{"run /usr/bin/systemctl stop kubelet", "run /usr/bin/systemctl start kubelet"})
	assert.Assert(t, running)
	events := nodeagent.ParseEvents(out.String())
	assert.DeepEqual(t, eventNames(t, out.String()), []string{"kubeletStopping", "kubeletStopped", "kubeletStarting", "kubeletStarted"})
	assert.Equal(t, events[2].Reason, nodeagent.ReasonSignal)
}

// A signal before the kubelet is stopped leaves it alone.
func TestRunCancelledBeforeStop(t *testing.T) {
	t.Parallel()
	h := newFakeHost()
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	var out syncBuffer
	err := nodeagent.Run(ctx, fastConfig(time.Hour), h, &out)
	assert.Assert(t, errors.Is(err, nodeagent.ErrCancelledBeforeStop), "%v", err)
	calls, running := h.get()
	assert.DeepEqual(t, calls, []string{"enter /proc/1/root"})
	assert.Assert(t, running)
	assert.DeepEqual(t, eventNames(t, out.String()), []string{"cancelled"})
}

func TestRunRetriesStart(t *testing.T) {
	t.Parallel()
	h := newFakeHost()
	h.startFails = 2
	var out syncBuffer
	err := nodeagent.Run(t.Context(), fastConfig(time.Millisecond), h, &out)
	assert.NilError(t, err)
	calls, running := h.get()
	assert.DeepEqual(t, calls[1:], []string{
		"run /usr/bin/systemctl stop kubelet",
		"run /usr/bin/systemctl start kubelet",
		"run /usr/bin/systemctl start kubelet",
		"run /usr/bin/systemctl start kubelet",
	})
	assert.Assert(t, running)
	assert.DeepEqual(t, eventNames(t, out.String()), []string{
		"kubeletStopping", "kubeletStopped", "kubeletStarting", "startFailed", "startFailed", "kubeletStarted",
	})
	events := nodeagent.ParseEvents(out.String())
	assert.Equal(t, events[3].Output, "Job for kubelet.service failed")
	assert.Equal(t, events[5].Attempt, 3)
}

// When the kubelet cannot be started within RetryFor, the agent gives up with an
// error telling what to run on the node (the pod then fails, exit non-zero).
func TestRunStartGivesUp(t *testing.T) {
	t.Parallel()
	h := newFakeHost()
	h.startFails = 1 << 20
	var out syncBuffer
	cfg := nodeagent.Config{StopKubeletFor: time.Millisecond, RetryInterval: 10 * time.Millisecond, RetryFor: 100 * time.Millisecond}
	start := time.Now()
	err := nodeagent.Run(t.Context(), cfg, h, &out)
	assert.ErrorContains(t, err, "run `systemctl start kubelet` on the node")
	assert.ErrorContains(t, err, "exit status 1")
	assert.Assert(t, time.Since(start) >= 90*time.Millisecond && time.Since(start) < 5*time.Second, "%s", time.Since(start))
	calls, running := h.get()
	assert.Assert(t, !running)
	starts := 0
	for _, c := range calls {
		if c == "run /usr/bin/systemctl start kubelet" {
			starts++
		}
	}
	assert.Assert(t, starts >= 5 && starts <= 11, "%d attempts", starts)
	names := eventNames(t, out.String())
	assert.Equal(t, names[len(names)-1], "error")
}

// When stopping fails, the agent still makes sure the kubelet runs, and fails.
func TestRunStopFails(t *testing.T) {
	t.Parallel()
	h := newFakeHost()
	h.stopErr = errors.New("exit status 5")
	var out syncBuffer
	err := nodeagent.Run(t.Context(), fastConfig(time.Hour), h, &out)
	assert.ErrorContains(t, err, "/usr/bin/systemctl stop kubelet: exit status 5")
	calls, running := h.get()
	assert.DeepEqual(t, calls[1:], []string{"run /usr/bin/systemctl stop kubelet", "run /usr/bin/systemctl start kubelet"})
	assert.Assert(t, running)
	assert.DeepEqual(t, eventNames(t, out.String()), []string{"kubeletStopping", "error", "kubeletStarted"})
}

func TestRunEnterFails(t *testing.T) {
	t.Parallel()
	h := newFakeHost()
	h.enterErr = errors.New("operation not permitted")
	var out syncBuffer
	err := nodeagent.Run(t.Context(), nodeagent.Config{StopKubeletFor: time.Second, HostRoot: "/host"}, h, &out)
	assert.ErrorContains(t, err, "entering the host's root filesystem /host (the pod must be privileged, with hostPID): operation not permitted")
	calls, _ := h.get()
	assert.DeepEqual(t, calls, []string{"enter /host"})
	assert.DeepEqual(t, eventNames(t, out.String()), []string{"error"})
}

func TestRunFindsSystemctl(t *testing.T) {
	t.Parallel()
	h := newFakeHost()
	h.files = map[string]bool{"/bin/systemctl": true}
	var out syncBuffer
	assert.NilError(t, nodeagent.Run(t.Context(), fastConfig(time.Millisecond), h, &out))
	calls, _ := h.get()
	assert.DeepEqual(t, calls[1:], []string{"run /bin/systemctl stop kubelet", "run /bin/systemctl start kubelet"})

	h = newFakeHost()
	h.files = nil
	out = syncBuffer{}
	err := nodeagent.Run(t.Context(), fastConfig(time.Millisecond), h, &out)
	assert.ErrorContains(t, err, "no systemctl on the host (looked for /usr/bin/systemctl, /bin/systemctl)")
	calls, _ = h.get()
	assert.DeepEqual(t, calls, []string{"enter /proc/1/root"})
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	assert.NilError(t, nodeagent.Config{StopKubeletFor: time.Second, HostRoot: "/"}.Validate())
	err := nodeagent.Config{}.Validate()
	assert.ErrorContains(t, err, "--stop-kubelet-for must be a positive duration, got 0s")
	assert.ErrorContains(t, err, "--host-root must not be empty")
	err = nodeagent.Run(t.Context(), nodeagent.Config{StopKubeletFor: -time.Second}, newFakeHost(), &syncBuffer{})
	assert.ErrorContains(t, err, "--stop-kubelet-for must be a positive duration")
}

func TestParseEventsSkipsOtherLines(t *testing.T) {
	t.Parallel()
	log := `{"event":"kubeletStopping","at":"2026-05-06T07:08:09Z"}
not json
{"other":1}

{"event":"kubeletStopped","at":"2026-05-06T07:08:10Z","until":"2026-05-06T07:08:55Z"}`
	events := nodeagent.ParseEvents(log)
	assert.Equal(t, len(events), 2)
	assert.Equal(t, events[1].Until.Sub(events[1].At), 45*time.Second)
}
