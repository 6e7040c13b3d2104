package lease

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

const (
	us    = "dev@laptop pid 1, run node-loss-20261122T010000Z, scenario node-loss"
	other = "ci@runner-3 pid 4242, run node-loss-20261122T010203Z, scenario node-loss"
)

var (
	leasesGVR = coordinationv1.SchemeGroupVersion.WithResource("leases")
	t0        = time.Date(2026, 11, 22, 1, 3, 0, 0, time.UTC)
)

func withClock(now func() time.Time) Option { return func(c *config) { c.now = now } }

func at(t time.Time) Option { return withClock(func() time.Time { return t }) }

// apiServer is a fake clientset that, like the API server and unlike the plain fake,
// gives leases resourceVersions and UIDs and refuses writes and deletes based on a
// stale resourceVersion.
type apiServer struct {
	*fake.Clientset
	mu      sync.Mutex
	version int
}

func newClient(objects ...runtime.Object) *apiServer {
	s := &apiServer{Clientset: fake.NewClientset(objects...), version: 100}
	tracker := s.Tracker()
	s.PrependReactor("create", "leases", func(a k8stesting.Action) (bool, runtime.Object, error) {
		obj := a.(k8stesting.CreateAction).GetObject().(*coordinationv1.Lease)
		return true, obj, s.put(obj, true)
	})
	s.PrependReactor("update", "leases", func(a k8stesting.Action) (bool, runtime.Object, error) {
		obj := a.(k8stesting.UpdateAction).GetObject().(*coordinationv1.Lease)
		return true, obj, s.put(obj, false)
	})
	s.PrependReactor("delete", "leases", func(a k8stesting.Action) (bool, runtime.Object, error) {
		s.mu.Lock()
		defer s.mu.Unlock()
		d := a.(k8stesting.DeleteAction)
		obj, err := tracker.Get(leasesGVR, a.GetNamespace(), d.GetName())
		if err != nil {
			return true, nil, err
		}
		cur := obj.(*coordinationv1.Lease)
		if p := d.GetDeleteOptions().Preconditions; p != nil {
			if (p.UID != nil && *p.UID != cur.UID) || (p.ResourceVersion != nil && *p.ResourceVersion != cur.ResourceVersion) {
				return true, nil, apierrors.NewConflict(leasesGVR.GroupResource(), d.GetName(), errors.New("precondition failed"))
			}
		}
		return true, nil, tracker.Delete(leasesGVR, a.GetNamespace(), d.GetName())
	})
	return s
}

// put creates or updates a lease as the API server would; obj gets its new
// resourceVersion. Tests also call it directly to play another run: reactors must
// not call the clientset, whose lock they run under.
func (s *apiServer) put(obj *coordinationv1.Lease, create bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	tracker := s.Tracker()
	s.version++
	if create {
		obj.ResourceVersion = strconv.Itoa(s.version)
		obj.UID = types.UID("uid-" + obj.ResourceVersion)
		return tracker.Create(leasesGVR, obj.DeepCopy(), obj.Namespace)
	}
	cur, err := tracker.Get(leasesGVR, obj.Namespace, obj.Name)
	if err != nil {
		return err
	}
	if obj.ResourceVersion != cur.(*coordinationv1.Lease).ResourceVersion {
		return apierrors.NewConflict(leasesGVR.GroupResource(), obj.Name, errors.New("the object has been modified"))
	}
	obj.ResourceVersion = strconv.Itoa(s.version)
	obj.UID = cur.(*coordinationv1.Lease).UID
	return tracker.Update(leasesGVR, obj.DeepCopy(), obj.Namespace)
}

// sneakIn plays another run taking the lease (or creating it) right now.
func (s *apiServer) sneakIn(holder string, renewed time.Time) error {
	obj, err := s.Tracker().Get(leasesGVR, DefaultNamespace, DefaultName)
	if apierrors.IsNotFound(err) {
		return s.put(existing(holder, renewed, 60), true)
	}
	if err != nil {
		return err
	}
	lease := obj.(*coordinationv1.Lease).DeepCopy()
	lease.Spec.HolderIdentity = &holder
	lease.Spec.RenewTime = micro(renewed)
	return s.put(lease, false)
}

