package runner

import (
	"cmp"
	"context"
	"fmt"
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/gameday-dev/gameday/framework/probe"
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
				// From when the fault took effect, as MTTD and MTTR are.
				from := w.Start
				if !w.Effective.IsZero() {
					from = w.Effective
				}
				after := o.At.Sub(from)
				o.After = &after
			}
		}
	}
	rep.Cluster = r.clusterInfo(ctx)
	rep.AgentClock = r.agentClock

	scored := map[string]sloScore{}
	for _, slo := range r.sc.Spec.SLOs {
		samples := r.recorder.Samples(slo.Name)
		opts := scoreOptions(slo, r.sc.Spec.Scoring)
		opts.Interval = cmp.Or(r.timings[slo.Name].Interval, opts.Interval)
		opts.Timeout = cmp.Or(r.timings[slo.Name].Timeout, opts.Timeout)
		res := score.Compute(samples, windows, opts)
		scored[slo.Name] = sloScore{result: res, samples: samples, opts: opts}
		rep.SLOs = append(rep.SLOs, reports.SLO{
			Name:          slo.Name,
			Probe:         reports.Probe{Name: slo.Name, Kind: probeKind(slo.Probe), Path: r.probePath(slo)},
			Objective:     slo.Objective,
			HealthyWindow: r.sc.Spec.Scoring.HealthyWindow,
			Interval:      opts.Interval, // what ran (probeTimings), else the scenario's
			Timeout:       opts.Timeout,
			Period:        opts.Period,
			LatencyMax:    opts.LatencyMax,
			Result:        res,
			Samples:       reports.CompactSamples(samples),
		})
	}
	for _, e := range r.sc.Spec.Expectations {
		rep.Expectations = append(rep.Expectations, checkExpectation(e, scored[e.SLO], rep.Steps)...)
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

// scoreOptions are the scoring parameters of one SLO.
func scoreOptions(slo scenario.SLO, scoring scenario.Scoring) score.Options {
	opts := score.Options{
		Objective: slo.Objective, HealthyWindow: scoring.HealthyWindow,
		Interval: slo.Interval, Timeout: slo.Timeout, Period: slo.Period,
	}
	if slo.Latency != nil {
		opts.LatencyMax = slo.Latency.Max
	}
	return opts
}

// sloScore is one SLO's score with what it was computed from, so that an
// expectation can measure a range of its own (a step that is not a fault).
type sloScore struct {
	result  score.Result
	samples []probe.Sample
	opts    score.Options
}

// checkExpectation turns one expectation into report entries, one per check. steps
// are the steps as they ran, for the time range of a step that is not a fault.
// docs/scoring.md ("Verdicts") defines every case.
func checkExpectation(e scenario.Expectation, slo sloScore, steps []reports.Step) []reports.Expectation {
	var out []reports.Expectation
	base := reports.Expectation{Name: e.Name, SLO: e.SLO, Step: e.Step}
	var fault *score.Fault
	for i := range slo.result.Faults {
		if e.Step != "" && slo.result.Faults[i].Window.Name == e.Step {
			fault = &slo.result.Faults[i]
		}
	}
	optional := e.Detection == scenario.DetectionOptional
	seconds := func(d time.Duration) *float64 { v := d.Seconds(); return &v }
	if e.MTTD != nil {
		x := base
		x.Check, x.Unit, x.Comparison, x.Threshold = "mttd", reports.UnitSeconds, "<=", e.MTTD.Max.Seconds()
		if fault != nil {
			x.Outcome = string(fault.Outcome)
		}
		switch {
		case e.Step == "":
			x.Message = "no step named: MTTD is measured per fault step"
		case fault == nil:
			x.Message = "no fault window for step " + e.Step + ": the fault was never injected"
		case fault.Outcome == score.OutcomeFailingAtInjection:
			x.Message = "already failing at injection: the probe was failing before the fault, so MTTD cannot be measured"
		case fault.Outcome == score.OutcomeNoData:
			x.Message = "no data: the probe made no attempt after the fault took effect"
		case fault.Outcome == score.OutcomeNotDetected && optional:
			x.Passed, x.Message = true, "no disruption detected (detection: optional)"
		case fault.Outcome == score.OutcomeNotDetected || fault.MTTD == nil:
			x.Message = "no disruption detected: the fault was never seen by this SLO's probe (detection: required)"
		default:
			x.Measured = seconds(*fault.MTTD)
			x.Passed = *fault.MTTD <= e.MTTD.Max
			x.Message = fmt.Sprintf("detected %s after the fault took effect%s", fault.MTTD.Round(time.Millisecond), injection(fault))
		}
		out = append(out, x)
	}
	if e.MTTR != nil {
		x := base
		x.Check, x.Unit, x.Comparison, x.Threshold = "mttr", reports.UnitSeconds, "<=", e.MTTR.Max.Seconds()
		if fault != nil {
			x.Outcome = string(fault.Outcome)
		}
		switch {
		case e.Step == "":
			x.Message = "no step named: MTTR is measured per fault step"
		case fault == nil:
			x.Message = "no fault window for step " + e.Step + ": the fault was never injected"
		case fault.Outcome == score.OutcomeFailingAtInjection:
			x.Message = "already failing at injection: the probe was failing before the fault, so MTTR says nothing about it"
		case fault.Outcome == score.OutcomeNoData:
			x.Message = "no data: the probe made no attempt after the fault took effect"
		case fault.Outcome == score.OutcomeNotDetected && optional:
			x.Passed, x.Message = true, "no disruption detected, nothing to recover from (detection: optional)"
		case fault.Outcome == score.OutcomeNotDetected:
			x.Message = "no disruption detected, so recovery was never measured (detection: required)"
		case !fault.Recovered || fault.MTTR == nil:
			x.Message = fmt.Sprintf("not recovered: no sustained healthy window began before %s", rangeEnd(fault))
		default:
			x.Measured = seconds(*fault.MTTR)
			x.Passed = *fault.MTTR <= e.MTTR.Max
			x.Message = fmt.Sprintf("recovered %s after the fault took effect%s", fault.MTTR.Round(time.Millisecond), injection(fault))
		}
		out = append(out, x)
	}
	if e.Availability != nil {
		x := base
		x.Check, x.Unit, x.Comparison, x.Threshold = "availability", reports.UnitRatio, ">=", e.Availability.Min
		res, what, ok := availabilityOf(e.Step, slo, fault, steps)
		switch {
		case !ok:
			x.Message = what
		case res.Samples == 0:
			x.Message = "not measured: no probe attempts over the " + what
		default:
			avail := res.Availability
			x.Measured = &avail
			x.Passed = avail >= e.Availability.Min
			x.Message = fmt.Sprintf("%.4f over the %s (%d of %d attempts bad", avail, what, res.Failed, res.Samples)
			if slo.opts.LatencyMax > 0 {
				x.Message += fmt.Sprintf(": %d errors, %d slower than %s", res.Errored, res.Slow, slo.opts.LatencyMax)
			}
			x.Message += ")"
		}
		out = append(out, x)
	}
	return out
}

// availabilityOf finds what an availability expectation measures: the whole run, a
// fault step's attribution range or another step's own time range. ok is false,
// with the reason in what, when the step never ran.
func availabilityOf(step string, slo sloScore, fault *score.Fault, steps []reports.Step) (res score.Result, what string, ok bool) {
	switch {
	case step == "":
		return slo.result, "whole run", true
	case fault != nil:
		return score.Result{Samples: fault.Samples, Failed: fault.Failed, Availability: ratio(fault.Samples-fault.Failed, fault.Samples)},
			"fault step " + step + " (from injection to the next fault or the end)", true
	}
	for _, s := range steps {
		if s.Name == step && !s.Start.IsZero() && !s.End.IsZero() {
			return score.CountRange(slo.samples, s.Start, s.End, slo.opts), "step " + step, true
		}
	}
	return score.Result{}, "not measured: step " + step + " did not run", false
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// injection describes how long the injection took, or nothing when it was instant.
func injection(f *score.Fault) string {
	if f.Injection <= 0 {
		return ""
	}
	return fmt.Sprintf(" (injection took %s)", f.Injection.Round(time.Millisecond))
}

// rangeEnd says where a fault's attribution range ends.
func rangeEnd(f *score.Fault) string {
	return "the next fault or the end of the data (" + f.Until.UTC().Format(time.RFC3339) + ")"
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
