// Package journal is gameday's undo journal: a durable, append-only log, kept in each
// run folder, of the faults a run planned, injected and reverted, so that
// `gameday recover` can revert whatever a crashed run left behind.
//
// The journal is a JSON-lines file (journal.jsonl), one Entry per line. Every append
// is written and fsync'ed before the call returns, and the caller changes the cluster
// only after that, so the journal is never behind the cluster. A run injects a fault as
//
//	j.Planned(rec)   // durable before anything changes
//	inj.Inject(...)  // may crash half-way: the record is already outstanding
//	j.Injected(rec.ID)
//	...
//	inj.Recover(...)
//	j.Reverted(rec.ID) // or j.RecoverFailed(rec.ID, err)
//
// Appends from several goroutines or processes are serialised by an advisory lock
// (flock) on the journal file; a whole recover pass, or a whole run, holds a second
// lock (Lock/Unlock) so that a run and a recover, or two recovers, never act on the
// same records at once. A line torn by a crash mid-write can only be the last one: it
// is ignored with a warning on read and cut off before the next append.
package journal

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/gameday-dev/gameday/framework/fault"
)

// FileName is the journal's file name inside a run folder.
const FileName = "journal.jsonl"

// LockFileName is the file inside a run folder that Lock holds; it records who holds it.
const LockFileName = "journal.lock"

// Op is what an entry says happened to its record.
type Op string

// The journal's operations, in the order they happen to a record.
const (
	// OpPlanned: the record is about to be injected. Written before the cluster changes.
	OpPlanned Op = "planned"
	// OpInjected: the injector returned without error.
	OpInjected Op = "injected"
	// OpReverted: the record was recovered; it is no longer outstanding.
	OpReverted Op = "reverted"
	// OpRecoverFailed: a recovery attempt failed; the record is still outstanding.
	OpRecoverFailed Op = "recoverFailed"
	// OpPhaseStarted: a drill's phase (Entry.Phase) is about to start: the
	// checkpoint a crash is recovered from. It carries the record as it is now.
	OpPhaseStarted Op = "phaseStarted"
	// OpPhaseDone: a drill's phase ended without error; it carries the record with
	// what the phase added to its restore data.
	OpPhaseDone Op = "phaseDone"
	// OpFinished: a drill ran (or was rolled forward) to its end; like OpReverted,
	// the record is no longer outstanding.
	OpFinished Op = "finished"
)

func (o Op) valid() bool {
	switch o {
	case OpPlanned, OpInjected, OpReverted, OpRecoverFailed, OpPhaseStarted, OpPhaseDone, OpFinished:
		return true
	}
	return false
}

// Entry is one line of the journal. Every entry carries the whole record, so each
// line can be understood on its own.
type Entry struct {
	Op     Op           `json:"op"`
	At     time.Time    `json:"at"`
	Record fault.Record `json:"record"`
	// Error is the recovery error of an OpRecoverFailed entry.
	Error string `json:"error,omitempty"`
	// Phase is the drill phase of an OpPhaseStarted or OpPhaseDone entry.
	Phase string `json:"phase,omitempty"`
}

// ErrClosed is returned by a Journal's methods after Close.
var ErrClosed = errors.New("journal is closed")

// Journal appends to the journal of one run folder. Its methods are safe for
// concurrent use, and other processes may append to the same file at the same time.
type Journal struct {
	dir  string
	path string
	log  *slog.Logger

	// mu serialises everything that reads, writes or flocks file: flock locks belong
	// to the open file, so goroutines sharing it must take turns.
	mu   sync.Mutex
	file *os.File

	// passMu guards the run lock (Lock/Unlock).
	passMu   sync.Mutex
	lockFile *os.File
	locked   bool
	closed   bool
}

// Option configures Open.
type Option func(*Journal)

// WithLogger sends the journal's warnings (a torn last line cut off, for example) to
// logger. By default they are discarded.
func WithLogger(logger *slog.Logger) Option {
	return func(j *Journal) {
		if logger != nil {
			j.log = logger
		}
	}
}