// existing is a lease as another run left it.
func existing(holder string, renewed time.Time, seconds int32) *coordinationv1.Lease {
	transitions := int32(3)
	l := &coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{Name: DefaultName, Namespace: DefaultNamespace, ResourceVersion: "7", UID: "uid-old"},
		Spec:       coordinationv1.LeaseSpec{LeaseTransitions: &transitions},
	}
	if holder != "" {
		l.Spec.HolderIdentity = &holder
	}
	if !renewed.IsZero() {
		l.Spec.RenewTime = micro(renewed)
	}
	if seconds > 0 {
		l.Spec.LeaseDurationSeconds = &seconds
	}
	return l
}

func get(t *testing.T, cs *apiServer, ns, name string) *coordinationv1.Lease {
	t.Helper()
	l, err := cs.CoordinationV1().Leases(ns).Get(context.Background(), name, metav1.GetOptions{})
	assert.NilError(t, err)
	return l
}

func acquire(t *testing.T, cs *apiServer, identity string, opts ...Option) (*Lease, error) {
	t.Helper()
	l, err := Acquire(context.Background(), cs, identity, opts...)
	if l != nil {
		t.Cleanup(func() { l.Release(context.Background()) })
	}
	return l, err
}

func TestAcquire(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name            string
		existing        *coordinationv1.Lease
		opts            []Option
		wantErr         string
		wantTransitions int32
		wantNamespace   string
		wantName        string
	}{
		{name: "no lease yet", wantTransitions: 0},
		{
			name:          "custom namespace and name",
			opts:          []Option{WithNamespace("gameday"), WithName("run-lock")},
			wantNamespace: "gameday", wantName: "run-lock",
		},
		{
			name:     "held by a live run",
			existing: existing(other, t0.Add(-5*time.Second), 60),
			wantErr: fmt.Sprintf(`cluster is busy: held by %q until %s (renewed 5s ago; lease kube-system/gameday-run)`,
				other, t0.Add(55*time.Second).Local().Format(time.TimeOnly)),
		},
		{name: "expired lease of a crashed run is taken over", existing: existing(other, t0.Add(-61*time.Second), 60), wantTransitions: 4},
		{name: "expires exactly now", existing: existing(other, t0.Add(-60*time.Second), 60), wantTransitions: 4},
		{name: "released lease without holder", existing: existing("", t0, 60), wantTransitions: 3},
		{name: "lease without renew time", existing: existing(other, time.Time{}, 60), wantTransitions: 4},
		{name: "lease without duration", existing: existing(other, t0, 0), wantTransitions: 4},
		{name: "our own live lease is refreshed", existing: existing(us, t0.Add(-5*time.Second), 60), wantTransitions: 3},
		{name: "renew interval not shorter than duration", opts: []Option{WithRenewInterval(time.Minute)}, wantErr: "must be positive and shorter than the duration"},
		{name: "duration under a second", opts: []Option{WithDuration(time.Millisecond), WithRenewInterval(time.Microsecond)}, wantErr: "at least 1s"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var objects []runtime.Object
			if tc.existing != nil {
				objects = append(objects, tc.existing)
			}
			cs := newClient(objects...)
			l, err := acquire(t, cs, us, append([]Option{at(t0)}, tc.opts...)...)
			if tc.wantErr != "" {
				assert.ErrorContains(t, err, tc.wantErr)
				return
			}
			assert.NilError(t, err)
			assert.Equal(t, l.Identity(), us)

			ns, name := DefaultNamespace, DefaultName
			if tc.wantNamespace != "" {
				ns, name = tc.wantNamespace, tc.wantName
			}
			got := get(t, cs, ns, name)
			assert.Equal(t, *got.Spec.HolderIdentity, us)
			assert.Equal(t, *got.Spec.LeaseDurationSeconds, int32(60))
			assert.Assert(t, got.Spec.RenewTime.Time.Equal(t0))
			assert.Equal(t, *got.Spec.LeaseTransitions, tc.wantTransitions)
		})
	}
}

