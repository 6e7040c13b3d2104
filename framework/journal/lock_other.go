//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package journal

import "os"

// Advisory locks are implemented with flock on Linux, macOS and the BSDs, where gameday
// runs. Elsewhere a journal must not be shared between processes.

func lockFile(*os.File, bool) error            { return nil }
func tryLockFile(*os.File, bool) (bool, error) { return true, nil }
func unlockFile(*os.File) error                { return nil }
