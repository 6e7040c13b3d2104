package probe

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilrand "k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"
)

// Labels on every agent pod.
const (
	ManagedByLabel = "app.kubernetes.io/managed-by" // value ManagedByValue, on everything gameday creates
	ManagedByValue = "gameday"
	AgentNameLabel = "app.kubernetes.io/name" // value AgentNameValue
	AgentNameValue = "gameday-agent"
)

// DefaultAgentImage is the gameday binary packaged FROM scratch by the offline test bed.
const DefaultAgentImage = "gameday/gameday:dev"

// agentPollInterval is how often DeployAgent and DeleteAgent look at the pod.
const agentPollInterval = 250 * time.Millisecond

// AgentDeployment describes the agent pod to create.
type AgentDeployment struct {
	Namespace string   // must exist
	Name      string   // pod name; "" generates "gameday-agent-xxxxx"
	Image     string   // "" means DefaultAgentImage
	NodeName  string   // node to pin the pod to; pick one that is not under fault
	Args      []string // the agent's flags, usually AgentConfig.Args()
	// Command overrides the image's entrypoint; nil runs the image's entrypoint (the gameday
	// binary) with "agent" followed by Args.
	Command []string
}

// AgentPod returns the pod DeployAgent creates for d: a bare pod pinned with spec.nodeName
// (so the scheduler is not on its path) that tolerates the control-plane taint and is not
// evicted from a NotReady node, never pulls its image, needs no service account, and uses the
// node's resolver rather than cluster DNS, so that DNS is measured only by DNS probes.
func AgentPod(d AgentDeployment) *corev1.Pod {
	image := d.Image
	if image == "" {
		image = DefaultAgentImage
	}
	name, generate := d.Name, ""
	if name == "" {
		generate = AgentNameValue + "-"
	}
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name:         name,
			GenerateName: generate,
			Namespace:    d.Namespace,
			Labels: map[string]string{
				ManagedByLabel:                ManagedByValue,
				AgentNameLabel:                AgentNameValue,
				"app.kubernetes.io/component": "probe-agent",
			},
		},
		Spec: corev1.PodSpec{
			NodeName:                      d.NodeName,
			RestartPolicy:                 corev1.RestartPolicyAlways,
			TerminationGracePeriodSeconds: ptr.To[int64](2),
			AutomountServiceAccountToken:  ptr.To(false),
			EnableServiceLinks:            ptr.To(false),
			DNSPolicy:                     corev1.DNSDefault,
			Tolerations: []corev1.Toleration{
				{Key: "node-role.kubernetes.io/control-plane", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule},
				{Key: "node.kubernetes.io/not-ready", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute},
				{Key: "node.kubernetes.io/unreachable", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute},
			},
			SecurityContext: &corev1.PodSecurityContext{
				RunAsNonRoot:   ptr.To(true),
				RunAsUser:      ptr.To[int64](65532),
				RunAsGroup:     ptr.To[int64](65532),
				SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
			},
			Containers: []corev1.Container{{
				Name:            "agent",
				Image:           image,
				ImagePullPolicy: corev1.PullIfNotPresent,
				Command:         d.Command,
				Args:            append([]string{"agent"}, d.Args...),
				Resources: corev1.ResourceRequirements{
					Requests: corev1.ResourceList{
						corev1.ResourceCPU:    resource.MustParse("20m"),
						corev1.ResourceMemory: resource.MustParse("32Mi"),
					},
					Limits: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("128Mi")},
				},
				SecurityContext: &corev1.SecurityContext{
					AllowPrivilegeEscalation: ptr.To(false),
					ReadOnlyRootFilesystem:   ptr.To(true),
					Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
				},
			}},
		},
	}
}

