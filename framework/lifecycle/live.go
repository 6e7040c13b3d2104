package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/gameday-dev/gameday/framework/journal"
	"github.com/gameday-dev/gameday/framework/lease"
)

// Liveness is why a run counts as live: it still holds its journal's run lock, or
// the cluster's run lease names it and has not expired. Records of a live run
// belong to the process running it, and Recover leaves them alone.
type Liveness struct {
	// By is what shows the run is live: LiveByJournalLock or LiveByLease.
	By string
	// Holder is who holds it: the journal lock's text ("pid N on HOST since T") or
	// the lease's holder identity ("user@host pid N, run RUN, scenario NAME").
	Holder string
	// Since is when the holder took the lock or the lease (zero when unknown).
	Since time.Time
	// Renewed and Expires are the lease's last renewal and its expiry (lease only).
	Renewed, Expires time.Time
	// Lease is the lease's namespace/name (lease only).
	Lease string
}

// What shows that a run is live.
const (
	LiveByJournalLock = "journal lock"
	LiveByLease       = "lease"
	// LiveByHolder: the records name a holder process (an e2e session) that is alive,
	// or runs on another host where gameday cannot check it.
	LiveByHolder = "holder process"
)

// String names the holder and since when, for a person deciding what to do.
func (l Liveness) String() string {
	switch l.By {
	case LiveByJournalLock:
		return fmt.Sprintf("its journal is locked by %s", l.Holder)
	case LiveByHolder:
		return fmt.Sprintf("its records are held by %q, which is still running (or runs on another host)", l.Holder)
	case LiveByLease:
		s := fmt.Sprintf("lease %s held by %q", l.Lease, l.Holder)
		if !l.Since.IsZero() {
			s += " since " + l.Since.UTC().Format(time.RFC3339)
		}
		return s + fmt.Sprintf(", renewed %s, expires %s unless renewed",
			l.Renewed.UTC().Format(time.RFC3339), l.Expires.UTC().Format(time.RFC3339))
	}
	return l.Holder
}

// lockSince reads "since T" from a journal lock's holder text.
var lockSince = regexp.MustCompile(`since (\S+)`)

// JournalLockHolder reads who holds the run lock of a run folder, as written by
// journal.Lock ("pid N on HOST since T"), and when they took it. It returns "" when
// the lock file is missing or empty (the lock is free, or its holder wrote nothing).
func JournalLockHolder(runDir string) (holder string, since time.Time) {
	b, err := os.ReadFile(filepath.Join(runDir, journal.LockFileName))
	if err != nil {
		return "", time.Time{}
	}
	holder = strings.TrimSpace(string(b))
	if m := lockSince.FindStringSubmatch(holder); m != nil {
		since, _ = time.Parse(time.RFC3339, m[1])
	}
	return holder, since
}

// journalLive describes a run whose journal lock is held by another process.
func journalLive(runDir string) *Liveness {
	holder, since := JournalLockHolder(runDir)
	if holder == "" {
		holder = "another process"
	}
	return &Liveness{By: LiveByJournalLock, Holder: holder, Since: since}
}

// holderIdentity parses lease.Identity: "user@host pid N, run RUN, scenario NAME".
var holderIdentity = regexp.MustCompile(`^[^@\s]*@(\S+) pid (\d+), run (.+), scenario `)

// LeaseCheck reads the cluster's run lease and reports whether it shows the run
// runID live: the lease names the run and has not expired by its renewTime plus
// its leaseDurationSeconds. A lease whose holder ran on this host under a process
// that no longer exists is not live, even before it expires: that run was killed
// and can never renew it.
type LeaseCheck struct {
	// Namespace and Name locate the lease; "" means lease.DefaultNamespace and
	// lease.DefaultName.
	Namespace, Name string
	// Now is the clock the expiry is checked against; nil means time.Now.
	Now func() time.Time
	// Hostname and ProcessAlive tell whether the holder's process still exists;
	// nil means os.Hostname and a signal-0 check.
	Hostname     func() (string, error)
	ProcessAlive func(pid int) bool
}

func (c LeaseCheck) where() (ns, name string) {
	ns, name = c.Namespace, c.Name
	if ns == "" {
		ns = lease.DefaultNamespace
	}
	if name == "" {
		name = lease.DefaultName
	}
	return ns, name
}

// Live returns the lease's liveness when it shows run runID live, nil when it does
// not (no lease, another run's, expired, or its holder's process is gone).
func (c LeaseCheck) Live(ctx context.Context, client kubernetes.Interface, runID string) (*Liveness, error) {
	ns, name := c.where()
	cur, err := client.CoordinationV1().Leases(ns).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading lease %s/%s: %w", ns, name, err)
	}
	holder := ""
	if cur.Spec.HolderIdentity != nil {
		holder = *cur.Spec.HolderIdentity
	}
	m := holderIdentity.FindStringSubmatch(holder)
	if m == nil || m[3] != runID {
		return nil, nil
	}
	live := &Liveness{By: LiveByLease, Holder: holder, Lease: ns + "/" + name}
	if cur.Spec.AcquireTime != nil {
		live.Since = cur.Spec.AcquireTime.Time
	}
	switch {
	case cur.Spec.RenewTime != nil:
		live.Renewed = cur.Spec.RenewTime.Time
	case cur.Spec.AcquireTime != nil:
		live.Renewed = cur.Spec.AcquireTime.Time
	default:
		return nil, nil // never renewed: expired
	}
	live.Expires = live.Renewed
	if d := cur.Spec.LeaseDurationSeconds; d != nil {
		live.Expires = live.Renewed.Add(time.Duration(*d) * time.Second)
	}
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	if !now().Before(live.Expires) {
		return nil, nil
	}
	if pid, err := strconv.Atoi(m[2]); err == nil && c.holderGone(m[1], pid) {
		return nil, nil
	}
	return live, nil
}

// holderGone reports whether the holder ran on this host and its process is gone.
func (c LeaseCheck) holderGone(host string, pid int) bool {
	hostname := os.Hostname
	if c.Hostname != nil {
		hostname = c.Hostname
	}
	alive := processAlive
	if c.ProcessAlive != nil {
		alive = c.ProcessAlive
	}
	here, err := hostname()
	if err != nil || here == "" || here != host {
		return false // another machine's process: only its lease can tell
	}
	return !alive(pid)
}

// processAlive reports whether a process with this pid exists on this machine.
func processAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	p, err := os.FindProcess(pid)
	if err != nil {
		return false
	}
	err = p.Signal(syscall.Signal(0))
	return err == nil || !errors.Is(err, os.ErrProcessDone)
}
