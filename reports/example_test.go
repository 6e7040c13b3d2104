package reports_test

import (
	"fmt"
	"time"

	"github.com/gameday-dev/gameday/framework/probe"
	"github.com/gameday-dev/gameday/framework/score"
	"github.com/gameday-dev/gameday/reports"
)

// runStart is fixed so that every rendering is byte-for-byte reproducible.
var runStart = time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC)

func since(d time.Duration) time.Time { return runStart.Add(d) }

func durationPtr(d time.Duration) *time.Duration { return &d }

func floatPtr(f float64) *float64 { return &f }

// probeRun simulates a probe every interval over [0, length): failing(offset)
// says which attempts fail, and missing(offset) which ones produced no sample.
func probeRun(name string, interval, length time.Duration, failing, missing func(time.Duration) bool) []probe.Sample {
	var samples []probe.Sample
	for at := time.Duration(0); at < length; at += interval {
		if missing(at) {
			continue
		}
		s := probe.Sample{Probe: name, At: since(at), OK: true, Latency: 4*time.Millisecond + at%(3*time.Millisecond)}
		if failing(at) {
			s.OK, s.Latency, s.Error = false, 2*time.Second, `Get "http://172.18.0.3:30080/": context deadline exceeded`
		}
		samples = append(samples, s)
	}
	return samples
}

func between(from, to time.Duration) func(time.Duration) bool {
	return func(at time.Duration) bool { return at >= from && at < to }
}

func never(time.Duration) bool { return false }

