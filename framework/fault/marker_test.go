package fault_test

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/gameday-dev/gameday/framework/fault"
)

// patchCall is what a recording Patcher was called with.
type patchCall struct {
	name string
	pt   types.PatchType
	body map[string]any
	opts metav1.PatchOptions
	sub  []string
}

// recordingPatcher returns a Patcher that records its calls and returns the errors
// in errs one per call (nil once they run out).
func recordingPatcher(calls *[]patchCall, errs ...error) fault.Patcher {
	var mu sync.Mutex
	return func(_ context.Context, name string, pt types.PatchType, data []byte, opts metav1.PatchOptions, sub ...string) error {
		mu.Lock()
		defer mu.Unlock()
		var body map[string]any
		if err := json.Unmarshal(data, &body); err != nil {
			return err
		}
		*calls = append(*calls, patchCall{name: name, pt: pt, body: body, opts: opts, sub: sub})
		if len(errs) == 0 {
			return nil
		}
		err := errs[0]
		errs = errs[1:]
		return err
	}
}

func markerBody(value any) map[string]any {
	return map[string]any{"metadata": map[string]any{"annotations": map[string]any{fault.MarkerAnnotation: value}}}
}

var testRecord = fault.Record{
	ID: "run-1/lose/node/gd-worker", Kind: "nodeLoss", Mode: "stop", RunID: "run-1", Step: "lose",
	Cluster: "gameday", Target: "node/gd-worker", PlannedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
}

func TestSetMarkerPatch(t *testing.T) {
	t.Parallel()
	var calls []patchCall
	err := fault.SetMarker(testContext(t), recordingPatcher(&calls), "gd-worker", testRecord)
	assert.NilError(t, err)
	assert.Equal(t, len(calls), 1)
	c := calls[0]
	assert.Equal(t, c.name, "gd-worker")
	assert.Equal(t, c.pt, types.MergePatchType)
	assert.Equal(t, c.opts.FieldManager, "gameday")
	assert.Equal(t, len(c.sub), 0)
	assert.DeepEqual(t, c.body, markerBody(testRecord.Marshal()))

	// The annotation value parses back to the record.
	got, err := fault.ParseRecord(c.body["metadata"].(map[string]any)["annotations"].(map[string]any)[fault.MarkerAnnotation].(string))
	assert.NilError(t, err)
	assert.DeepEqual(t, got, testRecord)
}

func TestClearMarkerPatch(t *testing.T) {
	t.Parallel()
	var calls []patchCall
	err := fault.ClearMarker(testContext(t), recordingPatcher(&calls), "gd-worker")
	assert.NilError(t, err)
	assert.Equal(t, len(calls), 1)
	c := calls[0]
	assert.Equal(t, c.name, "gd-worker")
	assert.Equal(t, c.pt, types.MergePatchType)
	assert.Equal(t, c.opts.FieldManager, "gameday")
	// A merge patch with null deletes the annotation and only it.
	assert.DeepEqual(t, c.body, markerBody(nil))
}

func TestSetMarkerError(t *testing.T) {
	t.Parallel()
	var calls []patchCall
	forbidden := apierrors.NewForbidden(schema.GroupResource{Resource: "nodes"}, "gd-worker", errors.New("no"))
	err := fault.SetMarker(testContext(t), recordingPatcher(&calls, forbidden), "gd-worker", testRecord)
	assert.ErrorContains(t, err, "annotating gd-worker")
	assert.Assert(t, apierrors.IsForbidden(err), "the API error stays inspectable: %v", err)
	assert.Equal(t, len(calls), 1, "SetMarker does not retry")
}

var nodesResource = schema.GroupResource{Resource: "nodes"}

func TestClearMarkerErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		errs      []error
		wantErr   string // "" for success
		wantCalls int
	}{
		{"missing object is fine", []error{apierrors.NewNotFound(nodesResource, "gd-worker")}, "", 1},
		{"forbidden gives up", []error{apierrors.NewForbidden(nodesResource, "gd-worker", errors.New("rbac"))}, "forbidden", 1},
		{"invalid gives up", []error{apierrors.NewInvalid(schema.GroupKind{Kind: "Node"}, "gd-worker", nil)}, "is invalid", 1},
		{"bad request gives up", []error{apierrors.NewBadRequest("nonsense")}, "nonsense", 1},
		{"server timeout is retried", []error{apierrors.NewServerTimeout(nodesResource, "patch", 1)}, "", 2},
		{"conflict is retried", []error{apierrors.NewConflict(nodesResource, "gd-worker", errors.New("stale"))}, "", 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var calls []patchCall
			err := fault.ClearMarker(testContext(t), recordingPatcher(&calls, tc.errs...), "gd-worker")
			if tc.wantErr == "" {
				assert.NilError(t, err)
			} else {
				assert.ErrorContains(t, err, tc.wantErr)
			}
			assert.Equal(t, len(calls), tc.wantCalls)
		})
	}
}

func TestRetryAPI(t *testing.T) {
	t.Parallel()
	transient := apierrors.NewServerTimeout(nodesResource, "get", 1)
	tests := []struct {
		name      string
		errs      []error
		wantErr   func(error) bool // nil for success
		wantCalls int
	}{
		{"success", nil, nil, 1},
		{"forbidden", []error{apierrors.NewForbidden(nodesResource, "x", errors.New("no"))}, apierrors.IsForbidden, 1},
		{"invalid", []error{apierrors.NewInvalid(schema.GroupKind{Kind: "Node"}, "x", nil)}, apierrors.IsInvalid, 1},
		{"bad request", []error{apierrors.NewBadRequest("x")}, apierrors.IsBadRequest, 1},
		{"timeout then success", []error{transient}, nil, 2},
		{"timeout then forbidden", []error{transient, apierrors.NewForbidden(nodesResource, "x", errors.New("no"))}, apierrors.IsForbidden, 2},
		{"plain error then success", []error{errors.New("connection refused")}, nil, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			calls := 0
			errs := tc.errs
			err := fault.RetryAPI(testContext(t), func(context.Context) error {
				calls++
				if len(errs) == 0 {
					return nil
				}
				e := errs[0]
				errs = errs[1:]
				return e
			})
			if tc.wantErr == nil {
				assert.NilError(t, err)
			} else {
				assert.Assert(t, tc.wantErr(err), "unexpected error %v", err)
			}
			assert.Equal(t, calls, tc.wantCalls)
		})
	}
}

