package journal

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/gameday-dev/gameday/framework/fault"
)

// State is a journal as read: its entries and where each record stands.
type State struct {
	// Path is the journal file.
	Path string
	// Entries are the journal's lines, in order.
	Entries []Entry
	// Records holds one state per record ID, in the order they were (last) planned.
	Records []RecordState
	// Warnings are problems that did not stop the read (a torn last line).
	Warnings []string

	index map[string]int
}

// RecordState is where one record stands.
type RecordState struct {
	// Record is the record as last planned.
	Record fault.Record
	// Last is the last operation recorded for it.
	Last Op
	// Injected says an injected entry was seen since it was last planned.
	Injected bool
	// Failures are the errors of the recovery attempts since it was last planned.
	Failures []string
	// PlannedAt and LastAt are the times of its last planned and of its last entry.
	PlannedAt, LastAt time.Time
	// Phase is the drill phase last started, PhaseAt when, and PhaseDone whether it
	// ended; Phase is empty for a fault or a drill whose first phase never started.
	Phase     string
	PhaseAt   time.Time
	PhaseDone bool
}

// Outstanding reports whether the record may still be in effect in the cluster.
func (r RecordState) Outstanding() bool { return r.Last != OpReverted && r.Last != OpFinished }

// Lookup returns the state of the record with this ID.
func (s *State) Lookup(id string) (RecordState, bool) {
	i, ok := s.index[id]
	if !ok {
		return RecordState{}, false
	}
	return s.Records[i], true
}

// Outstanding returns the records planned or injected and not reverted (failed
// recoveries included), in the order to revert them: the last planned first, as an
// undo stack, so that two faults on one target are undone back to the original.
func (s *State) Outstanding() []fault.Record {
	var out []fault.Record
	for _, r := range s.Records {
		if r.Outstanding() {
			out = append(out, r.Record)
		}
	}
	slices.Reverse(out)
	return out
}

// OutstandingStates is Outstanding with each record's state (a drill's phase).
func (s *State) OutstandingStates() []RecordState {
	var out []RecordState
	for _, r := range s.Records {
		if r.Outstanding() {
			out = append(out, r)
		}
	}
	slices.Reverse(out)
	return out
}

// Started is the time of the journal's first entry (zero when it is empty).
func (s *State) Started() time.Time {
	if len(s.Entries) == 0 {
		return time.Time{}
	}
	return s.Entries[0].At
}

// CorruptError is a journal line that cannot be read and is not a torn last line.
type CorruptError struct {
	Path string
	Line int
	Err  error
}

// Error names the file and line.
func (e *CorruptError) Error() string {
	return fmt.Sprintf("corrupt journal %s:%d: %v", e.Path, e.Line, e.Err)
}

// Unwrap returns why the line could not be read.
func (e *CorruptError) Unwrap() error { return e.Err }

// Read reads a journal file without changing it. A torn last line (a crash mid-append)
// is ignored with a warning in State.Warnings; any other unreadable line is a
// *CorruptError naming the file and line.
func Read(path string) (*State, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading journal: %w", err)
	}
	defer f.Close()
	// A shared lock keeps a concurrent append from looking torn. Wait for it only
	// briefly: an append holds it for one write, and a stuck writer must not hang a
	// reader, which tolerates a torn tail anyway.
	for deadline := time.Now().Add(time.Second); ; {
		ok, err := tryLockFile(f, false)
		if err != nil || ok {
			if ok {
				defer unlockFile(f)
			}
			break
		}
		if time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	data, err := readAll(f)
	if err != nil {
		return nil, fmt.Errorf("reading journal %s: %w", path, err)
	}
	state, _, err := parse(path, data)
	return state, err
}

func readAll(f *os.File) ([]byte, error) {
	var buf bytes.Buffer
	_, err := buf.ReadFrom(f)
	return buf.Bytes(), err
}

// parse reads journal lines. tornAt is the byte offset of a torn last line, or -1.
// A last line is torn when it does not end in a newline and does not parse: appends
// write a whole line at once, so a crash can only leave a prefix of the last one
// (or, on some file systems, zeros in its place).
func parse(path string, data []byte) (state *State, tornAt int, err error) {
	state = &State{Path: path, index: map[string]int{}}
	tornAt = -1
	for offset, lineNo := 0, 1; offset < len(data); lineNo++ {
		end := bytes.IndexByte(data[offset:], '\n')
		last := end < 0
		if last {
			end = len(data) - offset
		}
		line := data[offset : offset+end]
		start := offset
		offset += end + 1

		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		entry, err := parseLine(line)
		if err != nil {
			if last {
				tornAt = start
				state.Warnings = append(state.Warnings, fmt.Sprintf(
					"%s:%d: ignoring a torn last line (%d bytes), left by a crash mid-write", path, lineNo, len(line)))
				break
			}
			return nil, -1, &CorruptError{Path: path, Line: lineNo, Err: err}
		}
		state.apply(entry)
	}
	return state, tornAt, nil
}

func parseLine(line []byte) (Entry, error) {
	var e Entry
	if bytes.IndexByte(line, 0) >= 0 {
		return Entry{}, errors.New("NUL bytes in line")
	}
	if err := json.Unmarshal(line, &e); err != nil {
		return Entry{}, err
	}
	if !e.Op.valid() {
		return Entry{}, fmt.Errorf("unknown op %q", e.Op)
	}
	if e.Record.ID == "" {
		return Entry{}, errors.New("entry without a record id")
	}
	return e, nil
}

func (s *State) apply(e Entry) {
	s.Entries = append(s.Entries, e)
	i, ok := s.index[e.Record.ID]
	if ok && e.Op == OpPlanned {
		// Planned again: it moves to the top of the undo stack.
		s.Records = slices.Delete(s.Records, i, i+1)
		for j := i; j < len(s.Records); j++ {
			s.index[s.Records[j].Record.ID] = j
		}
		ok = false
	}
	if !ok {
		// A record first seen in a later entry (its planned line lost) still counts.
		i = len(s.Records)
		s.index[e.Record.ID] = i
		s.Records = append(s.Records, RecordState{Record: e.Record, PlannedAt: e.At})
	}
	r := &s.Records[i]
	r.Last = e.Op
	r.LastAt = e.At
	switch e.Op {
	case OpInjected:
		r.Injected = true
	case OpRecoverFailed:
		r.Failures = append(r.Failures, e.Error)
	case OpPhaseStarted:
		r.Record, r.Phase, r.PhaseAt, r.PhaseDone = e.Record, e.Phase, e.At, false
		r.Injected = true
	case OpPhaseDone:
		r.Record, r.Phase, r.PhaseDone = e.Record, e.Phase, true
	}
}
