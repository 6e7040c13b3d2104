package nodeagent

import (
	"fmt"
	"hash/fnv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/gameday-dev/gameday/framework/probe"
)

// Where and how the agent pod runs.
const (
	// Namespace is where agent pods run: gameday's own namespace, shared with the probe agent.
	Namespace = "gameday-system"
	// NameLabel is set to NameValue on every agent pod (and ManagedByLabel to ManagedByValue).
	NameLabel = probe.AgentNameLabel
	NameValue = "gameday-node-agent"
	// ManagedByLabel and ManagedByValue mark everything gameday creates.
	ManagedByLabel = probe.ManagedByLabel
	ManagedByValue = probe.ManagedByValue
	// RecordAnnotation holds the ID of the fault record the pod belongs to.
	RecordAnnotation = "gameday.dev/fault-record"
	// DefaultImage is the gameday binary FROM scratch, the image of the probe agent too.
	DefaultImage = probe.DefaultAgentImage
	// ContainerName is the agent's container in the pod.
	ContainerName = "node-agent"
)

// terminationMargin is added to the hold and the kubelet start retries to make the
// pod's termination grace period: the runtime must never SIGKILL the agent between
// stopping the kubelet and starting it again. A SIGTERM ends the hold at once, so the
// long grace period does not slow down a normal deletion.
const terminationMargin = time.Minute

// maxNameLength is the longest pod name (a DNS subdomain).
const maxNameLength = 253

// PodName is the name of the agent pod for a node: one per node, so that two faults
// cannot hold the same kubelet at once.
func PodName(node string) string {
	name := NameValue + "-" + node
	if len(name) <= maxNameLength {
		return name
	}
	h := fnv.New32a()
	_, _ = h.Write([]byte(node))
	suffix := fmt.Sprintf("-%08x", h.Sum32())
	return strings.TrimRight(name[:maxNameLength-len(suffix)], ".-") + suffix
}

// Pod returns the agent pod that stops the kubelet of node for hold: in Namespace,
// named PodName(node), pinned to the node with spec.nodeName (no scheduler on the path),
// privileged with hostPID (to chroot into the host through /proc/1/root), tolerating
// every taint (a NotReady node's included), never restarted, and annotated with the
// fault record's ID. An empty image means DefaultImage, which must already be on the
// node.
func Pod(node, image string, hold time.Duration, recordID string) *corev1.Pod {
	if image == "" {
		image = DefaultImage
	}
	grace := int64((hold + DefaultRetryFor + terminationMargin).Seconds())
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name:      PodName(node),
			Namespace: Namespace,
			Labels: map[string]string{
				ManagedByLabel:                ManagedByValue,
				NameLabel:                     NameValue,
				"app.kubernetes.io/component": "node-agent",
			},
			Annotations: map[string]string{RecordAnnotation: recordID},
		},
		Spec: corev1.PodSpec{
			NodeName:                      node,
			HostPID:                       true,
			RestartPolicy:                 corev1.RestartPolicyNever,
			TerminationGracePeriodSeconds: ptr.To(grace),
			AutomountServiceAccountToken:  ptr.To(false),
			EnableServiceLinks:            ptr.To(false),
			Tolerations:                   []corev1.Toleration{{Operator: corev1.TolerationOpExists}},
			Containers: []corev1.Container{{
				Name:            ContainerName,
				Image:           image,
				ImagePullPolicy: corev1.PullIfNotPresent,
				Args:            []string{"node-agent", "--stop-kubelet-for", hold.String(), "--host-root", DefaultHostRoot},
				Resources: corev1.ResourceRequirements{
					Requests: corev1.ResourceList{
						corev1.ResourceCPU:    resource.MustParse("10m"),
						corev1.ResourceMemory: resource.MustParse("16Mi"),
					},
					Limits: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("128Mi")},
				},
				SecurityContext: &corev1.SecurityContext{
					Privileged: ptr.To(true),
					RunAsUser:  ptr.To[int64](0),
				},
			}},
		},
	}
}