func TestSecondAcquireRefused(t *testing.T) {
	t.Parallel()
	cs := newClient()
	_, err := acquire(t, cs, other, at(t0))
	assert.NilError(t, err)

	_, err = acquire(t, cs, us, at(t0.Add(20*time.Second)))
	var held *HeldError
	assert.Assert(t, errors.As(err, &held), "got %v", err)
	assert.Equal(t, held.Holder, other)
	assert.Assert(t, held.ExpiresAt.Equal(t0.Add(time.Minute)))
	assert.ErrorContains(t, err, `held by "ci@runner-3 pid 4242, run node-loss-20261122T010203Z, scenario node-loss"`)
	assert.ErrorContains(t, err, "(renewed 20s ago; lease kube-system/gameday-run)")
}

func TestRelease(t *testing.T) {
	t.Parallel()
	cs := newClient()
	l, err := acquire(t, cs, us, at(t0))
	assert.NilError(t, err)
	assert.NilError(t, l.Release(context.Background()))
	assert.NilError(t, l.Release(context.Background()), "release is idempotent")
	_, err = cs.CoordinationV1().Leases(DefaultNamespace).Get(context.Background(), DefaultName, metav1.GetOptions{})
	assert.Assert(t, apierrors.IsNotFound(err))

	_, err = acquire(t, cs, other, at(t0))
	assert.NilError(t, err, "the next run may start")
}

func TestReleaseLeavesAnotherHoldersLease(t *testing.T) {
	t.Parallel()
	cs := newClient()
	l, err := acquire(t, cs, us, at(t0))
	assert.NilError(t, err)
	// Our run stalled, the lease expired and another run took it.
	_, err = acquire(t, cs, other, at(t0.Add(2*time.Minute)))
	assert.NilError(t, err)

	assert.NilError(t, l.Release(context.Background()))
	assert.Equal(t, *get(t, cs, DefaultNamespace, DefaultName).Spec.HolderIdentity, other)
}

// Between Release's read and its delete, another run takes the expired lease over:
// the delete's preconditions fail and the other run's lease survives.
func TestReleaseRacingTakeover(t *testing.T) {
	t.Parallel()
	cs := newClient()
	var armed, sneaked atomic.Bool
	cs.PrependReactor("delete", "leases", func(k8stesting.Action) (bool, runtime.Object, error) {
		if armed.Load() && sneaked.CompareAndSwap(false, true) {
			assert.Check(t, cs.sneakIn(other, t0.Add(2*time.Minute)))
		}
		return false, nil, nil
	})
	l, err := acquire(t, cs, us, at(t0))
	assert.NilError(t, err)
	armed.Store(true)
	assert.NilError(t, l.Release(context.Background()))
	assert.Assert(t, sneaked.Load())
	assert.Equal(t, *get(t, cs, DefaultNamespace, DefaultName).Spec.HolderIdentity, other)
}

func TestRacingAcquirers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		existing []runtime.Object
	}{
		{name: "no lease: racing creates"},
		{name: "expired lease: racing updates", existing: []runtime.Object{existing("crashed@host pid 9, run r, scenario s", t0.Add(-time.Hour), 60)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cs := newClient(tc.existing...)
			const racers = 8
			var wg sync.WaitGroup
			results := make([]error, racers)
			for i := range racers {
				wg.Go(func() {
					_, results[i] = acquire(t, cs, fmt.Sprintf("racer-%d", i), at(t0))
				})
			}
			wg.Wait()

			winner := *get(t, cs, DefaultNamespace, DefaultName).Spec.HolderIdentity
			wins := 0
			for i, err := range results {
				if err == nil {
					wins++
					assert.Equal(t, winner, fmt.Sprintf("racer-%d", i))
					continue
				}
				var held *HeldError
				assert.Assert(t, errors.As(err, &held), "racer-%d: %v", i, err)
				assert.Equal(t, held.Holder, winner)
			}
			assert.Equal(t, wins, 1)
		})
	}
}

// Another run writes the lease between our read and our write: the API server refuses
// our stale write, and we report the run that got in first.
func TestConflictNamesTheRunThatGotInFirst(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		verb     string
		existing []runtime.Object
	}{
		{name: "create", verb: "create"},
		{name: "update", verb: "update", existing: []runtime.Object{existing("crashed@host pid 9, run r, scenario s", t0.Add(-time.Hour), 60)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cs := newClient(tc.existing...)
			var sneaked atomic.Bool
			cs.PrependReactor(tc.verb, "leases", func(k8stesting.Action) (bool, runtime.Object, error) {
				if sneaked.CompareAndSwap(false, true) {
					assert.Check(t, cs.sneakIn(other, t0))
				}
				return false, nil, nil
			})
			_, err := acquire(t, cs, us, at(t0.Add(time.Second)))
			var held *HeldError
			assert.Assert(t, errors.As(err, &held), "got %v", err)
			assert.Equal(t, held.Holder, other)
		})
	}
}

