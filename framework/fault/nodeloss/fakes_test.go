package nodeloss_test

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/gameday-dev/gameday/clusters"
)

// eventLog is one ordered log shared by the fake node controller and the fake
// clientset, so tests can check what happened before what.
type eventLog struct {
	mu     sync.Mutex
	events []string
}

func (l *eventLog) add(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, fmt.Sprintf(format, args...))
}

func (l *eventLog) get() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.events...)
}

// fakeNodes is an in-memory clusters.NodeController: node machines that are running,
// paused or stopped, each with a kubelet that runs or not. Exec understands
// `systemctl stop|start kubelet`, fails on a node that is not running (as
// `docker exec` does), and fails the next failExec calls on purpose.
type fakeNodes struct {
	mu       sync.Mutex
	state    map[string]clusters.NodeState
	kubelet  map[string]bool // true: the kubelet runs
	failExec int
	stopping map[string]int // how many more times a node says it is shutting down
	log      *eventLog
}

var _ clusters.NodeController = (*fakeNodes)(nil)

func newFakeNodes(log *eventLog, names ...string) *fakeNodes {
	f := &fakeNodes{state: map[string]clusters.NodeState{}, kubelet: map[string]bool{}, stopping: map[string]int{}, log: log}
	for _, n := range names {
		f.state[n] = clusters.NodeRunning
		f.kubelet[n] = true
	}
	return f
}

func (f *fakeNodes) set(node string, st clusters.NodeState, kubeletRuns bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.state[node] = st
	f.kubelet[node] = kubeletRuns
}

// status is "<state>" plus "/kubelet-stopped" when the kubelet does not run.
func (f *fakeNodes) status(node string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	st, ok := f.state[node]
	if !ok {
		return string(clusters.NodeMissing)
	}
	if !f.kubelet[node] {
		return string(st) + "/kubelet-stopped"
	}
	return string(st)
}

func (f *fakeNodes) transition(op, node string, from []clusters.NodeState, to clusters.NodeState, kubelet *bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.log.add("%s %s", op, node)
	st, ok := f.state[node]
	if !ok {
		return fmt.Errorf("%s %s: no such node container", op, node)
	}
	if st == to { // idempotent, as the interface promises
		return nil
	}
	for _, s := range from {
		if s == st {
			f.state[node] = to
			if kubelet != nil {
				f.kubelet[node] = *kubelet
			}
			return nil
		}
	}
	return fmt.Errorf("%s %s: node is %s", op, node, st)
}

func ptrTo[T any](v T) *T { return &v }

func (f *fakeNodes) StopNode(_ context.Context, node string) error {
	return f.transition("stop", node, []clusters.NodeState{clusters.NodeRunning, clusters.NodePaused}, clusters.NodeStopped, ptrTo(false))
}

// StartNode boots the node; systemd starts the kubelet with it.
func (f *fakeNodes) StartNode(_ context.Context, node string) error {
	return f.transition("start", node, []clusters.NodeState{clusters.NodeStopped}, clusters.NodeRunning, ptrTo(true))
}

func (f *fakeNodes) PauseNode(_ context.Context, node string) error {
	return f.transition("pause", node, []clusters.NodeState{clusters.NodeRunning}, clusters.NodePaused, nil)
}

func (f *fakeNodes) UnpauseNode(_ context.Context, node string) error {
	return f.transition("unpause", node, []clusters.NodeState{clusters.NodePaused}, clusters.NodeRunning, nil)
}

func (f *fakeNodes) State(_ context.Context, node string) (clusters.NodeState, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.log.add("state %s", node)
	st, ok := f.state[node]
	if !ok {
		return clusters.NodeMissing, nil
	}
	return st, nil
}

func (f *fakeNodes) Exec(_ context.Context, node string, _ io.Reader, command ...string) ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	cmd := strings.Join(command, " ")
	if cmd != "systemctl is-system-running" {
		f.log.add("exec %s %s", node, cmd)
	}
	st, ok := f.state[node]
	if !ok {
		return nil, fmt.Errorf("exec on %s: no such node container", node)
	}
	if st != clusters.NodeRunning {
		return nil, fmt.Errorf("exec on %s: container is %s", node, st)
	}
	if cmd == "systemctl is-system-running" {
		// Not logged: a query, not a change. A node whose shutdown is under way
		// answers "stopping" while stopping[node] lasts.
		if f.stopping[node] > 0 {
			f.stopping[node]--
			return []byte("stopping\n"), fmt.Errorf("exit status 1")
		}
		return []byte("running\n"), nil
	}
	if f.failExec > 0 {
		f.failExec--
		return []byte("System has not been booted with systemd"), fmt.Errorf("exec on %s: exit status 1", node)
	}
	switch cmd {
	case "systemctl stop kubelet":
		f.kubelet[node] = false
	case "systemctl start kubelet":
		f.kubelet[node] = true
	default:
		return nil, fmt.Errorf("exec on %s: the fake does not know %q", node, cmd)
	}
	return nil, nil
}

func (f *fakeNodes) Address(_ context.Context, node string) (string, error) {
	return "", fmt.Errorf("the fake has no addresses")
}

const controlPlaneLabel = "node-role.kubernetes.io/control-plane"

// node is a Node object; ready sets its Ready condition.
func node(name string, controlPlane bool, ready corev1.ConditionStatus) *corev1.Node {
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"kubernetes.io/hostname": name}}}
	if controlPlane {
		n.Labels[controlPlaneLabel] = ""
	}
	if ready != "" {
		n.Status.Conditions = []corev1.NodeCondition{
			{Type: corev1.NodeMemoryPressure, Status: corev1.ConditionFalse},
			{Type: corev1.NodeReady, Status: ready},
		}
	}
	return n
}

// newClientset is a fake clientset holding objs whose API calls go to log as
// "api <verb> <resource> <name>".
func newClientset(log *eventLog, objs ...runtime.Object) *fake.Clientset {
	cs := fake.NewClientset(objs...)
	cs.PrependReactor("*", "*", func(a k8stesting.Action) (bool, runtime.Object, error) {
		name := ""
		if n, ok := a.(interface{ GetName() string }); ok {
			name = " " + n.GetName()
		}
		log.add("api %s %s%s", a.GetVerb(), a.GetResource().Resource, name)
		return false, nil, nil
	})
	return cs
}
