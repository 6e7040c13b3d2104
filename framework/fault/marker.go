package fault

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
)

// Patcher applies a merge patch to one object; the typed clients' Patch methods
// fit it with a small closure.
type Patcher func(ctx context.Context, name string, pt types.PatchType, data []byte, opts metav1.PatchOptions, subresources ...string) error

// SetMarker records a reference to rec (Record.Ref: no restore data) in the
// MarkerAnnotation of the named object.
func SetMarker(ctx context.Context, patch Patcher, name string, rec Record) error {
	return patchAnnotation(ctx, patch, name, rec.Ref().Marshal())
}

// ClearMarker removes the MarkerAnnotation from the named object; a missing object
// is not an error. It retries while the API server is unreachable (it may be
// restarting after a control-plane fault), until ctx ends.
func ClearMarker(ctx context.Context, patch Patcher, name string) error {
	return RetryAPI(ctx, func(ctx context.Context) error {
		err := patchAnnotation(ctx, patch, name, nil)
		if apierrors.IsNotFound(err) {
			return nil
		}
		return err
	})
}

func patchAnnotation(ctx context.Context, patch Patcher, name string, value any) error {
	body, err := json.Marshal(map[string]any{
		"metadata": map[string]any{"annotations": map[string]any{MarkerAnnotation: value}},
	})
	if err != nil {
		return err
	}
	if err := patch(ctx, name, types.MergePatchType, body, metav1.PatchOptions{FieldManager: "gameday"}); err != nil {
		return fmt.Errorf("annotating %s: %w", name, err)
	}
	return nil
}

// RetryAPI retries fn every second while it fails with an error that may pass
// (the API server restarting, a timeout, a conflict), until ctx ends.
func RetryAPI(ctx context.Context, fn func(ctx context.Context) error) error {
	var last error
	err := wait.PollUntilContextCancel(ctx, time.Second, true, func(ctx context.Context) (bool, error) {
		last = fn(ctx)
		if last == nil {
			return true, nil
		}
		var permanent permanentError
		if errors.As(last, &permanent) || apierrors.IsForbidden(last) || apierrors.IsInvalid(last) || apierrors.IsBadRequest(last) {
			return false, last
		}
		return false, nil
	})
	if err != nil && last != nil {
		return last
	}
	return err
}

// Permanent marks an error that RetryAPI must return at once instead of retrying.
func Permanent(err error) error { return permanentError{err} }

type permanentError struct{ error }

func (e permanentError) Unwrap() error { return e.error }