// Open opens the journal of a run folder for appending, creating the folder and the
// journal when they do not exist. Creating either is made durable (the parent folder
// is fsync'ed) before Open returns. A journal with a corrupt line other than a torn
// last one is an error: appending to it could hide outstanding faults.
func Open(runDir string, opts ...Option) (*Journal, error) {
	j := &Journal{
		dir:  runDir,
		path: filepath.Join(runDir, FileName),
		log:  slog.New(slog.DiscardHandler),
	}
	for _, opt := range opts {
		opt(j)
	}
	if err := ensureDir(runDir); err != nil {
		return nil, err
	}
	f, created, err := openOrCreate(j.path)
	if err != nil {
		return nil, err
	}
	if created {
		if err := errors.Join(f.Sync(), syncDir(runDir)); err != nil {
			f.Close()
			return nil, fmt.Errorf("making journal %s durable: %w", j.path, err)
		}
	}
	j.file = f
	// Read it once now so that a corrupt journal is reported before a run starts,
	// and a torn tail is repaired.
	if _, err := j.State(); err != nil {
		f.Close()
		return nil, err
	}
	return j, nil
}

// ensureDir creates dir when missing and fsyncs its parent so the new folder survives
// a crash.
func ensureDir(dir string) error {
	if info, err := os.Stat(dir); err == nil {
		if !info.IsDir() {
			return fmt.Errorf("run folder %s is not a directory", dir)
		}
		return nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("run folder: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("creating run folder: %w", err)
	}
	if err := syncDir(filepath.Dir(filepath.Clean(dir))); err != nil {
		return fmt.Errorf("making run folder %s durable: %w", dir, err)
	}
	return nil
}

func openOrCreate(path string) (f *os.File, created bool, err error) {
	f, err = os.OpenFile(path, os.O_RDWR|os.O_APPEND|os.O_CREATE|os.O_EXCL, 0o600)
	if err == nil {
		return f, true, nil
	}
	if !errors.Is(err, fs.ErrExist) {
		return nil, false, fmt.Errorf("creating journal: %w", err)
	}
	f, err = os.OpenFile(path, os.O_RDWR|os.O_APPEND, 0)
	if err != nil {
		return nil, false, fmt.Errorf("opening journal: %w", err)
	}
	return f, false, nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	return errors.Join(d.Sync(), d.Close())
}

// Dir is the run folder the journal belongs to.
func (j *Journal) Dir() string { return j.dir }

// Path is the journal file.
func (j *Journal) Path() string { return j.path }

// Planned durably records that rec is about to be injected. Call it before the
// cluster changes, and inject only when it returns nil. Planning a record whose ID is
// still outstanding is an error: its saved restore data would be overwritten by a
// capture of the already-faulted state. A zero PlannedAt is set to now.
func (j *Journal) Planned(rec fault.Record) error {
	if rec.ID == "" || rec.Kind == "" || rec.Target == "" {
		return fmt.Errorf("journal %s: planned record needs an id, kind and target: %+v", j.path, rec)
	}
	if rec.PlannedAt.IsZero() {
		rec.PlannedAt = time.Now().UTC()
	}
	return j.append(OpPlanned, rec.ID, &rec, "")
}

// Injected records that the record with this ID was injected.
func (j *Journal) Injected(id string) error { return j.append(OpInjected, id, nil, "") }

// Reverted records that the record with this ID was recovered; it is no longer
// outstanding.
func (j *Journal) Reverted(id string) error { return j.append(OpReverted, id, nil, "") }

// RecoverFailed records a failed recovery attempt; the record stays outstanding.
func (j *Journal) RecoverFailed(id string, cause error) error {
	text := "unknown error"
	if cause != nil {
		text = cause.Error()
	}
	return j.append(OpRecoverFailed, id, nil, text)
}

// PhaseStarted durably records that a drill's phase is about to start, with the
// record as it is now. Call it before the phase changes anything.
func (j *Journal) PhaseStarted(rec fault.Record, phase string) error {
	return j.appendPhase(OpPhaseStarted, rec, phase)
}

// PhaseDone records that a drill's phase ended, with the record as the phase left
// it (what it added to the restore data).
func (j *Journal) PhaseDone(rec fault.Record, phase string) error {
	return j.appendPhase(OpPhaseDone, rec, phase)
}

// Finished records that a drill ran to its end; the record is no longer outstanding.
func (j *Journal) Finished(id string) error { return j.append(OpFinished, id, nil, "") }

func (j *Journal) appendPhase(op Op, rec fault.Record, phase string) error {
	if phase == "" {
		return fmt.Errorf("journal %s: %s needs a phase name", j.path, op)
	}
	return j.appendEntry(op, rec.ID, &rec, "", phase)
}

// append writes one entry under the file lock: it re-reads the journal (other
// processes may have appended), checks the entry against it, writes it and fsyncs.
func (j *Journal) append(op Op, id string, rec *fault.Record, errText string) error {
	return j.appendEntry(op, id, rec, errText, "")
}

func (j *Journal) appendEntry(op Op, id string, rec *fault.Record, errText, phase string) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.file == nil {
		return fmt.Errorf("journal %s: %w", j.path, ErrClosed)
	}
	if err := lockFile(j.file, true); err != nil {
		return fmt.Errorf("locking journal %s: %w", j.path, err)
	}
	defer unlockFile(j.file)

	state, err := j.loadLocked()
	if err != nil {
		return err
	}
	switch op {
	case OpPlanned:
		if prev, ok := state.Lookup(id); ok && prev.Outstanding() {
			return fmt.Errorf("journal %s: record %q is already outstanding (last %s); recover it before planning it again", j.path, id, prev.Last)
		}
	case OpPhaseStarted, OpPhaseDone:
		if prev, ok := state.Lookup(id); !ok || !prev.Outstanding() {
			return fmt.Errorf("journal %s: no outstanding record %q for phase %s", j.path, id, phase)
		}
	default:
		prev, ok := state.Lookup(id)
		if !ok {
			return fmt.Errorf("journal %s: no planned record %q to mark %s", j.path, id, op)
		}
		rec = &prev.Record
	}
	line, err := json.Marshal(Entry{Op: op, At: time.Now().UTC(), Record: *rec, Error: errText, Phase: phase})
	if err != nil {
		return fmt.Errorf("journal %s: encoding entry: %w", j.path, err)
	}
	line = append(line, '\n')
	if _, err := j.file.Write(line); err != nil {
		return fmt.Errorf("writing journal %s: %w", j.path, err)
	}
	if err := j.file.Sync(); err != nil {
		return fmt.Errorf("syncing journal %s: %w", j.path, err)
	}
	return nil
}

