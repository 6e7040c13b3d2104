package runner

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/gameday-dev/gameday/framework/probe"
	"github.com/gameday-dev/gameday/framework/scenario"
	"github.com/gameday-dev/gameday/reports"
)

// buildProbes turns the scenario's SLOs into the agent's configuration (in-cluster
// probes) and the probes the harness runs itself. Every probe, the agent's included, runs
// at its own SLO's interval and timeout; probeTimings reads back what will run.
func (r *run) buildProbes(ctx context.Context) (probe.AgentConfig, []probe.Probe, error) {
	var agent probe.AgentConfig
	var harness []probe.Probe
	for _, slo := range r.sc.Spec.SLOs {
		p := slo.Probe
		switch {
		case p.HTTP != nil && p.HTTP.From == scenario.FromNodeNetwork:
			url, err := r.nodePortURL(ctx, p.HTTP)
			if err != nil {
				return agent, nil, fmt.Errorf("slo %s: %w", slo.Name, err)
			}
			hp, err := probe.NewHTTP(probe.HTTPConfig{Name: slo.Name, URL: url, Interval: slo.Interval, Timeout: slo.Timeout})
			if err != nil {
				return agent, nil, err
			}
			harness = append(harness, hp)
			r.progress.Printf("probe %s: GET %s from the harness through node %s", slo.Name, url, r.vantage)
		case p.HTTP != nil:
			url, err := r.clusterIPURL(ctx, p.HTTP)
			if err != nil {
				return agent, nil, fmt.Errorf("slo %s: %w", slo.Name, err)
			}
			agent.HTTP = append(agent.HTTP, probe.AgentHTTPTarget{Name: slo.Name, URL: url, Interval: slo.Interval, Timeout: slo.Timeout})
			r.progress.Printf("probe %s: GET %s from the agent on %s", slo.Name, url, r.vantage)
		case p.DNS != nil:
			server, err := r.clusterDNS(ctx)
			if err != nil {
				return agent, nil, fmt.Errorf("slo %s: %w", slo.Name, err)
			}
			agent.DNS = append(agent.DNS, probe.AgentDNSTarget{Name: slo.Name, Host: p.DNS.Name, Server: server, Interval: slo.Interval, Timeout: slo.Timeout})
			r.progress.Printf("probe %s: resolve %s at %s from the agent on %s", slo.Name, p.DNS.Name, server, r.vantage)
		case p.APIServer != nil:
			ap, err := probe.NewAPIServer(probe.APIServerConfig{Name: slo.Name, Config: r.cluster.REST, Path: p.APIServer.Path, Interval: slo.Interval, Timeout: slo.Timeout})
			if err != nil {
				return agent, nil, err
			}
			harness = append(harness, ap)
			r.progress.Printf("probe %s: GET %s%s from the harness", slo.Name, r.cluster.REST.Host, p.APIServer.Path)
		case p.Workload != nil:
			ns, name, _ := strings.Cut(p.Workload.Deployment, "/")
			wp, err := probe.NewWorkload(probe.WorkloadConfig{Name: slo.Name, Client: r.client, Namespace: ns, Deployment: name, Interval: slo.Interval, Timeout: slo.Timeout})
			if err != nil {
				return agent, nil, err
			}
			harness = append(harness, wp)
			r.progress.Printf("probe %s: deployment %s ready replicas, through the API server", slo.Name, p.Workload.Deployment)
		}
	}
	return agent, harness, nil
}

// probeTimings is the interval and timeout each SLO's probe runs at, by SLO name, read
// from what buildProbes built (the agent's targets and the harness probes), for the report.
func probeTimings(agent probe.AgentConfig, harness []probe.Probe) map[string]probe.Timing {
	timings := agent.Timings()
	for _, p := range harness {
		if t, ok := p.(interface{ Timing() probe.Timing }); ok {
			timings[p.Name()] = t.Timing()
		}
	}
	return timings
}

// drainAgent waits (at most limit) until the agent's samples taken before now have
// arrived through its log stream, so the last seconds of a run are not lost.
func (r *run) drainAgent(pod string, limit time.Duration) {
	r.drainAgentClock(pod, nil, limit)
}

// drainAgentClock is drainAgent for an agent followed with FollowAgentWithClock: the
// agent's sample times are compared with now through clock's estimate (nil: unchanged).
func (r *run) drainAgentClock(pod string, clock *probe.AgentClock, limit time.Duration) {
	if pod == "" {
		return
	}
	var est probe.ClockEstimate // a zero offset until there is an estimate
	if clock != nil {
		est, _ = clock.Estimate()
	}
	stopAt := time.Now()
	deadline := stopAt.Add(limit)
	for time.Now().Before(deadline) {
		behind := false
		for _, slo := range r.sc.Spec.SLOs {
			if !r.fromAgent(slo) {
				continue
			}
			last, ok := r.recorder.Last(slo.Name)
			if !ok || est.Correct(last).At.Add(slo.Interval+slo.Timeout).Before(stopAt) {
				behind = true
			}
		}
		if !behind {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// correctAgentClock moves every agent SLO's samples from the agent's clock onto the
// harness clock with clock's final estimate, and returns the estimate for the report
// (nil when there is no clock or nothing to estimate from). Call it once, after the agent's
// follower has stopped: a sample recorded later would stay on the agent's clock.
func (r *run) correctAgentClock(clock *probe.AgentClock) *reports.AgentClock {
	if clock == nil {
		return nil
	}
	est, ok := clock.Estimate()
	if !ok {
		return nil
	}
	for _, slo := range r.sc.Spec.SLOs {
		if r.fromAgent(slo) {
			r.recorder.Shift(slo.Name, est.Offset)
		}
	}
	return &reports.AgentClock{OffsetNs: est.Offset, UncertaintyNs: est.Uncertainty, Heartbeats: est.Heartbeats, Lines: est.Lines}
}

// fromAgent reports whether an SLO is probed by the in-cluster agent.
func (r *run) fromAgent(slo scenario.SLO) bool {
	p := slo.Probe
	return p.DNS != nil || (p.HTTP != nil && p.HTTP.From != scenario.FromNodeNetwork)
}
