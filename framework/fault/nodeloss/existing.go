package nodeloss

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/gameday-dev/gameday/clusters"
	"github.com/gameday-dev/gameday/framework/fault"
	"github.com/gameday-dev/gameday/framework/nodeagent"
)

// Keys of Record.Restore for a node lost through the node agent.
const (
	// RestoreVia is ViaNodeAgent when the kubelet was stopped by a node agent pod.
	RestoreVia   = "via"
	ViaNodeAgent = "nodeAgent"
	// RestoreHold is how long the agent keeps the kubelet stopped (a Go duration).
	RestoreHold = "hold"
	// RestoreNamespace and RestorePod name the agent pod.
	RestoreNamespace = "namespace"
	RestorePod       = "pod"
)

// nodeLeaseNamespace holds the kubelets' heartbeat Leases, one per node.
const nodeLeaseNamespace = "kube-node-lease"

// agentTiming paces the node agent path; the zero value means the defaults.
type agentTiming struct {
	// poll is how often the pod, the Node and its Lease are looked at.
	poll time.Duration
	// stopTimeout bounds Inject: from creating the pod until the kubelet is seen stopped.
	stopTimeout time.Duration
	// leaseStale is how long the node's Lease must go unrenewed, as seen from here, to
	// count as the kubelet stopped (the kubelet renews it every 10s by default).
	leaseStale time.Duration
	// recoverGrace is how long Recover waits beyond the agent's dead-man's switch.
	recoverGrace time.Duration
}

func (t agentTiming) withDefaults() agentTiming {
	if t.poll == 0 {
		t.poll = time.Second
	}
	if t.stopTimeout == 0 {
		t.stopTimeout = 2 * time.Minute
	}
	if t.leaseStale == 0 {
		t.leaseStale = 25 * time.Second
	}
	if t.recoverGrace == 0 {
		t.recoverGrace = 2 * time.Minute
	}
	return t
}

// viaAgent reports whether rec was injected through the node agent.
func viaAgent(rec fault.Record) bool { return rec.Restore[RestoreVia] == ViaNodeAgent }

// checkExistingCluster reports why the spec cannot run on a cluster without a node
// controller, every reason at once.
func (in *Injector) checkExistingCluster(env fault.Env) error {
	var errs []error
	if !in.Spec.AllowExistingCluster {
		errs = append(errs, fmt.Errorf("nodeLoss on cluster %q, which gameday reaches only through the Kubernetes API, stops the kubelet "+
			"through a privileged node agent pod; set nodeLoss.allowExistingCluster: true to allow that", env.Cluster.Name))
	}
	if mode := in.Spec.Mode; mode != KillKubelet {
		if mode == "" {
			mode = Stop
		}
		errs = append(errs, fmt.Errorf("nodeLoss mode %q needs a kind cluster (only the machine's provider can stop or freeze a node); "+
			"on existing cluster %q the supported mode is %s", mode, env.Cluster.Name, KillKubelet))
	}
	return errors.Join(errs...)
}

// agentRestore is what a record of the node agent path restores: the pod to remove
// and how long the agent holds the kubelet stopped (unknown when env.Hold is not set,
// as in a dry run; Inject then refuses the record).
func agentRestore(env fault.Env, node string) map[string]string {
	r := map[string]string{
		RestoreVia:       ViaNodeAgent,
		RestoreNamespace: nodeagent.Namespace,
		RestorePod:       nodeagent.PodName(node),
	}
	if env.Hold > 0 {
		r[RestoreHold] = env.Hold.String()
	}
	return r
}

func recordHold(rec fault.Record) (time.Duration, error) {
	v, ok := rec.Restore[RestoreHold]
	if !ok {
		return 0, fmt.Errorf("nodeLoss record %s has no hold time: the node agent needs to know when to start the kubelet again "+
			"(plan with fault.Env.Hold set to how long the fault lasts)", rec.ID)
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("nodeLoss record %s: invalid hold %q", rec.ID, v)
	}
	return d, nil
}

func agentPodRef(rec fault.Record) (namespace, name string) {
	namespace, name = rec.Restore[RestoreNamespace], rec.Restore[RestorePod]
	if namespace == "" {
		namespace = nodeagent.Namespace
	}
	if name == "" {
		name = nodeagent.PodName(nodeName(rec))
	}
	return namespace, name
}

