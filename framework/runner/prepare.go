package runner

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/gameday-dev/gameday/clusters"
	"github.com/gameday-dev/gameday/framework/apply"
	"github.com/gameday-dev/gameday/framework/fault"
	"github.com/gameday-dev/gameday/framework/probe"
	"github.com/gameday-dev/gameday/framework/scenario"
)

// AgentNamespace is where the in-cluster probe agent runs.
const AgentNamespace = "gameday-system"

// fixtureTimeout bounds waiting for fixture workloads to become ready.
const fixtureTimeout = 5 * time.Minute

// prepare loads images, applies fixtures, starts the probes and the watchers.
// The returned function stops the probes and removes the agent.
func (r *run) prepare(ctx context.Context, abort context.CancelCauseFunc) (func(), error) {
	noop := func() {}
	objs, err := r.loadFixtures()
	if err != nil {
		return noop, err
	}
	if r.kind != nil {
		r.progress.Phase("images")
		images := append([]string{r.opts.AgentImage}, fixtureImages(objs)...)
		if err := r.kind.LoadImages(ctx, images...); err != nil {
			return noop, err
		}
	}
	applier, err := apply.NewApplier(r.cluster.REST)
	if err != nil {
		return noop, err
	}
	if len(objs) > 0 {
		r.progress.Phase("fixtures")
		r.progress.Printf("applying %d objects", len(objs))
		if err := applier.Apply(ctx, objs); err != nil {
			return noop, err
		}
		if err := applier.WaitReady(ctx, objs, fixtureTimeout); err != nil {
			return noop, err
		}
	}
	lost, err := r.nodesUnderFault(ctx)
	if err != nil {
		return noop, err
	}
	if r.vantage, err = r.pickVantage(ctx, lost); err != nil {
		return noop, err
	}

	r.progress.Phase("probes")
	probeCtx, stopProbes := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	var agentPod string
	var clock *probe.AgentClock
	stop := func() {
		r.drainAgentClock(agentPod, clock, 5*time.Second)
		stopProbes()
		wg.Wait()
		r.agentClock = r.correctAgentClock(clock) // the follower has stopped
		if agentPod != "" {
			dctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			_ = probe.DeleteAgent(dctx, r.client, AgentNamespace, agentPod)
		}
	}
	agentCfg, harness, err := r.buildProbes(ctx)
	if err != nil {
		return stop, err
	}
	r.timings = probeTimings(agentCfg, harness)
	if len(agentCfg.HTTP)+len(agentCfg.DNS) > 0 {
		if err := applier.Apply(ctx, []*unstructured.Unstructured{namespaceObject(AgentNamespace)}); err != nil {
			return stop, err
		}
		clock = probe.NewAgentClock(time.Now()) // the agent writes nothing before its pod exists
		dctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		agentPod, err = probe.DeployAgent(dctx, r.client, probe.AgentDeployment{
			Namespace: AgentNamespace, Name: AgentPodName(r.id), Image: r.opts.AgentImage,
			NodeName: r.vantage, Args: agentCfg.Args(),
		})
		cancel()
		if err != nil {
			return stop, fmt.Errorf("starting the probe agent on %s: %w", r.vantage, err)
		}
		r.progress.Printf("probe agent %s/%s running on node %s", AgentNamespace, agentPod, r.vantage)
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = probe.FollowAgentWithClock(probeCtx, r.client, AgentNamespace, agentPod, clock, r.emit)
		}()
	}
	for _, p := range harness {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = p.Run(probeCtx, r.emit)
		}()
	}
	wg.Add(2)
	go func() { defer wg.Done(); r.observe(probeCtx) }()
	go func() { defer wg.Done(); r.watchAbort(probeCtx, abort) }()
	if err := r.waitFirstSamples(ctx, time.Minute); err != nil {
		return stop, err
	}
	return stop, nil
}

// loadFixtures reads every fixture of the scenario.
func (r *run) loadFixtures() ([]*unstructured.Unstructured, error) {
	var all []*unstructured.Unstructured
	for _, f := range r.sc.Spec.Fixtures {
		objs, err := apply.Load(r.path(f.Path), f.Namespace)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrInvalidInput, err)
		}
		all = append(all, objs...)
	}
	return all, nil
}

// fixtureImages lists the container images the fixtures run.
func fixtureImages(objs []*unstructured.Unstructured) []string {
	seen := map[string]bool{}
	var images []string
	for _, o := range objs {
		for _, path := range [][]string{{"spec", "template", "spec"}, {"spec"}} {
			podSpec, ok, _ := unstructured.NestedMap(o.Object, path...)
			if !ok {
				continue
			}
			for _, key := range []string{"containers", "initContainers"} {
				list, _, _ := unstructured.NestedSlice(podSpec, key)
				for _, c := range list {
					if m, ok := c.(map[string]any); ok {
						if img, _ := m["image"].(string); img != "" && !seen[img] {
							seen[img] = true
							images = append(images, img)
						}
					}
				}
			}
		}
	}
	return images
}

func namespaceObject(name string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetAPIVersion("v1")
	u.SetKind("Namespace")
	u.SetName(name)
	u.SetLabels(map[string]string{"app.kubernetes.io/managed-by": "gameday"})
	return u
}

