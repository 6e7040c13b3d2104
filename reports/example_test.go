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

	apiOpts := score.Options{Objective: 0.999, HealthyWindow: 5 * time.Second, Interval: time.Second}
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
			Probe:         reports.Probe{Name: "web", Kind: "http", Path: "harness → kind node network → NodePort 30080 → kube-proxy → pod"},
			Objective:     webOpts.Objective,
			HealthyWindow: webOpts.HealthyWindow,
			Interval:      webOpts.Interval,
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