// injectWithAgent stops the node's kubelet through a node agent pod: it marks the
// Node, creates the pod, and waits until the kubelet is seen stopped.
func (in *Injector) injectWithAgent(ctx context.Context, env fault.Env, rec fault.Record) error {
	node := nodeName(rec)
	hold, err := recordHold(rec)
	if err != nil {
		return err
	}
	n, err := env.Client.CoreV1().Nodes().Get(ctx, node, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("node %s: %w", node, err)
	}
	if other, ok := otherFault(n, rec); ok {
		return fmt.Errorf("node %s already carries fault %q: revert it first (`gameday recover`)", node, other)
	}
	if !clusters.NodeReady(n) {
		return fmt.Errorf("node %s is not Ready before the fault: gameday could not tell when its kubelet stops; fix the node or pick another", node)
	}
	if err := fault.SetMarker(ctx, in.patcher(env), node, rec); err != nil {
		return err
	}
	ns, name := agentPodRef(rec)
	if err := ensureNamespace(ctx, env.Client, ns); err != nil {
		return err
	}
	pod := nodeagent.Pod(node, in.AgentImage, hold, rec.ID)
	pod.Namespace, pod.Name = ns, name
	_, err = env.Client.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{FieldManager: "gameday"})
	switch {
	case apierrors.IsAlreadyExists(err):
		// Ours (Inject called again for the same record) is fine; another fault's is not.
		p, gerr := env.Client.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
		if gerr != nil {
			return fmt.Errorf("node agent pod %s/%s: %w", ns, name, gerr)
		}
		if owner := p.Annotations[nodeagent.RecordAnnotation]; owner != rec.ID {
			return fmt.Errorf("node agent pod %s/%s already exists for fault %q: another fault holds node %s (`gameday recover` reverts it)", ns, name, owner, node)
		}
	case apierrors.IsForbidden(err):
		return fmt.Errorf("creating node agent pod %s/%s (privileged, hostPID: namespace %s must allow it, e.g. with the label pod-security.kubernetes.io/enforce=privileged): %w",
			ns, name, ns, err)
	case err != nil:
		return fmt.Errorf("creating node agent pod %s/%s: %w", ns, name, err)
	}
	return in.waitKubeletStopped(ctx, env.Client, node, ns, name)
}

// waitKubeletStopped waits until the node's kubelet is seen stopped: the Node is no
// longer Ready, or its Lease has not been renewed for a while. The agent's own
// kubeletStopped line cannot be read: the API server reads pod logs through the kubelet
// it has just stopped. It fails early when the agent pod cannot start or fails.
func (in *Injector) waitKubeletStopped(ctx context.Context, client kubernetes.Interface, node, ns, name string) error {
	t := in.timing.withDefaults()
	ctx, cancel := context.WithTimeout(ctx, t.stopTimeout)
	defer cancel()
	var lease leaseWatch
	last := "not looked at yet"
	err := wait.PollUntilContextCancel(ctx, t.poll, true, func(ctx context.Context) (bool, error) {
		p, err := client.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			return false, fmt.Errorf("node agent pod %s/%s was deleted before it stopped the kubelet", ns, name)
		case err != nil:
			last = "API error: " + err.Error()
			return false, nil
		}
		switch p.Status.Phase {
		case corev1.PodSucceeded:
			return true, nil // the agent has already been through its whole hold
		case corev1.PodFailed:
			return false, fmt.Errorf("node agent pod %s/%s failed: %s%s", ns, name, podState(p), agentLogTail(ctx, client, ns, name))
		}
		if reason := startFailure(p); reason != "" {
			return false, fmt.Errorf("node agent pod %s/%s cannot start: %s", ns, name, reason)
		}
		last = "agent pod " + podState(p) + ", node Ready"
		if n, err := client.CoreV1().Nodes().Get(ctx, node, metav1.GetOptions{}); err == nil && !clusters.NodeReady(n) {
			return true, nil
		}
		return lease.stopped(ctx, client, node, t.leaseStale), nil
	})
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("the node agent did not stop the kubelet on node %s within %s (last seen: %s): %w", node, t.stopTimeout, last, err)
		}
		return err
	}
	return nil
}

// leaseWatch tells a stopped kubelet from its node Lease: the renew time stops
// changing. It is timed on this machine's clock, so the node's clock does not matter.
type leaseWatch struct {
	renew time.Time // the latest renew time seen
	since time.Time // when it was first seen, on this machine's clock
}

