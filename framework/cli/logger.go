package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"

	kindlog "sigs.k8s.io/kind/pkg/log"
)

// logger writes status and debug messages to stderr (or, during a live run view, above
// it). It is kind's log.Logger, so cluster creation reports through it, and it gives an
// slog.Logger to the packages that take one (the journal). Verbosity 0 shows warnings,
// errors and kind's V(0) status lines; each level above adds the next V level.
type logger struct {
	mu        sync.Mutex
	w         io.Writer
	verbosity *int
}

var _ kindlog.Logger = (*logger)(nil)

func newLogger(w io.Writer, verbosity *int) *logger {
	return &logger{w: w, verbosity: verbosity}
}

// setWriter sends further messages to w and returns a func that restores the previous one.
func (l *logger) setWriter(w io.Writer) (restore func()) {
	l.mu.Lock()
	defer l.mu.Unlock()
	prev := l.w
	l.w = w
	return func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		l.w = prev
	}
}

func (l *logger) print(prefix, msg string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintf(l.w, "%s%s\n", prefix, strings.TrimRight(msg, "\n"))
}

func (l *logger) enabled(level kindlog.Level) bool { return int(level) <= *l.verbosity }

// Warn prints a warning.
func (l *logger) Warn(message string) { l.print("WARNING: ", message) }

// Warnf prints a formatted warning.
func (l *logger) Warnf(format string, args ...any) { l.Warn(fmt.Sprintf(format, args...)) }

// Error prints an error.
func (l *logger) Error(message string) { l.print("ERROR: ", message) }

// Errorf prints a formatted error.
func (l *logger) Errorf(format string, args ...any) { l.Error(fmt.Sprintf(format, args...)) }

// V returns the logger for messages of the given verbosity.
func (l *logger) V(level kindlog.Level) kindlog.InfoLogger {
	return infoLogger{l: l, level: level}
}

// Debugf prints a message shown from verbosity 1 on.
func (l *logger) Debugf(format string, args ...any) { l.V(1).Infof(format, args...) }

type infoLogger struct {
	l     *logger
	level kindlog.Level
}

func (i infoLogger) Enabled() bool { return i.l.enabled(i.level) }

func (i infoLogger) Info(message string) {
	if i.Enabled() {
		i.l.print("", message)
	}
}

func (i infoLogger) Infof(format string, args ...any) {
	if i.Enabled() {
		i.l.print("", fmt.Sprintf(format, args...))
	}
}

// slog returns an slog.Logger writing through l: warnings and errors always, info and
// debug records from verbosity 1 on.
func (l *logger) slog() *slog.Logger {
	return slog.New(slogHandler{l: l})
}

type slogHandler struct {
	l     *logger
	attrs []slog.Attr
}

func (h slogHandler) Enabled(_ context.Context, level slog.Level) bool {
	return level >= slog.LevelWarn || *h.l.verbosity >= 1
}

func (h slogHandler) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(r.Message)
	add := func(a slog.Attr) bool {
		fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
		return true
	}
	for _, a := range h.attrs {
		add(a)
	}
	r.Attrs(add)
	switch {
	case r.Level >= slog.LevelError:
		h.l.Error(b.String())
	case r.Level >= slog.LevelWarn:
		h.l.Warn(b.String())
	default:
		h.l.print("", b.String())
	}
	return nil
}

func (h slogHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return slogHandler{l: h.l, attrs: append(append([]slog.Attr(nil), h.attrs...), attrs...)}
}

// WithGroup is not needed by gameday's packages; groups are flattened.
func (h slogHandler) WithGroup(string) slog.Handler { return h }
