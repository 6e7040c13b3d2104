// Package nodeloss implements the nodeLoss fault: worker (or control-plane) nodes
// are taken away and brought back.
//
// On kind, a node is a container, so losing it is what losing a machine looks like:
//   - stop: the node container is stopped (systemd shuts the node down; its IP goes
//     away) and started again on recovery;
//   - pause: every process on the node is frozen (a hung machine: TCP connections
//     to it hang instead of being refused) and thawed on recovery;
//   - killKubelet: the kubelet is stopped (pods keep running, the node stops
//     reporting) and started again on recovery.
//
// On an existing cluster (reached by kubeconfig, with no NodeController) gameday cannot
// reach the machines, so only killKubelet is possible, and only with the scenario's
// explicit opt-in (nodeLoss.allowExistingCluster: true): a privileged node agent pod
// (package nodeagent) pinned to the node stops the kubelet and starts it again after the
// step's duration, on its own, as a dead-man's switch. While the kubelet is stopped the
// API cannot reach that pod, so recovery cannot come sooner than the agent's hold.
// docs/faults.md says what each mode does and what recovery can and cannot do.
//
// Before a node is touched, the Node object is annotated with the fault record, so
// `gameday recover` can find and revert it even without the run's journal.
package nodeloss

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/gameday-dev/gameday/clusters"
	"github.com/gameday-dev/gameday/framework/fault"
	"github.com/gameday-dev/gameday/framework/scenario"
)

// Kind is the fault kind this package registers.
const Kind = "nodeLoss"

func init() {
	fault.RegisterWithSpec((*Spec)(nil), func(spec scenario.FaultSpec) (fault.Action, error) {
		if spec == nil {
			return &Injector{}, nil
		}
		s, ok := spec.(*Spec)
		if !ok {
			return nil, fmt.Errorf("nodeLoss: unexpected spec %T", spec)
		}
		return &Injector{Spec: *s}, nil
	})
}

// Injector injects and reverts node loss.
type Injector struct {
	// Spec is the scenario's nodeLoss configuration (empty for recovery only).
	Spec Spec
	// AgentImage is the node agent's image on existing clusters; "" means
	// nodeagent.DefaultImage. It must already be on the nodes.
	AgentImage string

	timing agentTiming // the node agent path's pacing; zero means the defaults
}

const controlPlaneLabel = "node-role.kubernetes.io/control-plane"

// Plan resolves the target nodes. On a cluster without a NodeController (an existing
// cluster) it requires Spec.AllowExistingCluster and mode killKubelet, and plans records
// for the node agent, holding env.Hold.
func (in *Injector) Plan(ctx context.Context, env fault.Env) ([]fault.Record, error) {
	existing := env.Cluster.Nodes == nil
	if existing {
		if err := in.checkExistingCluster(env); err != nil {
			return nil, err
		}
	}
	names, err := SelectNodes(ctx, env, in.Spec.Target)
	if err != nil {
		return nil, err
	}
	recs := make([]fault.Record, 0, len(names))
	for _, n := range names {
		rec := fault.Record{
			ID: fault.RecordID(env.RunID, env.Step, "node/"+n), Kind: Kind, Mode: string(in.Spec.Mode),
			RunID: env.RunID, Step: env.Step, Cluster: env.Cluster.Name, Target: "node/" + n,
			PlannedAt: time.Now().UTC(),
		}
		if existing {
			rec.Restore = agentRestore(env, n)
		}
		recs = append(recs, rec)
	}
	return recs, nil
}

// SelectNodes resolves a node target to node names: listed names must exist; a role
// picks the first Count nodes of that role in name order (deterministic, so a plan
// printed by --dry-run is the plan that runs).
func SelectNodes(ctx context.Context, env fault.Env, target Target) ([]string, error) {
	list, err := env.Client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("listing nodes: %w", err)
	}
	byName := map[string]corev1.Node{}
	for _, n := range list.Items {
		byName[n.Name] = n
	}
	if len(target.Names) > 0 {
		for _, n := range target.Names {
			if _, ok := byName[n]; !ok {
				return nil, fmt.Errorf("nodeLoss target: no node named %q (nodes: %s)", n, strings.Join(sortedKeys(byName), ", "))
			}
		}
		return target.Names, nil
	}
	var matching []string
	for name, n := range byName {
		_, isCP := n.Labels[controlPlaneLabel]
		if (target.Role == RoleControlPlane) == isCP {
			matching = append(matching, name)
		}
	}
	sort.Strings(matching)
	if len(matching) < target.Count {
		return nil, fmt.Errorf("nodeLoss target: %d %s node(s) asked for, the cluster has %d (%s)",
			target.Count, target.Role, len(matching), strings.Join(matching, ", "))
	}
	return matching[:target.Count], nil
}

func sortedKeys(m map[string]corev1.Node) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func nodeName(rec fault.Record) string { return strings.TrimPrefix(rec.Target, "node/") }

func (in *Injector) patcher(env fault.Env) fault.Patcher {
	return func(ctx context.Context, name string, pt types.PatchType, data []byte, opts metav1.PatchOptions, sub ...string) error {
		_, err := env.Client.CoreV1().Nodes().Patch(ctx, name, pt, data, opts, sub...)
		return err
	}
}