// loadLocked reads the whole journal; the caller holds mu and the file lock
// (exclusive, since a torn tail is repaired here).
func (j *Journal) loadLocked() (*State, error) {
	info, err := j.file.Stat()
	if err != nil {
		return nil, fmt.Errorf("reading journal %s: %w", j.path, err)
	}
	data := make([]byte, info.Size())
	if _, err := j.file.ReadAt(data, 0); err != nil {
		return nil, fmt.Errorf("reading journal %s: %w", j.path, err)
	}
	state, tornAt, err := parse(j.path, data)
	if err != nil {
		return nil, err
	}
	switch {
	case tornAt >= 0:
		// A crash cut the last append short. Cut it off so the next line starts
		// cleanly; the cluster was not changed after it (its caller never got nil).
		j.log.Warn("journal: cutting off a torn last line left by a crash", "path", j.path, "bytes", len(data)-tornAt)
		if err := j.file.Truncate(int64(tornAt)); err != nil {
			return nil, fmt.Errorf("repairing journal %s: %w", j.path, err)
		}
		if err := j.file.Sync(); err != nil {
			return nil, fmt.Errorf("repairing journal %s: %w", j.path, err)
		}
	case len(data) > 0 && data[len(data)-1] != '\n':
		// A complete last line without its newline: end it before appending.
		if _, err := j.file.Write([]byte{'\n'}); err != nil {
			return nil, fmt.Errorf("repairing journal %s: %w", j.path, err)
		}
	}
	return state, nil
}

// State reads the journal as it is now on disk, including what other processes
// appended since Open.
func (j *Journal) State() (*State, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.file == nil {
		return nil, fmt.Errorf("journal %s: %w", j.path, ErrClosed)
	}
	if err := lockFile(j.file, true); err != nil {
		return nil, fmt.Errorf("locking journal %s: %w", j.path, err)
	}
	defer unlockFile(j.file)
	return j.loadLocked()
}

