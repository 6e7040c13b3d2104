// Package nodeagent is the node agent of the nodeLoss fault on existing clusters: the
// gameday binary, run as `gameday node-agent` inside a privileged pod with hostPID that
// is pinned to the target node, stops that node's kubelet for a while and starts it
// again.
//
// On a cluster that gameday reaches only through a kubeconfig it cannot exec into the
// node machine, so the agent does it from inside: it changes its root directory to the
// host's (/proc/1/root, which hostPID makes PID 1 of the node), runs the host's
// `systemctl stop kubelet`, waits, and runs `systemctl start kubelet`.
//
// The wait is a dead-man's switch. Once the kubelet is stopped, the Kubernetes API can no
// longer reach the agent's pod: no exec, no logs, and deleting the pod does not signal
// the agent until a kubelet runs again. So the agent is told up front how long to hold
// (--stop-kubelet-for) and starts the kubelet when that time is up, whatever happened to
// the harness. SIGTERM or SIGINT (the pod being deleted while the kubelet still runs)
// ends the hold early. How soon a lost node comes back is therefore bounded by the hold,
// not by when the harness asks for it.
//
// Pod builds the agent's pod; Run is the agent itself, acting on the node through the
// small Host interface so that its order of operations can be tested without a node.
package nodeagent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// Events the agent writes to stdout, one JSON object a line.
const (
	// EventKubeletStopping: the agent is about to stop the kubelet. It is the last line
	// the API server can read from the pod's log until the kubelet runs again.
	EventKubeletStopping = "kubeletStopping"
	// EventKubeletStopped: the kubelet is stopped; Until says when the agent starts it.
	EventKubeletStopped = "kubeletStopped"
	// EventKubeletStarting: the hold is over (Reason says why); the agent starts the kubelet.
	EventKubeletStarting = "kubeletStarting"
	// EventStartFailed: one attempt to start the kubelet failed; the agent retries.
	EventStartFailed = "startFailed"
	// EventKubeletStarted: the kubelet runs again; the agent exits 0.
	EventKubeletStarted = "kubeletStarted"
	// EventCancelled: a signal came before the kubelet was stopped; nothing was changed.
	EventCancelled = "cancelled"
	// EventError: the agent failed (Error says how) and exits non-zero.
	EventError = "error"
)

// Reasons for ending the hold (Event.Reason of EventKubeletStarting).
const (
	ReasonHoldElapsed = "holdElapsed"
	ReasonSignal      = "signal"
)

// Event is one line of the agent's output.
type Event struct {
	Event string    `json:"event"`
	At    time.Time `json:"at"`
	// Until is when the agent will start the kubelet again (EventKubeletStopped).
	Until *time.Time `json:"until,omitempty"`
	// Reason says why the hold ended (EventKubeletStarting).
	Reason string `json:"reason,omitempty"`
	// Attempt numbers the attempts to start the kubelet, from 1.
	Attempt int `json:"attempt,omitempty"`
	// Error and Output describe a failure: the error and the command's output.
	Error  string `json:"error,omitempty"`
	Output string `json:"output,omitempty"`
}

// Defaults of Config.
const (
	// DefaultHostRoot is the node's root filesystem seen from a pod with hostPID.
	DefaultHostRoot = "/proc/1/root"
	// DefaultRetryInterval and DefaultRetryFor pace the attempts to start the kubelet.
	DefaultRetryInterval = 2 * time.Second
	DefaultRetryFor      = 2 * time.Minute
	// DefaultCommandTimeout bounds one systemctl command; systemd itself gives a unit
	// 90s to stop by default.
	DefaultCommandTimeout = 100 * time.Second
)

// KubeletUnit is the systemd unit the agent stops and starts.
const KubeletUnit = "kubelet"

// SystemctlPaths are where the agent looks for the host's systemctl, in order.
var SystemctlPaths = []string{"/usr/bin/systemctl", "/bin/systemctl"}

// ErrCancelledBeforeStop is returned when a signal came before the kubelet was stopped.
var ErrCancelledBeforeStop = errors.New("cancelled before the kubelet was stopped; nothing was changed")

// Config is what the agent does; the zero values of the timing fields mean the defaults.
type Config struct {
	// StopKubeletFor is how long the kubelet stays stopped unless a signal ends the hold
	// first: the dead-man's switch. Required.
	StopKubeletFor time.Duration
	// HostRoot is the host's root filesystem as the agent sees it (DefaultHostRoot).
	HostRoot string
	// RetryInterval and RetryFor pace starting the kubelet again: an attempt every
	// RetryInterval until one succeeds or RetryFor has passed since the first.
	RetryInterval time.Duration
	RetryFor      time.Duration
	// CommandTimeout bounds each systemctl command.
	CommandTimeout time.Duration
}

// Validate reports an invalid configuration.
func (c Config) Validate() error {
	var errs []error
	if c.StopKubeletFor <= 0 {
		errs = append(errs, fmt.Errorf("--stop-kubelet-for must be a positive duration, got %s", c.StopKubeletFor))
	}
	if c.HostRoot == "" {
		errs = append(errs, errors.New("--host-root must not be empty"))
	}
	if c.RetryInterval < 0 || c.RetryFor < 0 || c.CommandTimeout < 0 {
		errs = append(errs, errors.New("retry and command timings must not be negative"))
	}
	return errors.Join(errs...)
}

