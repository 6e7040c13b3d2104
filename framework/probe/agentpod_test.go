package probe_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/rest"
	k8stesting "k8s.io/client-go/testing"

	"github.com/gameday-dev/gameday/framework/probe"
)

func TestAgentPod(t *testing.T) {
	t.Parallel()
	cfg := probe.AgentConfig{HTTP: []probe.AgentHTTPTarget{{Name: "web", URL: "http://10.96.0.20/"}}, Interval: time.Second, Timeout: time.Second, Heartbeat: 5 * time.Second}
	pod := probe.AgentPod(probe.AgentDeployment{Namespace: "gameday", NodeName: "kind-worker2", Args: cfg.Args()})
	assert.Equal(t, pod.Name, "")
	assert.Equal(t, pod.GenerateName, "gameday-agent-")
	assert.Equal(t, pod.Labels[probe.ManagedByLabel], "gameday")
	assert.Equal(t, pod.Spec.NodeName, "kind-worker2")
	assert.Equal(t, pod.Spec.DNSPolicy, corev1.DNSDefault)
	c := pod.Spec.Containers[0]
	assert.Equal(t, c.Image, probe.DefaultAgentImage)
	assert.Equal(t, c.ImagePullPolicy, corev1.PullIfNotPresent)
	assert.Assert(t, c.Command == nil)
	assert.DeepEqual(t, c.Args, append([]string{"agent"}, cfg.Args()...))
	assert.Assert(t, !c.Resources.Requests.Cpu().IsZero() && !c.Resources.Limits.Memory().IsZero())

	var tolerated []string
	for _, tol := range pod.Spec.Tolerations {
		tolerated = append(tolerated, tol.Key)
	}
	assert.DeepEqual(t, tolerated, []string{"node-role.kubernetes.io/control-plane", "node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"})

	named := probe.AgentPod(probe.AgentDeployment{Namespace: "gameday", Name: "agent-1", Image: "other:1"})
	assert.Equal(t, named.Name, "agent-1")
	assert.Equal(t, named.Spec.Containers[0].Image, "other:1")
}

// withPodStatus makes the fake client store every created pod with the given status, as if
// the kubelet had already reported it.
func withPodStatus(client *fake.Clientset, status corev1.PodStatus) {
	client.PrependReactor("create", "pods", func(action k8stesting.Action) (bool, runtime.Object, error) {
		action.(k8stesting.CreateAction).GetObject().(*corev1.Pod).Status = status
		return false, nil, nil
	})
}

func TestDeployAgent(t *testing.T) {
	t.Parallel()
	running := corev1.PodStatus{Phase: corev1.PodRunning, ContainerStatuses: []corev1.ContainerStatus{{
		Name: "agent", State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}},
	}}}
	waiting := func(reason string) corev1.PodStatus {
		return corev1.PodStatus{Phase: corev1.PodPending, ContainerStatuses: []corev1.ContainerStatus{{
			Name: "agent", State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason, Message: "details"}},
		}}}
	}
	cases := []struct {
		name      string
		status    corev1.PodStatus
		wantError string
	}{
		{name: "running", status: running},
		{name: "image not loaded", status: waiting("ErrImageNeverPull"), wantError: "container agent: ErrImageNeverPull: details"},
		{name: "crashing", status: waiting("CrashLoopBackOff"), wantError: "CrashLoopBackOff"},
		{name: "failed", status: corev1.PodStatus{Phase: corev1.PodFailed, Message: "evicted"}, wantError: "pod ended in phase Failed: evicted"},
		{name: "never starts", status: waiting("ContainerCreating"), wantError: "pod phase Pending, container agent waiting: ContainerCreating"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			client := fake.NewClientset()
			withPodStatus(client, tc.status)
			ctx, cancel := context.WithTimeout(t.Context(), time.Second)
			defer cancel()
			name, err := probe.DeployAgent(ctx, client, probe.AgentDeployment{Namespace: "gameday", NodeName: "kind-worker"})
			assert.Assert(t, strings.HasPrefix(name, "gameday-agent-") && len(name) == len("gameday-agent-")+5, name)
			if tc.wantError != "" {
				assert.ErrorContains(t, err, tc.wantError)
				return
			}
			assert.NilError(t, err)
			pod, err := client.CoreV1().Pods("gameday").Get(ctx, name, metav1.GetOptions{})
			assert.NilError(t, err)
			assert.Equal(t, pod.Spec.NodeName, "kind-worker")

			assert.NilError(t, probe.DeleteAgent(ctx, client, "gameday", name))
			_, err = client.CoreV1().Pods("gameday").Get(ctx, name, metav1.GetOptions{})
			assert.Assert(t, apierrors.IsNotFound(err))
			assert.NilError(t, probe.DeleteAgent(ctx, client, "gameday", name), "deleting twice is fine")
		})
	}
	_, err := probe.DeployAgent(t.Context(), fake.NewClientset(), probe.AgentDeployment{})
	assert.ErrorContains(t, err, "namespace is required")
}

