package journal

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/gameday-dev/gameday/framework/fault"
)

// RunJournal is a run folder whose journal has outstanding records, or could not be
// read (and so may have some).
type RunJournal struct {
	// Dir is the run folder and Path its journal.
	Dir, Path string
	// Started is the time of the journal's first entry.
	Started time.Time
	// Outstanding are the records to revert, in the order to revert them.
	Outstanding []fault.Record
	// Busy says another process held the journal's run lock when it was scanned: a
	// live run or a recover in progress. Lock waits for it.
	Busy bool
	// Warnings are the read's warnings (a torn last line).
	Warnings []string
	// Err is why the journal could not be read; a *CorruptError for a corrupt line.
	Err error
}

// Scan finds every run folder under runsRoot (at any depth; hidden folders are
// skipped) whose journal has outstanding records, oldest first. A journal that cannot
// be read is returned too, with Err set: it may hide outstanding faults, so a recover
// must report it rather than skip it.
func Scan(runsRoot string) ([]RunJournal, error) {
	var found []RunJournal
	err := filepath.WalkDir(runsRoot, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if path == runsRoot {
				return err
			}
			// An unreadable folder may hide a journal: report it, do not skip it.
			found = append(found, RunJournal{Dir: path, Err: fmt.Errorf("reading %s: %w", path, err)})
			return nil
		}
		if d.IsDir() {
			if path != runsRoot && strings.HasPrefix(d.Name(), ".") {
				return filepath.SkipDir
			}
			return nil
		}
		if d.Name() != FileName || !d.Type().IsRegular() {
			return nil
		}
		run := RunJournal{Dir: filepath.Dir(path), Path: path}
		run.Busy = lockBusy(filepath.Join(run.Dir, LockFileName))
		state, err := Read(path)
		if err != nil {
			run.Err = err
			if info, statErr := d.Info(); statErr == nil {
				run.Started = info.ModTime()
			}
			found = append(found, run)
			return nil
		}
		run.Outstanding = state.Outstanding()
		if len(run.Outstanding) == 0 {
			return nil
		}
		run.Started = state.Started()
		run.Warnings = state.Warnings
		found = append(found, run)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("scanning %s for journals: %w", runsRoot, err)
	}
	slices.SortStableFunc(found, func(a, b RunJournal) int {
		if c := a.Started.Compare(b.Started); c != 0 {
			return c
		}
		return strings.Compare(a.Dir, b.Dir)
	})
	return found, nil
}

// lockBusy reports whether another process holds the run lock in the lock file.
func lockBusy(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		// No lock file: nobody ever locked it. Unreadable: let Lock find out.
		return false
	}
	defer f.Close()
	ok, err := tryLockFile(f, false)
	if err != nil {
		return false
	}
	if ok {
		_ = unlockFile(f)
		return false
	}
	return true
}
