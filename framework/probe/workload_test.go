package probe_test

import (
	"testing"
	"time"

	"gotest.tools/v3/assert"
	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"

	"github.com/gameday-dev/gameday/framework/probe"
)

func deployment(name string, replicas *int32, ready int32) *appsv1.Deployment {
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name},
		Spec:       appsv1.DeploymentSpec{Replicas: replicas},
		Status:     appsv1.DeploymentStatus{ReadyReplicas: ready},
	}
}

func TestWorkloadProbe(t *testing.T) {
	t.Parallel()
	client := fake.NewClientset(
		deployment("all-ready", ptr.To[int32](3), 3),
		deployment("degraded", ptr.To[int32](3), 2),
		deployment("default-replicas", nil, 1),
		deployment("scaled-to-zero", ptr.To[int32](0), 0),
	)
	cases := []struct {
		deployment string
		wantError  string
	}{
		{deployment: "all-ready"},
		{deployment: "degraded", wantError: "2/3 replicas ready"},
		{deployment: "default-replicas"},
		{deployment: "scaled-to-zero"},
		{deployment: "missing", wantError: `get deployment ns/missing: deployments.apps "missing" not found`},
	}
	for _, tc := range cases {
		t.Run(tc.deployment, func(t *testing.T) {
			t.Parallel()
			p, err := probe.NewWorkload(probe.WorkloadConfig{Name: "w", Client: client, Namespace: "ns", Deployment: tc.deployment, Interval: 10 * time.Millisecond})
			assert.NilError(t, err)
			s := collect(t, p, 1)[0]
			assert.Equal(t, s.Probe, "w")
			assert.Equal(t, s.OK, tc.wantError == "", s.Error)
			assert.Equal(t, s.Error, tc.wantError)
		})
	}
	_, err := probe.NewWorkload(probe.WorkloadConfig{Name: "w"})
	assert.ErrorContains(t, err, "client is required")
	assert.ErrorContains(t, err, "namespace is required")
	assert.ErrorContains(t, err, "deployment is required")
}

func TestNewClientsetIsUnthrottled(t *testing.T) {
	t.Parallel()
	orig := &rest.Config{Host: "https://127.0.0.1:6443", QPS: 5, Burst: 10}
	cs, err := probe.NewClientset(orig)
	assert.NilError(t, err)
	assert.Assert(t, cs.RESTClient().GetRateLimiter() == nil)
	assert.Equal(t, orig.QPS, float32(5), "the caller's config is not modified")
	assert.Assert(t, orig.Dial == nil)
}
