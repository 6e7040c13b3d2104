// Package lease lets one game day at a time act on a cluster. A run holds a
// coordination.k8s.io/v1 Lease (gameday-run in kube-system by default) naming who runs
// what, renews it while it runs and deletes it when done. A second run finds the lease
// held and refuses, naming the holder; a lease left by a crashed run expires after its
// duration and is then taken over.
//
// Every write carries the resourceVersion it was based on, so of two runs racing for
// the lease the API server lets exactly one win.
package lease

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/user"
	"sync"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	coordinationclient "k8s.io/client-go/kubernetes/typed/coordination/v1"
)

// Defaults for Acquire.
const (
	DefaultName          = "gameday-run"
	DefaultNamespace     = "kube-system"
	DefaultDuration      = 60 * time.Second
	DefaultRenewInterval = 15 * time.Second
)

// ManagedByLabel marks the leases gameday creates.
const ManagedByLabel = "app.kubernetes.io/managed-by"

// maxAttempts bounds how often Acquire re-reads a lease that changed under it.
const maxAttempts = 5

// Identity is the holder identity of a run: "user@host pid N, run RUN, scenario NAME".
func Identity(runID, scenario string) string {
	name := os.Getenv("USER")
	if u, err := user.Current(); err == nil && u.Username != "" {
		name = u.Username
	}
	if name == "" {
		name = "unknown"
	}
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "unknown-host"
	}
	return fmt.Sprintf("%s@%s pid %d, run %s, scenario %s", name, host, os.Getpid(), runID, scenario)
}

// HeldError says another live run holds the cluster's lease.
type HeldError struct {
	// Namespace and Name locate the lease.
	Namespace, Name string
	// Holder is the holder's identity.
	Holder string
	// RenewedAt is when the holder last renewed it, and ExpiresAt when it expires
	// unless renewed again.
	RenewedAt, ExpiresAt time.Time
	// Now is when the lease was read.
	Now time.Time
}

// Error names the holder and when the lease expires.
func (e *HeldError) Error() string {
	ago := e.Now.Sub(e.RenewedAt).Round(time.Second)
	renewed := fmt.Sprintf("renewed %s ago", ago)
	if ago <= 0 {
		renewed = "renewed just now"
	}
	return fmt.Sprintf("cluster is busy: held by %q until %s (%s; lease %s/%s)",
		e.Holder, e.ExpiresAt.Local().Format(time.TimeOnly), renewed, e.Namespace, e.Name)
}

// Option configures Acquire.
type Option func(*config)

type config struct {
	namespace, name string
	duration, renew time.Duration
	log             *slog.Logger
	now             func() time.Time
}

// WithNamespace sets the lease's namespace (default kube-system).
func WithNamespace(namespace string) Option { return func(c *config) { c.namespace = namespace } }

// WithName sets the lease's name (default gameday-run).
func WithName(name string) Option { return func(c *config) { c.name = name } }

// WithDuration sets how long the lease lasts without renewal (default 60s): how long
// a crashed run keeps others out.
func WithDuration(d time.Duration) Option { return func(c *config) { c.duration = d } }

// WithRenewInterval sets how often the lease is renewed (default 15s); it must be
// shorter than the duration.
func WithRenewInterval(d time.Duration) Option { return func(c *config) { c.renew = d } }

// WithLogger receives takeovers, renewal failures and the loss of the lease (default:
// discarded).
func WithLogger(logger *slog.Logger) Option { return func(c *config) { c.log = logger } }

// Lease is a held lease, renewed in the background until Release or the end of the
// context given to Acquire.
type Lease struct {
	cfg      config
	leases   coordinationclient.LeaseInterface
	identity string

	stop     chan struct{}
	stopOnce sync.Once
	done     chan struct{}

	lost     chan struct{}
	mu       sync.Mutex
	lostErr  error
	released bool
}