// exampleReport is a failed node-loss game day: the web SLO loses availability
// while a worker is stopped, the API server SLO is untouched.
func exampleReport() *reports.Report {
	faults := []score.Window{{Name: "stop-worker", Start: since(60 * time.Second), Effective: since(61500 * time.Millisecond),
		End: since(120 * time.Second)}}

	webOpts := score.Options{Objective: 0.99, HealthyWindow: 10 * time.Second, Interval: 250 * time.Millisecond,
		Timeout: time.Second, LatencyMax: 500 * time.Millisecond, Period: 7 * 24 * time.Hour}
	webFailing := func(at time.Duration) bool {
		return between(62500*time.Millisecond, 80*time.Second)(at) || between(85*time.Second, 86*time.Second)(at)
	}
	web := probeRun("web", webOpts.Interval, 300*time.Second, webFailing, between(200*time.Second, 205*time.Second))

	apiOpts := score.Options{Objective: 0.999, HealthyWindow: 5 * time.Second, Interval: time.Second, Timeout: 2 * time.Second}
	api := probeRun("api", apiOpts.Interval, 300*time.Second, never, never)

	webResult := score.Compute(web, faults, webOpts)
	apiResult := score.Compute(api, faults, apiOpts)
	webMTTR := webResult.Faults[0].MTTR.Seconds()

	r := reports.New()
	r.RunID = "20260314-090000-node-loss-7f3a"
	r.Scenario = reports.Scenario{
		Name:        "node-loss",
		File:        "scenarios/node-loss.yaml",
		Description: "Stop one worker and check that the web service stays within its SLO.",
	}
	r.Start, r.End = runStart, since(300*time.Second)
	r.Outcome = reports.OutcomeFailed
	r.Cluster = reports.Cluster{
		Name: "gameday", Provider: "kind", KubernetesVersion: "v1.33.1",
		Nodes: []reports.Node{
			{Name: "gameday-control-plane", Roles: []string{"control-plane"}, KubeletVersion: "v1.33.1"},
			{Name: "gameday-worker", KubeletVersion: "v1.33.1"},
			{Name: "gameday-worker2", KubeletVersion: "v1.33.1"},
		},
	}
	r.Steps = []reports.Step{
		{Name: "steady-state", Kind: "wait", Start: since(0), End: since(60 * time.Second)},
		{Name: "stop-worker", Kind: "nodeLoss", Start: since(60 * time.Second), End: since(120 * time.Second),
			Targets: []string{"node/gameday-worker2"}, Reverted: true},
		{Name: "observe", Kind: "wait", Start: since(120 * time.Second), End: since(300 * time.Second)},
	}
	r.SLOs = []reports.SLO{
		{
			Name:          "web-available",
			Probe:         reports.Probe{Name: "web", Kind: "http", Path: "agent pod on gameday-control-plane → kube-proxy → ClusterIP of web → pod"},
			Objective:     webOpts.Objective,
			HealthyWindow: webOpts.HealthyWindow,
			Interval:      webOpts.Interval,
			Timeout:       webOpts.Timeout,
			Period:        webOpts.Period,
			LatencyMax:    webOpts.LatencyMax,
			Result:        webResult,
			Samples:       reports.CompactSamples(web),
		},
		{
			Name:          "api-server",
			Probe:         reports.Probe{Name: "api", Kind: "apiServer", Path: "harness → kubeconfig endpoint → /readyz"},
			Objective:     apiOpts.Objective,
			HealthyWindow: apiOpts.HealthyWindow,
			Interval:      apiOpts.Interval,
			Timeout:       apiOpts.Timeout,
			Period:        score.DefaultPeriod,
			Result:        apiResult,
			Samples:       reports.CompactSamples(api),
		},
	}
	r.Expectations = []reports.Expectation{
		{Name: "web recovers within a minute", SLO: "web-available", Step: "stop-worker", Check: "mttr",
			Outcome: string(score.OutcomeRecovered), Unit: reports.UnitSeconds, Comparison: "<=", Threshold: 60,
			Measured: floatPtr(webMTTR), Passed: true},
		{Name: "web stays within its objective", SLO: "web-available", Check: "availability",
			Unit: reports.UnitRatio, Comparison: ">=", Threshold: 0.99, Measured: floatPtr(webResult.Availability), Passed: false,
			Message: fmt.Sprintf("availability %.2f%% is below 99.00%%: traffic kept reaching pods on the stopped node", webResult.Availability*100)},
		{Name: "API server unaffected", SLO: "api-server", Step: "stop-worker", Check: "availability",
			Unit: reports.UnitRatio, Comparison: ">=", Threshold: 0.999, Measured: floatPtr(apiResult.Availability), Passed: true},
	}
	r.Observations = []reports.Observation{
		{What: "nodeNotReady", At: since(101 * time.Second), Source: "node/gameday-worker2 .status.conditions[Ready]",
			Step: "stop-worker", After: durationPtr(41 * time.Second), Detail: "Kubelet stopped posting node status."},
		{What: "endpointRemoved", At: since(102 * time.Second), Source: "endpointslice/web-abc12",
			Step: "stop-worker", After: durationPtr(42 * time.Second)},
	}
	r.Figures = []reports.Figure{
		{Name: "injectionTime", Step: "stop-worker", Value: 1.5, Unit: reports.UnitSeconds, At: since(61500 * time.Millisecond),
			Detail: "from the first change to the action in effect"},
	}
	// The web SLO is probed by the in-cluster agent, whose node clock ran 1.2 s ahead.
	r.AgentClock = &reports.AgentClock{OffsetNs: -1234 * time.Millisecond, UncertaintyNs: 18 * time.Millisecond,
		Heartbeats: 300, Lines: 1480}
	r.Logs = []reports.Log{
		{What: "kubelet on gameday-worker2", Path: "logs/gameday-worker2/kubelet.log"},
		{What: "web pods", Path: "logs/pods/web.log"},
	}
	return r
}

// abortedReport is a run stopped by a signal during its fault step.
func abortedReport() *reports.Report {
	r := reports.New()
	r.RunID = "20260314-100000-dns-outage-c0de"
	r.Scenario = reports.Scenario{Name: "dns-outage", File: "scenarios/dns-outage.yaml"}
	r.Start, r.End = runStart, since(45*time.Second)
	r.Outcome = reports.OutcomeAborted
	r.AbortReason = "interrupted by SIGINT; faults reverted"
	r.Cluster = reports.Cluster{Name: "gameday", Provider: "kind"}
	r.Steps = []reports.Step{
		{Name: "servfail-coredns", Kind: "dnsOutage", Start: since(30 * time.Second), End: since(45 * time.Second),
			Targets: []string{"configmap/kube-system/coredns"}, Reverted: true, Error: "interrupted"},
	}
	return r
}