func (l *leaseWatch) stopped(ctx context.Context, client kubernetes.Interface, node string, stale time.Duration) bool {
	lease, err := client.CoordinationV1().Leases(nodeLeaseNamespace).Get(ctx, node, metav1.GetOptions{})
	if err != nil || lease.Spec.RenewTime == nil {
		return false
	}
	now := time.Now()
	if rt := lease.Spec.RenewTime.Time; l.since.IsZero() || !rt.Equal(l.renew) {
		l.renew, l.since = rt, now
		return false
	}
	return now.Sub(l.since) >= stale
}

// recoverWithAgent brings the kubelet back: it deletes the agent pod, which ends the
// agent's hold at once when the kubelet runs, and otherwise is carried out when the
// agent's dead-man's switch has started the kubelet again. It then waits until the pod
// is gone and the Node is Ready, and only then removes the marker.
func (in *Injector) recoverWithAgent(ctx context.Context, env fault.Env, rec fault.Record) error {
	t := in.timing.withDefaults()
	node := nodeName(rec)
	ns, name := agentPodRef(rec)
	hold, _ := recordHold(rec) // 0 when unknown: the record was never injected
	// The agent starts the kubelet again hold after stopping it, which Inject waits for
	// for at most stopTimeout after the record was planned.
	restartBy := rec.PlannedAt.Add(t.stopTimeout + hold)
	deadline := restartBy
	if now := time.Now(); now.After(deadline) {
		deadline = now
	}
	deadline = deadline.Add(t.recoverGrace)
	wctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()

	// A record that was refused because another fault holds the node is not injected:
	// its revert must leave the other fault's marker and pod alone.
	if n, err := env.Client.CoreV1().Nodes().Get(wctx, node, metav1.GetOptions{}); err == nil {
		if _, ok := otherFault(n, rec); ok {
			return nil
		}
	}
	// The grace period the pod was created with stays: the runtime must not kill the
	// agent between its stop and start.
	if err := fault.RetryAPI(wctx, func(ctx context.Context) error {
		p, err := env.Client.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) || (err == nil && !ownPod(p, rec)) {
			return nil
		}
		if err != nil {
			return err
		}
		err = env.Client.CoreV1().Pods(ns).Delete(ctx, name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &p.UID}})
		if apierrors.IsNotFound(err) {
			return nil
		}
		return err // a conflict (another pod of that name): the next try looks again
	}); err != nil {
		return fmt.Errorf("deleting node agent pod %s/%s: %w", ns, name, err)
	}

	var podLeft *corev1.Pod
	var nodeObj *corev1.Node
	var lastErr error
	err := wait.PollUntilContextCancel(wctx, t.poll, true, func(ctx context.Context) (bool, error) {
		p, err := env.Client.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			podLeft = nil
		case err != nil:
			lastErr = err
			return false, nil
		case ownPod(p, rec):
			podLeft = p
		default:
			podLeft = nil // another fault's agent, created after ours was removed
		}
		n, err := env.Client.CoreV1().Nodes().Get(ctx, node, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			nodeObj = nil
		case err != nil:
			lastErr = err
			return false, nil
		default:
			nodeObj = n
		}
		lastErr = nil
		return podLeft == nil && nodeObj != nil && clusters.NodeReady(nodeObj), nil
	})
	if err != nil {
		return notRecovered(node, ns, name, restartBy, podLeft, nodeObj, lastErr, err)
	}
	return fault.ClearMarker(ctx, in.patcher(env), node)
}