func TestRetryAPIReturnsLastErrorWhenContextEnds(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	calls := 0
	err := fault.RetryAPI(ctx, func(context.Context) error {
		calls++
		return apierrors.NewServiceUnavailable("apiserver restarting")
	})
	assert.Assert(t, apierrors.IsServiceUnavailable(err), "want the last API error, not only the context's: %v", err)
	assert.Equal(t, calls, 1)
}

func TestRetryAPIContextAlreadyDone(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := fault.RetryAPI(ctx, func(context.Context) error { return nil })
	// Whether fn ran once or not at all, a cancelled context must not hang or succeed silently
	// with work undone: either nil (fn ran and succeeded) or the context's error.
	if err != nil {
		assert.Assert(t, errors.Is(err, context.Canceled), "%v", err)
	}
}

// Against the fake clientset: the markers land on (and leave) the real object, and
// other annotations survive.
func TestMarkerOnFakeClientset(t *testing.T) {
	t.Parallel()
	cs := fake.NewClientset(&corev1.Node{ObjectMeta: metav1.ObjectMeta{
		Name: "gd-worker", Annotations: map[string]string{"keep": "me"},
	}})
	ctx := testContext(t)

	assert.NilError(t, fault.SetMarker(ctx, nodePatcher(cs), "gd-worker", testRecord))
	n, err := cs.CoreV1().Nodes().Get(ctx, "gd-worker", metav1.GetOptions{})
	assert.NilError(t, err)
	got, err := fault.ParseRecord(n.Annotations[fault.MarkerAnnotation])
	assert.NilError(t, err)
	assert.DeepEqual(t, got, testRecord)
	assert.Equal(t, n.Annotations["keep"], "me")

	assert.NilError(t, fault.ClearMarker(ctx, nodePatcher(cs), "gd-worker"))
	n, err = cs.CoreV1().Nodes().Get(ctx, "gd-worker", metav1.GetOptions{})
	assert.NilError(t, err)
	assert.DeepEqual(t, n.Annotations, map[string]string{"keep": "me"})

	// Clearing twice, or clearing an object that is gone, is fine.
	assert.NilError(t, fault.ClearMarker(ctx, nodePatcher(cs), "gd-worker"))
	assert.NilError(t, fault.ClearMarker(ctx, nodePatcher(cs), "no-such-node"))

	// Setting on a missing object is an error.
	err = fault.SetMarker(ctx, nodePatcher(cs), "no-such-node", testRecord)
	assert.Assert(t, apierrors.IsNotFound(err), "%v", err)
}

// ClearMarker rides out an API server that times out once (it may be restarting
// after a control-plane fault).
func TestClearMarkerRetriesServerTimeout(t *testing.T) {
	t.Parallel()
	cs := fake.NewClientset(&corev1.Node{ObjectMeta: metav1.ObjectMeta{
		Name: "gd-worker", Annotations: map[string]string{fault.MarkerAnnotation: testRecord.Marshal()},
	}})
	var mu sync.Mutex
	patches := 0
	cs.PrependReactor("patch", "nodes", func(k8stesting.Action) (bool, runtime.Object, error) {
		mu.Lock()
		defer mu.Unlock()
		patches++
		if patches == 1 {
			return true, nil, apierrors.NewServerTimeout(nodesResource, "patch", 1)
		}
		return false, nil, nil
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	assert.NilError(t, fault.ClearMarker(ctx, nodePatcher(cs), "gd-worker"))
	assert.Equal(t, patches, 2)
	n, err := cs.CoreV1().Nodes().Get(ctx, "gd-worker", metav1.GetOptions{})
	assert.NilError(t, err)
	_, marked := n.Annotations[fault.MarkerAnnotation]
	assert.Assert(t, !marked)
}

// ClearMarker gives up at once when the API server forbids the patch.
func TestClearMarkerGivesUpOnForbidden(t *testing.T) {
	t.Parallel()
	cs := fake.NewClientset(&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "gd-worker"}})
	patches := 0
	cs.PrependReactor("patch", "nodes", func(k8stesting.Action) (bool, runtime.Object, error) {
		patches++
		return true, nil, apierrors.NewForbidden(nodesResource, "gd-worker", errors.New("rbac says no"))
	})
	start := time.Now()
	err := fault.ClearMarker(testContext(t), nodePatcher(cs), "gd-worker")
	assert.Assert(t, apierrors.IsForbidden(err), "%v", err)
	assert.ErrorContains(t, err, "rbac says no")
	assert.Equal(t, patches, 1)
	assert.Assert(t, time.Since(start) < 500*time.Millisecond, "gave up only after %v", time.Since(start))
}

func nodePatcher(cs kubernetes.Interface) fault.Patcher {
	return func(ctx context.Context, name string, pt types.PatchType, data []byte, opts metav1.PatchOptions, sub ...string) error {
		_, err := cs.CoreV1().Nodes().Patch(ctx, name, pt, data, opts, sub...)
		return err
	}
}

// testContext bounds a test's calls, so a recovery that would retry forever fails
// the test instead of hanging it.
func testContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}