// errorReport is a run that could not reach its cluster.
func errorReport() *reports.Report {
	r := reports.New()
	r.RunID = "20260314-110000-node-loss-dead"
	r.Scenario = reports.Scenario{Name: "node-loss"}
	r.Start, r.End = runStart, since(3*time.Second)
	r.Outcome = reports.OutcomeError
	r.Error = `create cluster "gameday": docker: Cannot connect to the Docker daemon`
	r.Cluster = reports.Cluster{Name: "gameday", Provider: "kind"}
	return r
}

// drillReport is a passed restore drill: three phases, each with its own duration, after
// a fault step, probed by the in-cluster agent whose clock offset has no lower bound.
func drillReport() *reports.Report {
	faults := []score.Window{
		{Name: "lose-worker", Start: since(10 * time.Second), Effective: since(12 * time.Second), End: since(30 * time.Second)},
		{Name: "restore", Start: since(30 * time.Second), Effective: since(75 * time.Second), End: since(75 * time.Second)},
	}
	opts := score.Options{Objective: 0.95, HealthyWindow: 5 * time.Second, Interval: time.Second, Timeout: 500 * time.Millisecond}
	dns := probeRun("dns", opts.Interval, 90*time.Second, between(13*time.Second, 16*time.Second), never)

	r := reports.New()
	r.RunID = "20260314-120000-restore-drill-b4c5"
	r.Scenario = reports.Scenario{Name: "restore-drill", File: "scenarios/restore-drill.yaml"}
	r.Start, r.End = runStart, since(90*time.Second)
	r.Outcome = reports.OutcomePassed
	r.Cluster = reports.Cluster{Name: "gameday", Provider: "kind", KubernetesVersion: "v1.33.1", Nodes: []reports.Node{
		{Name: "gameday-control-plane", Roles: []string{"control-plane"}}, {Name: "gameday-worker"}, {Name: "gameday-worker2"},
	}}
	r.Steps = []reports.Step{
		{Name: "lose-worker", Kind: "nodeLoss", Start: since(10 * time.Second), End: since(30 * time.Second),
			Targets: []string{"node/gameday-worker"}, Reverted: true},
		{Name: "restore", Kind: "restoreDrill", Start: since(30 * time.Second), End: since(75 * time.Second),
			Targets: []string{"namespace/shop"}},
	}
	r.SLOs = []reports.SLO{{
		Name:          "cluster-dns",
		Probe:         reports.Probe{Name: "dns", Kind: "dns", Path: "agent pod on gameday-control-plane → kube-dns ClusterIP → CoreDNS pods"},
		Objective:     opts.Objective,
		HealthyWindow: opts.HealthyWindow,
		Interval:      opts.Interval,
		Timeout:       opts.Timeout,
		Period:        score.DefaultPeriod,
		Result:        score.Compute(dns, faults, opts),
		Samples:       reports.CompactSamples(dns),
	}}
	r.Figures = []reports.Figure{
		{Name: "injectionTime", Step: "lose-worker", Value: 2, Unit: reports.UnitSeconds, At: since(12 * time.Second),
			Detail: "from the first change to the action in effect"},
		{Name: "phaseDuration", Step: "restore", Target: "phase/backup", Value: 12.4, Unit: reports.UnitSeconds,
			At: since(42400 * time.Millisecond), Detail: "from the phase's journaled start to its end"},
		{Name: "phaseDuration", Step: "restore", Target: "phase/delete", Value: 3.1, Unit: reports.UnitSeconds,
			At: since(45500 * time.Millisecond), Detail: "from the phase's journaled start to its end"},
		{Name: "phaseDuration", Step: "restore", Target: "phase/restore", Value: 29.5, Unit: reports.UnitSeconds,
			At: since(75 * time.Second), Detail: "from the phase's journaled start to its end"},
		{Name: "injectionTime", Step: "restore", Value: 45, Unit: reports.UnitSeconds, At: since(75 * time.Second),
			Detail: "from the first change to the action in effect (a drill: to its last phase's end)"},
	}
	r.AgentClock = &reports.AgentClock{OffsetNs: 3 * time.Millisecond, UncertaintyNs: -1, Heartbeats: 45, Lines: 135}
	return r
}