// Outstanding returns the records planned or injected and not reverted, in the order
// to revert them (the last planned first), read from disk so that what another
// process reverted is not returned. A planned record is outstanding even when it was
// never marked injected: the crash may have come mid-inject, and recovery is
// idempotent.
func (j *Journal) Outstanding() ([]fault.Record, error) {
	state, err := j.State()
	if err != nil {
		return nil, err
	}
	return state.Outstanding(), nil
}

// OutstandingStates is Outstanding with each record's state, read from disk.
func (j *Journal) OutstandingStates() ([]RecordState, error) {
	state, err := j.State()
	if err != nil {
		return nil, err
	}
	return state.OutstandingStates(), nil
}

// Lock takes the run lock, waiting until it is free or ctx ends. A run holds it from
// before its first Planned until Close; a recover pass holds it from before reading
// Outstanding until it has recorded every result. So a recover waits for a live run to
// finish, and of two recovers the second finds nothing to do. The lock is released
// when the process dies, so a crashed run never blocks its recovery.
//
// Lock is not reentrant: locking a journal that this Journal already locked is an
// error. Another Journal on the same folder, even in this process, waits.
func (j *Journal) Lock(ctx context.Context) error {
	j.passMu.Lock()
	defer j.passMu.Unlock()
	if j.closed {
		return fmt.Errorf("journal %s: %w", j.path, ErrClosed)
	}
	if j.locked {
		return fmt.Errorf("journal %s: already locked by this Journal", j.path)
	}
	if j.lockFile == nil {
		f, err := os.OpenFile(filepath.Join(j.dir, LockFileName), os.O_RDWR|os.O_CREATE, 0o644)
		if err != nil {
			return fmt.Errorf("opening journal lock: %w", err)
		}
		j.lockFile = f
	}
	wait := 5 * time.Millisecond
	for {
		ok, err := tryLockFile(j.lockFile, true)
		if err != nil {
			return fmt.Errorf("locking journal %s: %w", j.path, err)
		}
		if ok {
			break
		}
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return fmt.Errorf("journal %s is locked by %s: %w", j.path, describeHolder(j.lockFile), ctx.Err())
		case <-timer.C:
		}
		wait = min(wait*2, 250*time.Millisecond)
	}
	j.locked = true
	// Say who holds it, for the error of whoever waits. Best effort: the lock is
	// what counts, not this text.
	host, _ := os.Hostname()
	holder := fmt.Sprintf("pid %d on %s since %s", os.Getpid(), host, time.Now().UTC().Format(time.RFC3339))
	if err := j.lockFile.Truncate(0); err == nil {
		_, _ = j.lockFile.WriteAt([]byte(holder+"\n"), 0)
	}
	return nil
}

// Unlock releases the run lock; it is a no-op when the lock is not held.
func (j *Journal) Unlock() error {
	j.passMu.Lock()
	defer j.passMu.Unlock()
	return j.unlockLocked()
}

func (j *Journal) unlockLocked() error {
	if !j.locked {
		return nil
	}
	j.locked = false
	_ = j.lockFile.Truncate(0)
	if err := unlockFile(j.lockFile); err != nil {
		return fmt.Errorf("unlocking journal %s: %w", j.path, err)
	}
	return nil
}

// describeHolder reads what the holder of a lock file wrote into it.
func describeHolder(f *os.File) string {
	buf := make([]byte, 256)
	n, _ := f.ReadAt(buf, 0)
	if s := strings.TrimSpace(string(buf[:n])); s != "" {
		return s
	}
	return "another process"
}

// Close releases the run lock if held and closes the journal. Everything appended is
// already durable. Close is idempotent.
func (j *Journal) Close() error {
	j.passMu.Lock()
	var errs []error
	if !j.closed {
		j.closed = true
		errs = append(errs, j.unlockLocked())
		if j.lockFile != nil {
			errs = append(errs, j.lockFile.Close())
			j.lockFile = nil
		}
	}
	j.passMu.Unlock()

	j.mu.Lock()
	defer j.mu.Unlock()
	if j.file != nil {
		errs = append(errs, j.file.Close())
		j.file = nil
	}
	return errors.Join(errs...)
}