// Acquire takes the lease for identity (see Identity). It returns a *HeldError when
// another holder's lease has not expired, and takes over an expired one. The lease is
// renewed until Release or until ctx ends: pass a context that outlives the recovery
// of the run's faults, not the one Ctrl-C cancels, or another run could start while
// this one is still reverting.
func Acquire(ctx context.Context, client kubernetes.Interface, identity string, opts ...Option) (*Lease, error) {
	cfg := config{
		namespace: DefaultNamespace, name: DefaultName,
		duration: DefaultDuration, renew: DefaultRenewInterval,
		now: time.Now,
	}
	for _, opt := range opts {
		opt(&cfg)
	}
	if cfg.log == nil {
		cfg.log = slog.New(slog.DiscardHandler)
	}
	if identity == "" {
		return nil, errors.New("lease: empty holder identity")
	}
	if cfg.duration < time.Second || cfg.renew <= 0 || cfg.renew >= cfg.duration {
		return nil, fmt.Errorf("lease: renew interval %s must be positive and shorter than the duration %s (at least 1s)", cfg.renew, cfg.duration)
	}
	l := &Lease{
		cfg:      cfg,
		leases:   client.CoordinationV1().Leases(cfg.namespace),
		identity: identity,
		stop:     make(chan struct{}),
		done:     make(chan struct{}),
		lost:     make(chan struct{}),
	}
	if err := l.acquire(ctx); err != nil {
		return nil, err
	}
	go l.renewLoop(ctx)
	return l, nil
}

func (l *Lease) where() string { return l.cfg.namespace + "/" + l.cfg.name }

func (l *Lease) acquire(ctx context.Context) error {
	for range maxAttempts {
		cur, err := l.leases.Get(ctx, l.cfg.name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			_, err = l.leases.Create(ctx, l.fresh(), metav1.CreateOptions{})
			if apierrors.IsAlreadyExists(err) {
				continue // someone created it first: read theirs
			}
			if err != nil {
				return fmt.Errorf("creating lease %s: %w", l.where(), err)
			}
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading lease %s: %w", l.where(), err)
		}

		now := l.cfg.now()
		holder := holderOf(cur)
		renewed, expires := expiry(cur)
		if holder != "" && holder != l.identity {
			if now.Before(expires) {
				return &HeldError{Namespace: l.cfg.namespace, Name: l.cfg.name, Holder: holder, RenewedAt: renewed, ExpiresAt: expires, Now: now}
			}
			l.cfg.log.Warn("lease: taking over an expired lease", "lease", l.where(), "holder", holder, "expired", expires)
		}

		next := cur.DeepCopy()
		if holder != l.identity {
			transitions := int32(0)
			if next.Spec.LeaseTransitions != nil {
				transitions = *next.Spec.LeaseTransitions
			}
			if holder != "" {
				transitions++
			}
			next.Spec.LeaseTransitions = &transitions
			next.Spec.AcquireTime = micro(now)
		}
		l.fill(next, now)
		// Update sends cur's resourceVersion: if anyone wrote in between, it conflicts.
		_, err = l.leases.Update(ctx, next, metav1.UpdateOptions{})
		if apierrors.IsConflict(err) {
			continue // someone else wrote it: see who
		}
		if err != nil {
			return fmt.Errorf("taking lease %s: %w", l.where(), err)
		}
		return nil
	}
	return fmt.Errorf("taking lease %s: it kept changing after %d attempts", l.where(), maxAttempts)
}

// fresh is a new lease held by us.
func (l *Lease) fresh() *coordinationv1.Lease {
	now := l.cfg.now()
	zero := int32(0)
	lease := &coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{
			Name: l.cfg.name, Namespace: l.cfg.namespace,
			Labels: map[string]string{ManagedByLabel: "gameday"},
		},
		Spec: coordinationv1.LeaseSpec{AcquireTime: micro(now), LeaseTransitions: &zero},
	}
	l.fill(lease, now)
	return lease
}

// fill sets the fields every acquire and renewal writes.
func (l *Lease) fill(lease *coordinationv1.Lease, now time.Time) {
	identity := l.identity
	seconds := int32(l.cfg.duration / time.Second)
	lease.Spec.HolderIdentity = &identity
	lease.Spec.LeaseDurationSeconds = &seconds
	lease.Spec.RenewTime = micro(now)
}

func micro(t time.Time) *metav1.MicroTime {
	m := metav1.NewMicroTime(t)
	return &m
}

func holderOf(lease *coordinationv1.Lease) string {
	if lease.Spec.HolderIdentity == nil {
		return ""
	}
	return *lease.Spec.HolderIdentity
}

// expiry returns when a lease was last renewed (or acquired) and when it expires. A
// lease without either time, or without a duration, is already expired. The times
// come from the holder's clock: clocks skewed by more than the duration could let a
// live lease look expired.
func expiry(lease *coordinationv1.Lease) (renewed, expires time.Time) {
	switch {
	case lease.Spec.RenewTime != nil:
		renewed = lease.Spec.RenewTime.Time
	case lease.Spec.AcquireTime != nil:
		renewed = lease.Spec.AcquireTime.Time
	default:
		return time.Time{}, time.Time{}
	}
	if lease.Spec.LeaseDurationSeconds == nil {
		return renewed, renewed
	}
	return renewed, renewed.Add(time.Duration(*lease.Spec.LeaseDurationSeconds) * time.Second)
}

