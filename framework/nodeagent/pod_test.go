package nodeagent_test

import (
	"strings"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/gameday-dev/gameday/framework/nodeagent"
)

func TestPod(t *testing.T) {
	t.Parallel()
	p := nodeagent.Pod("worker-1", "", 45*time.Second, "run-1/lose-node/node/worker-1")
	assert.Equal(t, p.Name, "gameday-node-agent-worker-1")
	assert.Equal(t, p.Namespace, "gameday-system")
	assert.DeepEqual(t, p.Labels, map[string]string{
		"app.kubernetes.io/managed-by": "gameday",
		"app.kubernetes.io/name":       "gameday-node-agent",
		"app.kubernetes.io/component":  "node-agent",
	})
	assert.DeepEqual(t, p.Annotations, map[string]string{"gameday.dev/fault-record": "run-1/lose-node/node/worker-1"})

	s := p.Spec
	assert.Equal(t, s.NodeName, "worker-1")
	assert.Assert(t, s.HostPID)
	assert.Assert(t, !s.HostNetwork)
	assert.Equal(t, s.RestartPolicy, corev1.RestartPolicyNever)
	assert.Equal(t, s.SchedulerName, "", "pinned with nodeName, no scheduler")
	// Every taint is tolerated: the node goes NotReady (and unreachable) under the fault.
	assert.DeepEqual(t, s.Tolerations, []corev1.Toleration{{Operator: corev1.TolerationOpExists}})
	// The runtime must not SIGKILL the agent before it has started the kubelet again.
	assert.Assert(t, *s.TerminationGracePeriodSeconds >= int64((45*time.Second+nodeagent.DefaultRetryFor).Seconds()), "%d", *s.TerminationGracePeriodSeconds)
	assert.Assert(t, !*s.AutomountServiceAccountToken)

	assert.Equal(t, len(s.Containers), 1)
	c := s.Containers[0]
	assert.Equal(t, c.Image, "gameday/gameday:dev")
	assert.Equal(t, c.ImagePullPolicy, corev1.PullIfNotPresent)
	assert.Assert(t, c.Command == nil, "the image's entrypoint is the gameday binary")
	assert.DeepEqual(t, c.Args, []string{"node-agent", "--stop-kubelet-for", "45s", "--host-root", "/proc/1/root"})
	assert.Assert(t, c.SecurityContext != nil && c.SecurityContext.Privileged != nil && *c.SecurityContext.Privileged)
	assert.Equal(t, *c.SecurityContext.RunAsUser, int64(0))
	assert.Assert(t, !c.Resources.Limits.Memory().IsZero())

	assert.Equal(t, nodeagent.Pod("worker-1", "registry.local/gameday:v1", time.Minute, "x").Spec.Containers[0].Image, "registry.local/gameday:v1")
}

func TestPodName(t *testing.T) {
	t.Parallel()
	tests := []string{
		"worker-1",
		"ip-10-0-1-2.eu-west-1.compute.internal",
		strings.Repeat("a", 63) + "." + strings.Repeat("b", 63) + "." + strings.Repeat("c", 63) + "." + strings.Repeat("d", 61),
		strings.Repeat("a", 223) + ".-" + strings.Repeat("e", 28), // cut right after ".-"
	}
	seen := map[string]bool{}
	for _, node := range tests {
		name := nodeagent.PodName(node)
		assert.Assert(t, len(name) <= 253, "%d", len(name))
		assert.Assert(t, len(validation.IsDNS1123Subdomain(name)) == 0, "%q: %v", name, validation.IsDNS1123Subdomain(name))
		assert.Assert(t, !seen[name])
		seen[name] = true
		if len(node) < 200 {
			assert.Equal(t, name, "gameday-node-agent-"+node)
		}
	}
}