// fakeLogServer plays the API server's pod log endpoint, one scripted response per request,
// and records each request's sinceTime.
type fakeLogServer struct {
	mu        sync.Mutex
	sinces    []string
	responses []func(w http.ResponseWriter, r *http.Request)
}

func (f *fakeLogServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/api/v1/namespaces/gameday/pods/agent/log" || r.URL.Query().Get("follow") != "true" {
		http.Error(w, "unexpected request "+r.URL.String(), http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	call := len(f.sinces)
	f.sinces = append(f.sinces, r.URL.Query().Get("sinceTime"))
	f.mu.Unlock()
	if call < len(f.responses) {
		f.responses[call](w, r)
		return
	}
	<-r.Context().Done() // a healthy stream with nothing new
}

func streamLines(lines ...string) func(w http.ResponseWriter, r *http.Request) {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		for _, l := range lines {
			_, _ = w.Write([]byte(l))
			w.(http.Flusher).Flush()
		}
	}
}

func status(code int, reason metav1.StatusReason) func(w http.ResponseWriter, r *http.Request) {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		_ = json.NewEncoder(w).Encode(metav1.Status{TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"}, Status: metav1.StatusFailure, Code: int32(code), Reason: reason, Message: string(reason)})
	}
}

func clientFor(t *testing.T, h http.Handler) kubernetes.Interface {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	client, err := kubernetes.NewForConfig(&rest.Config{Host: srv.URL})
	assert.NilError(t, err)
	return client
}

func sampleLine(t *testing.T, s probe.Sample) string {
	t.Helper()
	data, err := json.Marshal(s)
	assert.NilError(t, err)
	return string(data) + "\n"
}

func TestFollowAgentReconnectsWithoutLossOrDuplicates(t *testing.T) {
	t.Parallel()
	base := time.Date(2026, 11, 21, 10, 0, 30, 0, time.UTC)
	s := func(probeName string, ms int) probe.Sample {
		return probe.Sample{Probe: probeName, At: base.Add(time.Duration(ms) * time.Millisecond), OK: true, Latency: time.Millisecond}
	}
	s1, s2, s3, s4, s5 := s("web", 0), s("dns", 250), s("web", 1000), s("dns", 1250), s("web", 2000)
	cut := sampleLine(t, s4)
	logs := &fakeLogServer{responses: []func(http.ResponseWriter, *http.Request){
		// The first stream breaks in the middle of s4's line.
		streamLines(`{"heartbeat":"2026-11-21T10:00:30Z"}`+"\n", sampleLine(t, s1), sampleLine(t, s2), sampleLine(t, s3), cut[:10]),
		// The API server is briefly unavailable.
		status(http.StatusServiceUnavailable, metav1.StatusReasonServiceUnavailable),
		// The stream resumes from before s3: s2 and s3 come again.
		streamLines(sampleLine(t, s2), sampleLine(t, s3), cut, sampleLine(t, s5)),
	}}
	client := clientFor(t, logs)

	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	var got []probe.Sample
	err := probe.FollowAgent(ctx, client, "gameday", "agent", func(smp probe.Sample) {
		got = append(got, smp)
		if len(got) == 5 {
			cancel()
		}
	})
	assert.NilError(t, err)
	assert.DeepEqual(t, got, []probe.Sample{s1, s2, s3, s4, s5})

	logs.mu.Lock()
	defer logs.mu.Unlock()
	assert.Assert(t, len(logs.sinces) >= 3)
	assert.Equal(t, logs.sinces[0], "", "the first request reads the whole log")
	// Latest time seen: s3 at 10:00:31; resume 2 s earlier, in whole seconds.
	assert.Equal(t, logs.sinces[1], "2026-11-21T10:00:29Z")
	assert.Equal(t, logs.sinces[2], "2026-11-21T10:00:29Z")
}

func TestFollowAgentStopsWhenThePodIsGone(t *testing.T) {
	t.Parallel()
	client := clientFor(t, &fakeLogServer{responses: []func(http.ResponseWriter, *http.Request){
		status(http.StatusNotFound, metav1.StatusReasonNotFound),
	}})
	err := probe.FollowAgent(t.Context(), client, "gameday", "agent", func(probe.Sample) {})
	assert.Assert(t, apierrors.IsNotFound(err), fmt.Sprint(err))
	assert.ErrorContains(t, err, "follow agent gameday/agent")
}