func (c Config) withDefaults() Config {
	if c.HostRoot == "" {
		c.HostRoot = DefaultHostRoot
	}
	if c.RetryInterval == 0 {
		c.RetryInterval = DefaultRetryInterval
	}
	if c.RetryFor == 0 {
		c.RetryFor = DefaultRetryFor
	}
	if c.CommandTimeout == 0 {
		c.CommandTimeout = DefaultCommandTimeout
	}
	return c
}

// Host is the node the agent acts on. ChrootHost is the real one.
type Host interface {
	// Enter makes root the process's root directory, so that what follows runs on the
	// host's filesystem.
	Enter(root string) error
	// Exists reports whether a file exists (on the host, once entered).
	Exists(path string) bool
	// Run runs a command to completion, or until ctx ends, and returns its combined
	// output.
	Run(ctx context.Context, command ...string) ([]byte, error)
}

// Run is the node agent: it enters the host through host, stops the kubelet, holds it
// stopped for cfg.StopKubeletFor or until ctx ends (SIGTERM, SIGINT), whichever comes
// first, then starts it again, retrying for cfg.RetryFor. Every step is written to w as
// a JSON Event line.
//
// Once the kubelet has been stopped, Run always tries to start it again, whatever
// fails, and ctx does not interrupt the systemctl commands: a half-done command could
// leave the node without its kubelet. It returns nil when the kubelet runs again,
// ErrCancelledBeforeStop when ctx ended before anything was changed, and otherwise an
// error saying what failed.
func Run(ctx context.Context, cfg Config, host Host, w io.Writer) error {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return err
	}
	out := &eventWriter{w: w}
	fail := func(err error) error {
		out.emit(Event{Event: EventError, Error: err.Error()})
		return err
	}
	if err := host.Enter(cfg.HostRoot); err != nil {
		return fail(fmt.Errorf("entering the host's root filesystem %s (the pod must be privileged, with hostPID): %w", cfg.HostRoot, err))
	}
	systemctl := ""
	for _, p := range SystemctlPaths {
		if host.Exists(p) {
			systemctl = p
			break
		}
	}
	if systemctl == "" {
		return fail(fmt.Errorf("no systemctl on the host (looked for %s): the node agent needs a systemd host", strings.Join(SystemctlPaths, ", ")))
	}
	if ctx.Err() != nil {
		out.emit(Event{Event: EventCancelled})
		return fmt.Errorf("%w: %w", ErrCancelledBeforeStop, ctx.Err())
	}
	// From here on, the commands run to completion whatever ctx does.
	cmdCtx := context.WithoutCancel(ctx)
	systemd := func(verb string) ([]byte, error) {
		ctx, cancel := context.WithTimeout(cmdCtx, cfg.CommandTimeout)
		defer cancel()
		return host.Run(ctx, systemctl, verb, KubeletUnit)
	}

	out.emit(Event{Event: EventKubeletStopping})
	if output, err := systemd("stop"); err != nil {
		stopErr := fmt.Errorf("%s stop %s: %w", systemctl, KubeletUnit, err)
		out.emit(Event{Event: EventError, Error: stopErr.Error(), Output: string(output)})
		// The kubelet may be half stopped: make sure it runs before giving up.
		if err := startKubelet(cfg, out, systemd); err != nil {
			return errors.Join(stopErr, err)
		}
		return stopErr
	}
	until := time.Now().Add(cfg.StopKubeletFor)
	out.emit(Event{Event: EventKubeletStopped, Until: &until})

	reason := ReasonHoldElapsed
	hold := time.NewTimer(cfg.StopKubeletFor)
	select {
	case <-hold.C:
	case <-ctx.Done():
		hold.Stop()
		reason = ReasonSignal
	}
	out.emit(Event{Event: EventKubeletStarting, Reason: reason})
	return startKubelet(cfg, out, systemd)
}

// startKubelet starts the kubelet, retrying every cfg.RetryInterval for cfg.RetryFor.
func startKubelet(cfg Config, out *eventWriter, systemd func(verb string) ([]byte, error)) error {
	deadline := time.Now().Add(cfg.RetryFor)
	for attempt := 1; ; attempt++ {
		output, err := systemd("start")
		if err == nil {
			out.emit(Event{Event: EventKubeletStarted, Attempt: attempt})
			return nil
		}
		out.emit(Event{Event: EventStartFailed, Attempt: attempt, Error: err.Error(), Output: string(output)})
		if time.Now().Add(cfg.RetryInterval).After(deadline) {
			err = fmt.Errorf("starting the %s unit failed %d times over %s; run `systemctl start %s` on the node: %w",
				KubeletUnit, attempt, cfg.RetryFor, KubeletUnit, err)
			out.emit(Event{Event: EventError, Error: err.Error()})
			return err
		}
		time.Sleep(cfg.RetryInterval)
	}
}

// eventWriter writes events as JSON lines. Write errors are ignored: the agent's duty
// is to put the kubelet back, whether anyone reads its log or not.
type eventWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (e *eventWriter) emit(ev Event) {
	if ev.At.IsZero() {
		ev.At = time.Now().UTC()
	}
	if ev.Until != nil {
		u := ev.Until.UTC()
		ev.Until = &u
	}
	b, _ := json.Marshal(ev)
	e.mu.Lock()
	defer e.mu.Unlock()
	_, _ = e.w.Write(append(b, '\n'))
}

// ParseEvents reads the events in an agent's log, skipping lines that are not events.
func ParseEvents(log string) []Event {
	var events []Event
	for line := range strings.SplitSeq(log, "\n") {
		var ev Event
		if err := json.Unmarshal([]byte(strings.TrimSpace(line)), &ev); err == nil && ev.Event != "" {
			events = append(events, ev)
		}
	}
	return events
}
