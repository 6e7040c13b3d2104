package runner

import (
	"context"
	"fmt"
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/gameday-dev/gameday/framework/scenario"
	"github.com/gameday-dev/gameday/framework/score"
	"github.com/gameday-dev/gameday/reports"
)

// fill scores every SLO, checks every expectation and completes the report.
func (r *run) fill(ctx context.Context, rep *reports.Report) {
	r.mu.Lock()
	windows := append([]score.Window(nil), r.windows...)
	rep.Steps = append([]reports.Step(nil), r.steps...)
	rep.Observations = append([]reports.Observation(nil), r.observations...)
	r.mu.Unlock()
	sort.Slice(rep.Observations, func(i, j int) bool { return rep.Observations[i].At.Before(rep.Observations[j].At) })
	for i := range rep.Observations {
		o := &rep.Observations[i]
		for _, w := range windows {
			if w.Name == o.Step {
				after := o.At.Sub(w.Start)
				o.After = &after
			}
		}
	}
	rep.Cluster = r.clusterInfo(ctx)

	results := map[string]score.Result{}
	for _, slo := range r.sc.Spec.SLOs {
		samples := r.recorder.Samples(slo.Name)
		res := score.Compute(samples, windows, score.Options{
			Objective: slo.Objective, HealthyWindow: r.sc.Spec.Scoring.HealthyWindow, Interval: slo.Interval,
		})
		results[slo.Name] = res
		rep.SLOs = append(rep.SLOs, reports.SLO{
			Name:          slo.Name,
			Probe:         reports.Probe{Name: slo.Name, Kind: probeKind(slo.Probe), Path: r.probePath(slo)},
			Objective:     slo.Objective,
			HealthyWindow: r.sc.Spec.Scoring.HealthyWindow,
			Interval:      slo.Interval,
			Result:        res,
			Samples:       reports.CompactSamples(samples),
		})
	}
	for _, e := range r.sc.Spec.Expectations {
		rep.Expectations = append(rep.Expectations, checkExpectation(e, results[e.SLO])...)
	}
	if rep.Outcome == "" {
		rep.Outcome = reports.OutcomePassed
		for _, s := range rep.SLOs {
			if !s.Result.Passed {
				rep.Outcome = reports.OutcomeFailed
			}
		}
		for _, e := range rep.Expectations {
			if !e.Passed {
				rep.Outcome = reports.OutcomeFailed
			}
		}
	}
	rep.Error = reports.Redact(rep.Error)
	rep.AbortReason = reports.Redact(rep.AbortReason)
	for i := range rep.Steps {
		rep.Steps[i].Error = reports.Redact(rep.Steps[i].Error)
	}
}

// probePath documents what a probe's result depends on.
func (r *run) probePath(slo scenario.SLO) string {
	p := slo.Probe
	switch {
	case p.HTTP != nil && p.HTTP.From == scenario.FromNodeNetwork:
		return fmt.Sprintf("harness -> node %s's address -> NodePort of %s (kube-proxy on %s) -> a pod; no cluster DNS", r.vantage, p.HTTP.Service, r.vantage)
	case p.HTTP != nil:
		return fmt.Sprintf("agent pod on %s -> kube-proxy rules on %s -> ClusterIP of %s -> a pod; no cluster DNS", r.vantage, r.vantage, p.HTTP.Service)
	case p.DNS != nil:
		return fmt.Sprintf("agent pod on %s -> kube-dns ClusterIP -> CoreDNS pods; samples reach the harness through the API server and %s's kubelet", r.vantage, r.vantage)
	case p.APIServer != nil:
		return "harness -> the kubeconfig's server address -> kube-apiserver " + p.APIServer.Path + "; no worker node, no cluster DNS"
	default:
		return "harness -> API server -> Deployment status of " + p.Workload.Deployment
	}
}

// checkExpectation turns one expectation into report entries, one per check.
func checkExpectation(e scenario.Expectation, res score.Result) []reports.Expectation {
	var out []reports.Expectation
	base := reports.Expectation{Name: e.Name, SLO: e.SLO, Step: e.Step}
	var fault *score.Fault
	for i := range res.Faults {
		if res.Faults[i].Window.Name == e.Step {
			fault = &res.Faults[i]
		}
	}
	seconds := func(d time.Duration) *float64 { v := d.Seconds(); return &v }
	if e.MTTD != nil {
		x := base
		x.Check, x.Unit, x.Comparison, x.Threshold = "mttd", reports.UnitSeconds, "<=", e.MTTD.Max.Seconds()
		switch {
		case fault == nil:
			x.Message = "no fault window for step " + e.Step
		case !fault.Detected || fault.MTTD == nil:
			x.Message = "the fault was never detected by this SLO's probe"
		default:
			x.Measured = seconds(*fault.MTTD)
			x.Passed = *fault.MTTD <= e.MTTD.Max
			x.Message = fmt.Sprintf("detected %s after injection", fault.MTTD.Round(time.Millisecond))
		}
		out = append(out, x)
	}
	if e.MTTR != nil {
		x := base
		x.Check, x.Unit, x.Comparison, x.Threshold = "mttr", reports.UnitSeconds, "<=", e.MTTR.Max.Seconds()
		switch {
		case fault == nil:
			x.Message = "no fault window for step " + e.Step
		case !fault.Detected:
			x.Passed, x.Message = true, "no disruption: nothing to recover from"
			x.Measured = seconds(0)
		case !fault.Recovered || fault.MTTR == nil:
			x.Message = "not recovered"
		default:
			x.Measured = seconds(*fault.MTTR)
			x.Passed = *fault.MTTR <= e.MTTR.Max
			x.Message = fmt.Sprintf("recovered %s after injection", fault.MTTR.Round(time.Millisecond))
		}
		out = append(out, x)
	}
	if e.Availability != nil {
		x := base
		x.Check, x.Unit, x.Comparison, x.Threshold = "availability", reports.UnitRatio, ">=", e.Availability.Min
		avail, what := res.Availability, "whole run"
		if e.Step != "" && fault != nil && fault.Samples > 0 {
			avail = 1 - float64(fault.Failed)/float64(fault.Samples)
			what = "step " + e.Step
		}
		x.Measured = &avail
		x.Passed = avail >= e.Availability.Min
		x.Message = fmt.Sprintf("%.4f over the %s", avail, what)
		out = append(out, x)
	}
	return out
}

// clusterInfo describes the cluster for the report.
func (r *run) clusterInfo(ctx context.Context) reports.Cluster {
	c := reports.Cluster{Name: r.cluster.Name, Provider: r.cluster.Provider}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if v, err := r.client.Discovery().ServerVersion(); err == nil {
		c.KubernetesVersion = v.GitVersion
	}
	nodes, err := r.client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return c
	}
	for _, n := range nodes.Items {
		c.Nodes = append(c.Nodes, reports.Node{Name: n.Name, Roles: roles(&n), KubeletVersion: n.Status.NodeInfo.KubeletVersion})
	}
	return c
}

func roles(n *corev1.Node) []string {
	var out []string
	for k := range n.Labels {
		const prefix = "node-role.kubernetes.io/"
		if len(k) > len(prefix) && k[:len(prefix)] == prefix {
			out = append(out, k[len(prefix):])
		}
	}
	if len(out) == 0 {
		out = []string{"worker"}
	}
	sort.Strings(out)
	return out
}
