package probe

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Defaults used when a probe's Interval or Timeout is zero.
const (
	DefaultInterval = time.Second
	DefaultTimeout  = time.Second
)

// OverranError was the Error of a failing Sample that older versions recorded for each
// scheduled attempt skipped because the previous attempt was still running. Probes no longer
// emit it (a skipped slot emits nothing); readers of old samples treat it as no data.
const OverranError = "probe attempt overran"

// Probe measures one service level indicator.
type Probe interface {
	// Name is the probe's name from the scenario; every Sample it emits carries it.
	Name() string
	// Run makes one attempt every interval until ctx ends and emits exactly one Sample per
	// attempt: a slow attempt that succeeds is one OK Sample with its whole Latency. Attempts
	// never overlap: the first slot that falls while an attempt is still running is served
	// as soon as it ends, later ones are skipped and emit nothing (a gap in the samples,
	// which scoring counts as no data, never as failures), so the schedule never slips by
	// more than one interval. An attempt cut short because ctx ended is not emitted. Run
	// returns nil when ctx ends and an error only for an invalid probe.
	Run(ctx context.Context, emit func(Sample)) error
}

// RunAll runs every probe concurrently until ctx ends. emit is called from several
// goroutines at once, so it must be safe for concurrent use (Recorder.Emit is). Probe names
// must be unique. If a probe fails to run, the others are stopped and the errors returned.
func RunAll(ctx context.Context, probes []Probe, emit func(Sample)) error {
	seen := make(map[string]bool, len(probes))
	for _, p := range probes {
		if seen[p.Name()] {
			return fmt.Errorf("probe name %q used twice", p.Name())
		}
		seen[p.Name()] = true
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	for _, p := range probes {
		wg.Go(func() {
			if err := p.Run(ctx, emit); err != nil {
				mu.Lock()
				errs = append(errs, fmt.Errorf("probe %s: %w", p.Name(), err))
				mu.Unlock()
				cancel()
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// attemptFunc makes one probe attempt; a nil error means the attempt succeeded.
type attemptFunc func(ctx context.Context) error

// runSchedule is the loop behind every probe's Run: an attempt at start and then at every
// tick of a fixed-rate ticker, each bounded by timeout, one Sample per attempt. Slots missed
// while an attempt ran long emit nothing.
func runSchedule(ctx context.Context, name string, interval, timeout time.Duration, attempt attemptFunc, emit func(Sample)) error {
	if interval <= 0 {
		return fmt.Errorf("interval must be positive, got %s", interval)
	}
	if timeout <= 0 {
		return fmt.Errorf("timeout must be positive, got %s", timeout)
	}
	// The ticker keeps at most one tick waiting: a slot that fell during a long attempt is
	// served when the attempt ends, and the ticks dropped meanwhile are the skipped slots.
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for {
		if !runAttempt(ctx, name, timeout, attempt, emit) {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
			if ctx.Err() != nil { // both were ready and select picked the tick
				return nil
			}
		}
	}
}

// runAttempt makes one attempt and emits its Sample. It reports false, emitting nothing,
// when ctx ended meanwhile: such an attempt measured the shutdown, not the target.
func runAttempt(ctx context.Context, name string, timeout time.Duration, attempt attemptFunc, emit func(Sample)) bool {
	if ctx.Err() != nil {
		return false
	}
	attemptCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	at := time.Now()
	err := attempt(attemptCtx)
	latency := time.Since(at)
	if ctx.Err() != nil {
		return false
	}
	s := Sample{Probe: name, At: at, OK: err == nil, Latency: latency}
	if err != nil {
		s.Error = err.Error()
	}
	emit(s)
	return true
}

// withDefaults returns interval and timeout with zero values replaced by the defaults.
func withDefaults(interval, timeout time.Duration) (time.Duration, time.Duration) {
	if interval == 0 {
		interval = DefaultInterval
	}
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	return interval, timeout
}

// validateTiming rejects negative intervals and timeouts (zero means the default).
func validateTiming(interval, timeout time.Duration) error {
	var errs []error
	if interval < 0 {
		errs = append(errs, fmt.Errorf("interval must not be negative, got %s", interval))
	}
	if timeout < 0 {
		errs = append(errs, fmt.Errorf("timeout must not be negative, got %s", timeout))
	}
	return errors.Join(errs...)
}

// timeoutError describes an attempt that ran out of time; what names the step that was cut off.
func timeoutError(timeout time.Duration, what string) error {
	return fmt.Errorf("timeout after %s %s", timeout, what)
}