// notRecovered explains why a node is not back and what the operator can do.
func notRecovered(node, ns, name string, restartBy time.Time,
	pod *corev1.Pod, n *corev1.Node, apiErr, err error) error {
	manual := fmt.Sprintf("if it stays so, log in to node %s and run `systemctl start kubelet` (see `journalctl -u kubelet`), then run `gameday recover`", node)
	var state string
	switch {
	case apiErr != nil:
		state = fmt.Sprintf("the API server did not answer (%v)", apiErr)
	case n == nil:
		state = fmt.Sprintf("the Node object %s is gone (its kubelet registers it again when it runs)", node)
	case !clusters.NodeReady(n):
		state = fmt.Sprintf("node %s is %s", node, readyState(n))
	default:
		state = fmt.Sprintf("node %s is Ready", node)
	}
	if pod != nil {
		state += fmt.Sprintf("; node agent pod %s/%s is still there (%s): no kubelet has removed it", ns, name, podState(pod))
	}
	if time.Now().Before(restartBy) {
		// The caller ran out of time before the dead-man's switch.
		return fmt.Errorf("the kubelet of node %s is still stopped: %s; the node agent starts it again by about %s (its dead-man's switch: "+
			"the API cannot reach the agent while the kubelet is down); run `gameday recover` after that; %s: %w",
			node, state, restartBy.Local().Format(time.TimeOnly), manual, err)
	}
	return fmt.Errorf("node %s did not come back after the node agent's hold ended (about %s): %s; %s: %w",
		node, restartBy.Local().Format(time.TimeOnly), state, manual, err)
}

// verifyAgentGone reports an agent pod that is still there.
func verifyAgentGone(ctx context.Context, client kubernetes.Interface, rec fault.Record) error {
	ns, name := agentPodRef(rec)
	p, err := client.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return nil
	case err != nil:
		return fmt.Errorf("node agent pod %s/%s: %w", ns, name, err)
	case !ownPod(p, rec):
		return nil
	}
	return fmt.Errorf("node agent pod %s/%s is still there (%s)", ns, name, podState(p))
}

// ownPod reports whether an agent pod belongs to rec.
func ownPod(p *corev1.Pod, rec fault.Record) bool {
	return p.Annotations[nodeagent.RecordAnnotation] == rec.ID
}

// otherFault returns the ID of another fault record marking the node, if any.
func otherFault(n *corev1.Node, rec fault.Record) (string, bool) {
	v, ok := n.Annotations[fault.MarkerAnnotation]
	if !ok {
		return "", false
	}
	other, err := fault.ParseRecord(v)
	if err != nil {
		return v, true
	}
	return other.ID, other.ID != rec.ID
}

func ensureNamespace(ctx context.Context, client kubernetes.Interface, name string) error {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
		Name: name, Labels: map[string]string{nodeagent.ManagedByLabel: nodeagent.ManagedByValue},
	}}
	_, err := client.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{FieldManager: "gameday"})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating namespace %s: %w", name, err)
	}
	return nil
}

func readyState(n *corev1.Node) string {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			s := "Ready=" + string(c.Status)
			if c.Reason != "" {
				s += " (" + c.Reason + ")"
			}
			return s
		}
	}
	return "without a Ready condition"
}

// startFailure is why the pod's container cannot start, or "".
func startFailure(p *corev1.Pod) string {
	for _, cs := range p.Status.ContainerStatuses {
		if w := cs.State.Waiting; w != nil {
			switch w.Reason {
			case "ErrImagePull", "ImagePullBackOff", "ErrImageNeverPull", "InvalidImageName",
				"CreateContainerConfigError", "CreateContainerError", "RunContainerError":
				return fmt.Sprintf("container %s: %s: %s", cs.Name, w.Reason, w.Message)
			}
		}
	}
	return ""
}

// podState summarises a pod's phase and container states.
func podState(p *corev1.Pod) string {
	state := "phase " + string(p.Status.Phase)
	if p.Status.Phase == "" {
		state = "phase Pending"
	}
	if p.DeletionTimestamp != nil {
		state += ", deleting"
	}
	for _, cs := range p.Status.ContainerStatuses {
		switch {
		case cs.State.Waiting != nil:
			state += fmt.Sprintf(", container waiting: %s %s", cs.State.Waiting.Reason, cs.State.Waiting.Message)
		case cs.State.Terminated != nil:
			state += fmt.Sprintf(", container exited %d %s", cs.State.Terminated.ExitCode, cs.State.Terminated.Reason)
		}
	}
	return state
}

// agentLogTail is the end of the agent's log, for an error message ("" if unreadable).
func agentLogTail(ctx context.Context, client kubernetes.Interface, ns, name string) string {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	rc, err := client.CoreV1().Pods(ns).GetLogs(name, &corev1.PodLogOptions{TailLines: ptr.To[int64](5)}).Stream(ctx)
	if err != nil {
		return ""
	}
	defer rc.Close()
	b, _ := io.ReadAll(io.LimitReader(rc, 4096))
	if s := strings.TrimSpace(string(b)); s != "" {
		return "; agent log: " + s
	}
	return ""
}
