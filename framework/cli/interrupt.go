package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
)

// errInterrupted is the cause of the context cancelled by the first Ctrl-C (or SIGTERM).
var errInterrupted = errors.New("interrupted")

// defaultInterruptMessage is what the first interrupt says for commands that set nothing.
const defaultInterruptMessage = "interrupt: stopping; press Ctrl-C again to exit immediately"

// interrupts turns SIGINT and SIGTERM into the two-step stop of a game day: the first
// cancels the command's context (a run then reverts its faults and writes an aborted
// report), the second ends the process at once with exit code 130.
type interrupts struct {
	stderr io.Writer
	cancel context.CancelCauseFunc
	exit   func(code int)

	mu     sync.Mutex
	out    io.Writer     // where the first interrupt is said: stderr, or above a live view
	lead   string        // written before the first message: past the terminal's "^C" echo
	first  string        // said on the first interrupt; "" says nothing
	second func() string // said on the second interrupt; nil says a default
	count  int
}

func newInterrupts(stderr io.Writer, cancel context.CancelCauseFunc, exit func(int)) *interrupts {
	if exit == nil {
		exit = os.Exit
	}
	return &interrupts{stderr: stderr, out: stderr, lead: "\n", cancel: cancel, exit: exit, first: defaultInterruptMessage}
}

// sayThroughLiveView sends the first interrupt's message to w, a live view that would
// draw over anything written to the terminal behind its back, and returns a func that
// restores stderr. The message starts by going back to the start of the line and
// clearing it: the terminal's "^C" echo moved the cursor the view redraws from. The
// second interrupt's message always goes straight to stderr: the process exits before a
// view could draw it.
func (in *interrupts) sayThroughLiveView(w io.Writer) (restore func()) {
	in.mu.Lock()
	defer in.mu.Unlock()
	prevOut, prevLead := in.out, in.lead
	in.out, in.lead = w, "\r\x1b[K"
	return func() {
		in.mu.Lock()
		defer in.mu.Unlock()
		in.out, in.lead = prevOut, prevLead
	}
}

// say sets what the first and second interrupt print; second is called when it happens,
// so it can name what is known by then (the run folder).
func (in *interrupts) say(first string, second func() string) {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.first, in.second = first, second
}

// watch handles signals until done is closed.
func (in *interrupts) watch(signals <-chan os.Signal, done <-chan struct{}) {
	for {
		select {
		case <-done:
			return
		case sig := <-signals:
			if in.interrupt(sig) {
				return
			}
		}
	}
}

// interrupt handles one signal and reports whether it ended the process.
func (in *interrupts) interrupt(sig os.Signal) (exited bool) {
	in.mu.Lock()
	in.count++
	count, out, lead, first, second := in.count, in.out, in.lead, in.first, in.second
	in.mu.Unlock()

	if count == 1 {
		if first != "" {
			fmt.Fprintf(out, "%s%s\n", lead, first)
		}
		in.cancel(fmt.Errorf("%w by %v", errInterrupted, sig))
		return false
	}
	msg := "interrupt: exiting immediately"
	if second != nil {
		msg = second()
	}
	if msg != "" {
		fmt.Fprintf(in.stderr, "\n%s\n", msg)
	}
	in.exit(ExitInterrupted)
	return true
}
