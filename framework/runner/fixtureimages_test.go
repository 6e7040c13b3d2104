package runner

import (
	"testing"

	"gotest.tools/v3/assert"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// TestFixtureImages pins what docs/cli.md promises: a kind run loads by itself every
// image named in its fixtures' pod specs (workloads with a pod template, and Pods),
// containers and init containers, each once.
func TestFixtureImages(t *testing.T) {
	t.Parallel()
	containers := func(images ...string) []any {
		var list []any
		for _, image := range images {
			list = append(list, map[string]any{"name": "c", "image": image})
		}
		return list
	}
	obj := func(kind string, spec map[string]any) *unstructured.Unstructured {
		return &unstructured.Unstructured{Object: map[string]any{"kind": kind, "spec": spec}}
	}
	template := func(podSpec map[string]any) map[string]any {
		return map[string]any{"template": map[string]any{"spec": podSpec}}
	}
	objs := []*unstructured.Unstructured{
		obj("Deployment", template(map[string]any{"initContainers": containers("me/init:v1"), "containers": containers("me/app:v1", "me/sidecar:v1")})),
		obj("StatefulSet", template(map[string]any{"containers": containers("me/db:v1")})),
		obj("Job", template(map[string]any{"containers": containers("me/app:v1")})),
		obj("Pod", map[string]any{"containers": containers("me/pod:v1")}),
		{Object: map[string]any{"kind": "ConfigMap", "data": map[string]any{"image": "not/an-image"}}},
	}
	assert.DeepEqual(t, fixtureImages(objs), []string{"me/app:v1", "me/sidecar:v1", "me/init:v1", "me/db:v1", "me/pod:v1"})
}