// nodesUnderFault resolves every node a step's action may take away (those that
// implement fault.NodeTaker), so that the probe agent runs elsewhere.
func (r *run) nodesUnderFault(ctx context.Context) (map[string]bool, error) {
	lost := map[string]bool{}
	for _, s := range r.sc.Spec.Steps {
		if s.Fault == nil {
			continue
		}
		action, err := fault.New(s.Fault)
		if err != nil {
			return nil, fmt.Errorf("step %s: %w", s.Name, err)
		}
		taker, ok := action.(fault.NodeTaker)
		if !ok {
			continue
		}
		names, err := taker.NodesTaken(ctx, r.actionEnv(s.Name))
		if err != nil {
			return nil, fmt.Errorf("step %s: %w", s.Name, err)
		}
		for _, n := range names {
			lost[n] = true
		}
	}
	return lost, nil
}

// pickVantage chooses the node the agent runs on and node-network probes target:
// a Ready node no fault takes away, preferring the control plane (workers are what
// game days usually lose).
func (r *run) pickVantage(ctx context.Context, lost map[string]bool) (string, error) {
	list, err := r.client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return "", fmt.Errorf("listing nodes: %w", err)
	}
	var candidates []corev1.Node
	for _, n := range list.Items {
		if !lost[n.Name] && clusters.NodeReady(&n) {
			candidates = append(candidates, n)
		}
	}
	if len(candidates) == 0 {
		return "", errors.New("every Ready node is under fault in this scenario: no node is left for the probe agent")
	}
	sort.SliceStable(candidates, func(i, j int) bool {
		_, ci := candidates[i].Labels["node-role.kubernetes.io/control-plane"]
		_, cj := candidates[j].Labels["node-role.kubernetes.io/control-plane"]
		if ci != cj {
			return ci
		}
		return candidates[i].Name < candidates[j].Name
	})
	return candidates[0].Name, nil
}

// probeKind names an SLO's probe kind as reports show it.
func probeKind(p scenario.Probe) string {
	switch {
	case p.HTTP != nil:
		return "http"
	case p.DNS != nil:
		return "dns"
	case p.APIServer != nil:
		return "apiServer"
	default:
		return "workload"
	}
}

// clusterIPURL is the Service's ClusterIP address: the agent's HTTP probes do not
// depend on cluster DNS, which a DNS fault may break.
func (r *run) clusterIPURL(ctx context.Context, h *scenario.HTTPProbe) (string, error) {
	svc, err := r.service(ctx, h.Service)
	if err != nil {
		return "", err
	}
	if svc.Spec.ClusterIP == "" || svc.Spec.ClusterIP == corev1.ClusterIPNone {
		return "", fmt.Errorf("service %s has no ClusterIP", h.Service)
	}
	return "http://" + net.JoinHostPort(svc.Spec.ClusterIP, strconv.Itoa(h.Port)) + h.Path, nil
}

// nodePortURL is the Service's node port on the vantage node, reached from the harness.
func (r *run) nodePortURL(ctx context.Context, h *scenario.HTTPProbe) (string, error) {
	svc, err := r.service(ctx, h.Service)
	if err != nil {
		return "", err
	}
	var nodePort int32
	for _, p := range svc.Spec.Ports {
		if int(p.Port) == h.Port {
			nodePort = p.NodePort
		}
	}
	if nodePort == 0 {
		return "", fmt.Errorf("%w: service %s has no node port for port %d (from: nodeNetwork needs a NodePort Service)", ErrInvalidInput, h.Service, h.Port)
	}
	addr, err := r.nodeAddress(ctx, r.vantage)
	if err != nil {
		return "", err
	}
	return "http://" + net.JoinHostPort(addr, strconv.Itoa(int(nodePort))) + h.Path, nil
}

// nodeAddress is how the harness reaches a node: its container address on kind,
// else its InternalIP.
func (r *run) nodeAddress(ctx context.Context, node string) (string, error) {
	if r.cluster.Nodes != nil {
		return r.cluster.Nodes.Address(ctx, node)
	}
	n, err := r.client.CoreV1().Nodes().Get(ctx, node, metav1.GetOptions{})
	if err != nil {
		return "", err
	}
	for _, a := range n.Status.Addresses {
		if a.Type == corev1.NodeInternalIP {
			return a.Address, nil
		}
	}
	return "", fmt.Errorf("node %s has no InternalIP", node)
}

func (r *run) service(ctx context.Context, ref string) (*corev1.Service, error) {
	ns, name, _ := strings.Cut(ref, "/")
	svc, err := r.client.CoreV1().Services(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("service %s: %w", ref, err)
	}
	return svc, nil
}

// clusterDNS is the cluster DNS Service address (kube-system/kube-dns).
func (r *run) clusterDNS(ctx context.Context) (string, error) {
	svc, err := r.service(ctx, "kube-system/kube-dns")
	if err != nil {
		return "", err
	}
	return net.JoinHostPort(svc.Spec.ClusterIP, "53"), nil
}

// waitFirstSamples waits until every SLO's probe has reported once.
func (r *run) waitFirstSamples(ctx context.Context, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		var missing []string
		for _, slo := range r.sc.Spec.SLOs {
			if _, ok := r.recorder.Last(slo.Name); !ok {
				missing = append(missing, slo.Name)
			}
		}
		if len(missing) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no samples from probe(s) %s after %s", strings.Join(missing, ", "), limit)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// emit records a sample and reports the probe's state changes.
func (r *run) emit(s probe.Sample) {
	last, seen := r.recorder.Last(s.Probe)
	r.recorder.Emit(s)
	if !seen || last.OK != s.OK {
		r.progress.SLO(s.Probe, s.OK, s.At, s.Error)
	}
}

// AgentPodName is the name of a run's probe agent pod: the run ID, lowercased.
func AgentPodName(runID string) string {
	return "gameday-agent-" + strings.Map(func(c rune) rune {
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-':
			return c
		case c >= 'A' && c <= 'Z':
			return c + 'a' - 'A'
		}
		return '-'
	}, runID)
}