// Identity is the holder identity this lease was acquired with.
func (l *Lease) Identity() string { return l.identity }

// Lost is closed when the lease is lost while the run still wants it: taken over by
// another holder, deleted, or not renewed before it expired. A runner should stop
// injecting new faults when it is (and still revert the ones it injected).
func (l *Lease) Lost() <-chan struct{} { return l.lost }

// Err says why the lease was lost, or nil.
func (l *Lease) Err() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lostErr
}

func (l *Lease) lose(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.lostErr != nil {
		return
	}
	l.lostErr = err
	l.cfg.log.Error("lease: lost the cluster's run lease", "lease", l.where(), "error", err)
	close(l.lost)
}

// errNotOurs is a renewal that found the lease held by someone else, or gone.
var errNotOurs = errors.New("lease is no longer ours")

func (l *Lease) renewLoop(ctx context.Context) {
	defer close(l.done)
	ticker := time.NewTicker(l.cfg.renew)
	defer ticker.Stop()
	lastRenewed := l.cfg.now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-l.stop:
			return
		case <-ticker.C:
		}
		err := l.renew(ctx)
		switch {
		case err == nil:
			lastRenewed = l.cfg.now()
		case errors.Is(err, errNotOurs):
			l.lose(err)
			return
		case ctx.Err() != nil:
			return
		default:
			if l.cfg.now().Sub(lastRenewed) >= l.cfg.duration {
				l.lose(fmt.Errorf("lease %s expired: not renewed for %s: %w", l.where(), l.cfg.duration, err))
				return
			}
			l.cfg.log.Warn("lease: renewal failed, will retry", "lease", l.where(), "error", err)
		}
	}
}

// renew extends the lease if it is still ours.
func (l *Lease) renew(ctx context.Context) error {
	cur, err := l.leases.Get(ctx, l.cfg.name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return fmt.Errorf("lease %s was deleted: %w", l.where(), errNotOurs)
	}
	if err != nil {
		return fmt.Errorf("reading lease %s: %w", l.where(), err)
	}
	if holder := holderOf(cur); holder != l.identity {
		return fmt.Errorf("lease %s is now held by %q: %w", l.where(), holder, errNotOurs)
	}
	next := cur.DeepCopy()
	l.fill(next, l.cfg.now())
	if _, err := l.leases.Update(ctx, next, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("renewing lease %s: %w", l.where(), err)
	}
	return nil
}

// Abandon stops renewing and leaves the lease in place, to expire after its
// duration: what a run does when it leaves something broken, so that no other run
// starts on the cluster before `gameday recover` has settled it (recover frees the
// lease of a dead run it recovered). It is idempotent; Release after it is a no-op.
func (l *Lease) Abandon() {
	l.stopOnce.Do(func() { close(l.stop) })
	<-l.done
	l.mu.Lock()
	l.released = true
	l.mu.Unlock()
}

// Release stops renewing and deletes the lease if it is still ours; a lease taken
// over or already gone is left alone. It is idempotent. Give it a context that is not
// cancelled yet (on Ctrl-C, a fresh one with a timeout): if the delete fails, the
// lease still expires after its duration.
func (l *Lease) Release(ctx context.Context) error {
	l.stopOnce.Do(func() { close(l.stop) })
	<-l.done
	l.mu.Lock()
	if l.released {
		l.mu.Unlock()
		return nil
	}
	l.released = true
	l.mu.Unlock()

	for range maxAttempts {
		cur, err := l.leases.Get(ctx, l.cfg.name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("releasing lease %s: %w", l.where(), err)
		}
		if holder := holderOf(cur); holder != l.identity {
			l.cfg.log.Warn("lease: not deleting a lease held by another run", "lease", l.where(), "holder", holder)
			return nil
		}
		// Delete only what we read: a renewal or takeover in between conflicts.
		var pre metav1.Preconditions
		if cur.UID != "" {
			pre.UID = &cur.UID
		}
		if cur.ResourceVersion != "" {
			pre.ResourceVersion = &cur.ResourceVersion
		}
		err = l.leases.Delete(ctx, l.cfg.name, metav1.DeleteOptions{Preconditions: &pre})
		if apierrors.IsConflict(err) {
			continue // changed since read: check the holder again
		}
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("releasing lease %s: %w", l.where(), err)
		}
		return nil
	}
	return fmt.Errorf("releasing lease %s: it kept changing after %d attempts", l.where(), maxAttempts)
}