// DeployAgent creates the agent pod described by d and waits until its container runs. It
// fails early, with the reason, when the container cannot start (ErrImageNeverPull,
// CrashLoopBackOff, ...) or the pod ends. ctx bounds the wait. It returns the pod's name.
func DeployAgent(ctx context.Context, client kubernetes.Interface, d AgentDeployment) (string, error) {
	if d.Namespace == "" {
		return "", errors.New("deploy agent: namespace is required")
	}
	pod := AgentPod(d)
	if pod.Name == "" {
		// Generated here rather than by the API server so that every client (and fake) agrees.
		pod.Name, pod.GenerateName = pod.GenerateName+utilrand.String(5), ""
	}
	created, err := client.CoreV1().Pods(d.Namespace).Create(ctx, pod, metav1.CreateOptions{})
	if err != nil {
		return "", fmt.Errorf("deploy agent: create pod %s/%s: %w", d.Namespace, pod.Name, err)
	}
	name := created.Name
	var apiErr error     // the latest failed Get, reported if the wait times out
	var lastState string // the pod's state at the latest Get, reported if the wait times out
	err = wait.PollUntilContextCancel(ctx, agentPollInterval, true, func(ctx context.Context) (bool, error) {
		p, err := client.CoreV1().Pods(d.Namespace).Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return false, fmt.Errorf("pod was deleted: %w", err)
		}
		if err != nil {
			apiErr = err // the API server may be briefly unavailable: keep polling
			return false, nil
		}
		apiErr, lastState = nil, podState(p)
		return agentRunning(p)
	})
	if err != nil {
		switch {
		case apiErr != nil:
			err = fmt.Errorf("%w (last API error: %w)", err, apiErr)
		case lastState != "" && ctx.Err() != nil:
			err = fmt.Errorf("%w (pod %s)", err, lastState)
		}
		return name, fmt.Errorf("deploy agent %s/%s: %w", d.Namespace, name, err)
	}
	return name, nil
}

// agentRunning reports whether the pod's agent container runs, or an error when it cannot
// start or has ended.
func agentRunning(p *corev1.Pod) (bool, error) {
	switch p.Status.Phase {
	case corev1.PodFailed, corev1.PodSucceeded:
		return false, fmt.Errorf("pod ended in phase %s: %s", p.Status.Phase, p.Status.Message)
	}
	for _, cs := range p.Status.ContainerStatuses {
		if cs.State.Running != nil && p.Status.Phase == corev1.PodRunning {
			return true, nil
		}
		if w := cs.State.Waiting; w != nil {
			switch w.Reason {
			case "ErrImagePull", "ImagePullBackOff", "ErrImageNeverPull", "InvalidImageName",
				"CrashLoopBackOff", "CreateContainerConfigError", "CreateContainerError", "RunContainerError":
				return false, fmt.Errorf("container %s: %s: %s", cs.Name, w.Reason, w.Message)
			}
		}
	}
	return false, nil
}

// podState summarises a pod's phase and container states for an error message.
func podState(p *corev1.Pod) string {
	state := "phase " + string(p.Status.Phase)
	for _, cs := range p.Status.ContainerStatuses {
		if w := cs.State.Waiting; w != nil {
			state += fmt.Sprintf(", container %s waiting: %s %s", cs.Name, w.Reason, w.Message)
		}
	}
	return state
}