// Inject marks the Node object, then takes the node away. A record planned for the node
// agent creates the agent pod and returns once the kubelet is seen stopped.
func (in *Injector) Inject(ctx context.Context, env fault.Env, rec fault.Record) error {
	if viaAgent(rec) {
		return in.injectWithAgent(ctx, env, rec)
	}
	if env.Cluster.Nodes == nil {
		return fmt.Errorf("nodeLoss: cluster %q has no node controller", env.Cluster.Name)
	}
	node := nodeName(rec)
	if err := fault.SetMarker(ctx, in.patcher(env), node, rec); err != nil {
		return err
	}
	switch Mode(rec.Mode) {
	case Stop, "":
		return env.Cluster.Nodes.StopNode(ctx, node)
	case Pause:
		return env.Cluster.Nodes.PauseNode(ctx, node)
	case KillKubelet:
		_, err := env.Cluster.Nodes.Exec(ctx, node, nil, "systemctl", "stop", "kubelet")
		return err
	}
	return fmt.Errorf("nodeLoss: unknown mode %q", rec.Mode)
}

// Recover brings the node back (start, unpause or restart the kubelet, whatever the
// node's state now is), then removes the marker once the API server accepts it.
//
// A record injected through the node agent is recovered by deleting the agent pod and
// waiting, until the agent's hold plus two minutes at most, for the pod to be gone and
// the Node Ready; the marker is removed only then. A kubelet that is still stopped
// cannot be started from here: the error says when the agent will start it and what to
// run on the node if it does not.
func (in *Injector) Recover(ctx context.Context, env fault.Env, rec fault.Record) error {
	if viaAgent(rec) {
		return in.recoverWithAgent(ctx, env, rec)
	}
	if env.Cluster.Nodes == nil {
		return fmt.Errorf("nodeLoss: cluster %q has no node controller to bring node %s back", env.Cluster.Name, nodeName(rec))
	}
	node := nodeName(rec)
	// Each attempt looks at the node afresh: a harness killed in the middle of
	// `docker stop` leaves a node that still reads "running" and stops a few seconds
	// later, so the kubelet start below fails until the node is started again.
	// A node that was just started also needs a moment before systemd accepts commands.
	if err := fault.RetryAPI(ctx, func(ctx context.Context) error {
		return bringBack(ctx, env.Cluster.Nodes, node)
	}); err != nil {
		return fmt.Errorf("bringing node %s back: %w", node, err)
	}
	return fault.ClearMarker(ctx, in.patcher(env), node)
}

// errNodeMissing is returned (and not retried) when a node's machine is gone.
var errNodeMissing = errors.New("no longer exists; it cannot be brought back")

// bringBack starts or thaws the node machine as its state requires, then makes
// sure its kubelet runs (a no-op when it does, whatever the mode was).
func bringBack(ctx context.Context, nodes clusters.NodeController, node string) error {
	state, err := nodes.State(ctx, node)
	if err != nil {
		return err
	}
	switch state {
	case clusters.NodePaused:
		err = nodes.UnpauseNode(ctx, node)
	case clusters.NodeStopped:
		err = nodes.StartNode(ctx, node)
	case clusters.NodeMissing:
		return fault.Permanent(fmt.Errorf("node %s %w", node, errNodeMissing))
	}
	if err != nil {
		return err
	}
	// A node whose shutdown is under way (a `docker stop` the harness was killed in
	// the middle of) still runs and accepts commands for a few seconds: wait it out.
	if out, _ := nodes.Exec(ctx, node, nil, "systemctl", "is-system-running"); strings.TrimSpace(string(out)) == "stopping" {
		return fmt.Errorf("node %s is shutting down", node)
	}
	if _, err := nodes.Exec(ctx, node, nil, "systemctl", "start", "kubelet"); err != nil {
		return fmt.Errorf("starting the kubelet: %w", err)
	}
	return nil
}

// NodesTaken lists the nodes this fault takes away, so probes run elsewhere.
func (in *Injector) NodesTaken(ctx context.Context, env fault.Env) ([]string, error) {
	return SelectNodes(ctx, env, in.Spec.Target)
}

// Describe says what the fault does to its node.
func (in *Injector) Describe(rec fault.Record) string {
	verb := map[string]string{"stop": "stop node", "pause": "freeze node", "killKubelet": "stop the kubelet on node"}[rec.Mode]
	if verb == "" {
		verb = "stop node"
	}
	d := verb + " " + nodeName(rec)
	if viaAgent(rec) {
		d += " through a node agent pod"
		if hold := rec.Restore[RestoreHold]; hold != "" {
			d += " (it starts the kubelet again after " + hold + ")"
		}
	}
	return d
}

// Verify reports whether the node machine runs and the Node is Ready again, and, for
// the node agent path, that the agent pod is gone.
func (in *Injector) Verify(ctx context.Context, env fault.Env, rec fault.Record) error {
	node := nodeName(rec)
	if viaAgent(rec) {
		if err := verifyAgentGone(ctx, env.Client, rec); err != nil {
			return err
		}
	}
	if env.Cluster.Nodes != nil {
		st, err := env.Cluster.Nodes.State(ctx, node)
		if err != nil {
			return err
		}
		if st != clusters.NodeRunning {
			return fmt.Errorf("node %s is %s", node, st)
		}
	}
	n, err := env.Client.CoreV1().Nodes().Get(ctx, node, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("node %s: %w", node, err)
	}
	if _, marked := n.Annotations[fault.MarkerAnnotation]; marked {
		return fmt.Errorf("node %s still carries a fault marker", node)
	}
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue {
			return nil
		}
	}
	return fmt.Errorf("node %s is not Ready", node)
}