func TestRenewal(t *testing.T) {
	t.Parallel()
	cs := newClient()
	l, err := acquire(t, cs, us, WithDuration(time.Second), WithRenewInterval(5*time.Millisecond))
	assert.NilError(t, err)
	first := get(t, cs, DefaultNamespace, DefaultName).Spec.RenewTime.Time
	assert.Assert(t, eventually(func() bool {
		return get(t, cs, DefaultNamespace, DefaultName).Spec.RenewTime.Time.After(first)
	}), "lease was not renewed")
	assert.NilError(t, l.Err())
}

func TestLost(t *testing.T) {
	t.Parallel()
	// apiTrouble is what a test may do to the cluster while the lease is held.
	type apiTrouble struct {
		cs          *apiServer
		failGets    *atomic.Bool
		clockOffset *atomic.Int64
	}
	tests := []struct {
		name    string
		breakIt func(api apiTrouble)
		wantErr string
	}{
		{
			name:    "taken over",
			breakIt: func(api apiTrouble) { assert.Check(t, api.cs.sneakIn(other, time.Now())) },
			wantErr: `lease kube-system/gameday-run is now held by "ci@runner-3`,
		},
		{
			name: "deleted",
			breakIt: func(api apiTrouble) {
				assert.Check(t, api.cs.Tracker().Delete(leasesGVR, DefaultNamespace, DefaultName))
			},
			wantErr: "lease kube-system/gameday-run was deleted",
		},
		{
			name: "not renewed before it expired",
			breakIt: func(api apiTrouble) {
				api.failGets.Store(true)
				api.clockOffset.Add(int64(2 * time.Second))
			},
			wantErr: "lease kube-system/gameday-run expired: not renewed for 1s: reading lease kube-system/gameday-run: connection refused",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			api := apiTrouble{cs: newClient(), failGets: &atomic.Bool{}, clockOffset: &atomic.Int64{}}
			// Reactors are installed before the renewer runs: the fake does not lock its chain.
			api.cs.PrependReactor("get", "leases", func(k8stesting.Action) (bool, runtime.Object, error) {
				if api.failGets.Load() {
					return true, nil, errors.New("connection refused")
				}
				return false, nil, nil
			})
			clock := withClock(func() time.Time { return time.Now().Add(time.Duration(api.clockOffset.Load())) })
			l, err := acquire(t, api.cs, us, clock, WithDuration(time.Second), WithRenewInterval(5*time.Millisecond))
			assert.NilError(t, err)
			tc.breakIt(api)
			select {
			case <-l.Lost():
			case <-time.After(5 * time.Second):
				t.Fatal("lease loss not noticed")
			}
			assert.ErrorContains(t, l.Err(), tc.wantErr)
		})
	}
}

func TestIdentity(t *testing.T) {
	t.Parallel()
	id := Identity("node-loss-20261122T010203Z", "node-loss")
	assert.Assert(t, is.Regexp(`^[^@ ]+@[^ ]+ pid [0-9]+, run node-loss-20261122T010203Z, scenario node-loss$`, id))
}

// eventually polls cond for up to two seconds.
func eventually(cond func() bool) bool {
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if cond() {
			return true
		}
	}
	return false
}

// A run that leaves something broken abandons its lease: it stays, naming the run,
// so the next run is refused until it expires or recover frees it.
func TestAbandonLeavesTheLease(t *testing.T) {
	t.Parallel()
	cs := newClient()
	l, err := acquire(t, cs, us, at(t0))
	assert.NilError(t, err)
	l.Abandon()
	l.Abandon()
	assert.NilError(t, l.Release(context.Background()), "release after abandon is a no-op")
	got := get(t, cs, DefaultNamespace, DefaultName)
	assert.Equal(t, *got.Spec.HolderIdentity, us)
	_, err = acquire(t, cs, other, at(t0.Add(time.Second)))
	var held *HeldError
	assert.Assert(t, errors.As(err, &held), "the next run is refused: %v", err)
}