// DeleteAgent deletes the agent pod and waits until it is gone. A pod that does not exist
// counts as deleted, so DeleteAgent can be called again after a crash.
func DeleteAgent(ctx context.Context, client kubernetes.Interface, namespace, name string) error {
	err := client.CoreV1().Pods(namespace).Delete(ctx, name, metav1.DeleteOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("delete agent %s/%s: %w", namespace, name, err)
	}
	err = wait.PollUntilContextCancel(ctx, agentPollInterval, true, func(ctx context.Context) (bool, error) {
		_, err := client.CoreV1().Pods(namespace).Get(ctx, name, metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	})
	if err != nil {
		return fmt.Errorf("delete agent %s/%s: wait until gone: %w", namespace, name, err)
	}
	return nil
}

// followTiming is how FollowAgent paces reconnects and detects a stalled stream.
type followTiming struct {
	retryFirst time.Duration // delay before the first reconnect after a failure, doubled up to retryMax
	retryMax   time.Duration
	idle       time.Duration // a stream with no data for this long is dropped and reconnected
}

// defaultFollowTiming gives up on a silent stream after three missed heartbeats and more.
var defaultFollowTiming = followTiming{retryFirst: 250 * time.Millisecond, retryMax: 2 * time.Second, idle: 4 * DefaultHeartbeat}

// FollowAgent streams the agent pod's log and emits every sample it contains, in order, until
// ctx ends (then it returns nil). When the stream breaks (API server restart, kubelet
// blip, container restart) or goes silent for four heartbeat periods (a connection that hangs
// instead of failing), it reconnects with sinceTime just before the latest time it has seen
// and drops the samples it already emitted, so no sample is lost or emitted twice. It returns
// an error only if the pod no longer exists.
//
// PATH (of the results, not of the probes): harness → API server → the agent node's kubelet
// → the container log. While that path is down, samples wait in the log and arrive late.
func FollowAgent(ctx context.Context, client kubernetes.Interface, namespace, pod string, emit func(Sample)) error {
	return followAgent(ctx, client, namespace, pod, nil, emit, defaultFollowTiming)
}

// FollowAgentWithClock is FollowAgent that also passes every line it reads to clock, with
// the time it arrived, so clock can estimate the agent clock's offset. The samples it emits
// keep the agent's times: correct them with the final estimate (ClockEstimate.Correct,
// Recorder.Shift) once the agent has stopped.
func FollowAgentWithClock(ctx context.Context, client kubernetes.Interface, namespace, pod string, clock *AgentClock, emit func(Sample)) error {
	return followAgent(ctx, client, namespace, pod, clock, emit, defaultFollowTiming)
}

func followAgent(ctx context.Context, client kubernetes.Interface, namespace, pod string, clock *AgentClock, emit func(Sample), timing followTiming) error {
	reader := newAgentLogReader()
	reader.clock = clock
	delay := timing.retryFirst
	for ctx.Err() == nil {
		opts := &corev1.PodLogOptions{Follow: true, Timestamps: false}
		if since, ok := reader.resumeFrom(); ok {
			opts.SinceTime = &metav1.Time{Time: since}
		}
		before := reader.latest
		err := followStream(ctx, client, namespace, pod, opts, timing.idle, reader, emit)
		if apierrors.IsNotFound(err) {
			return fmt.Errorf("follow agent %s/%s: %w", namespace, pod, err)
		}
		if reader.latest.After(before) {
			delay = timing.retryFirst // the stream delivered: not an outage
		}
		select {
		case <-ctx.Done():
		case <-time.After(delay):
		}
		delay = min(2*delay, timing.retryMax)
	}
	return nil
}

// followStream reads one log stream until it ends, fails, or stays silent for idle.
func followStream(ctx context.Context, client kubernetes.Interface, namespace, pod string, opts *corev1.PodLogOptions,
	idle time.Duration, reader *agentLogReader, emit func(Sample)) error {
	streamCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	watchdog := time.AfterFunc(idle, cancel)
	defer watchdog.Stop()
	stream, err := client.CoreV1().Pods(namespace).GetLogs(pod, opts).Stream(streamCtx)
	if err != nil {
		return err
	}
	defer stream.Close()
	// A broken stream is what the reconnect is for: its error is not reported.
	_ = reader.read(&activityReader{r: stream, onData: func() { watchdog.Reset(idle) }}, emit)
	return nil
}

// activityReader calls onData whenever a Read returns data.
type activityReader struct {
	r      io.Reader
	onData func()
}

func (a *activityReader) Read(p []byte) (int, error) {
	n, err := a.r.Read(p)
	if n > 0 {
		a.onData()
	}
	return n, err
}
