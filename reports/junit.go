package reports

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/jstemmer/go-junit-report/v2/junit"
)

// JUnit renders the report as JUnit XML for CI test dashboards: one suite for the
// scenario, one test case per SLO objective and per expectation (with a failure
// element when it failed), and a "run" test case with an error element when the
// run was aborted or hit an infrastructure error.
func JUnit(r *Report) ([]byte, error) {
	r = redacted(r)
	suite := junit.Testsuite{
		Name:     r.Scenario.Name,
		Hostname: r.Cluster.Name,
		Time:     fmt.Sprintf("%.3f", r.End.Sub(r.Start).Seconds()),
	}
	if !r.Start.IsZero() {
		suite.SetTimestamp(r.Start.UTC())
	}
	suite.AddProperty("runID", r.RunID)
	suite.AddProperty("scenarioFile", r.Scenario.File)
	suite.AddProperty("outcome", string(r.Outcome))
	suite.AddProperty("cluster.provider", r.Cluster.Provider)
	suite.AddProperty("cluster.kubernetesVersion", r.Cluster.KubernetesVersion)

	if r.Outcome == OutcomeAborted || r.Outcome == OutcomeError {
		suite.AddTestcase(runTestcase(r))
	}
	for _, slo := range r.SLOs {
		tc := junit.Testcase{
			Classname: r.Scenario.Name + ".slo",
			Name:      fmt.Sprintf("%s availability >= %s", slo.Name, percent(slo.Objective)),
		}
		res := slo.Result
		if !res.Passed {
			tc.Failure = &junit.Result{
				Type: "slo",
				Message: fmt.Sprintf("availability %s is below the objective %s (%s attempts bad, burn rate %s, error budget used %s)",
					percent(res.Availability), percent(slo.Objective), badAttempts(res), burnRate(res.BurnRate), budgetUsed(slo)),
				Data: xmlText(sloDetails(slo)),
			}
		}
		suite.AddTestcase(tc)
	}
	for _, e := range r.Expectations {
		tc := junit.Testcase{Classname: r.Scenario.Name + ".expectations", Name: e.Name}
		if !e.Passed {
			message := e.Message
			if message == "" {
				message = fmt.Sprintf("%s: measured %s, want %s", e.Check, formatMeasured(e), formatThreshold(e))
			}
			tc.Failure = &junit.Result{
				Type:    e.Check,
				Message: message,
				Data:    xmlText(expectationDetails(e)),
			}
		}
		suite.AddTestcase(tc)
	}

	suites := junit.Testsuites{Name: "gameday"}
	suites.AddSuite(suite)
	var buf bytes.Buffer
	buf.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	if err := suites.WriteXML(&buf); err != nil {
		return nil, fmt.Errorf("encode junit: %w", err)
	}
	return buf.Bytes(), nil
}

// runTestcase reports an aborted run or an infrastructure error as an error
// element, with the steps that failed or were left unreverted.
func runTestcase(r *Report) junit.Testcase {
	result := &junit.Result{Type: "aborted", Message: "aborted: " + r.AbortReason}
	if r.Outcome == OutcomeError {
		result = &junit.Result{Type: "infrastructure", Message: "infrastructure error: " + r.Error}
	}
	var data strings.Builder
	for _, s := range r.Steps {
		if s.Error != "" {
			fmt.Fprintf(&data, "step %s (%s): %s\n", s.Name, s.Kind, s.Error)
		}
	}
	result.Data = xmlText(data.String())
	return junit.Testcase{Classname: r.Scenario.Name, Name: "run", Error: result}
}

func expectationDetails(e Expectation) string {
	var b strings.Builder
	for _, field := range [][2]string{
		{"slo", e.SLO}, {"step", e.Step}, {"check", e.Check},
		{"measured", formatMeasured(e)}, {"threshold", formatThreshold(e)},
	} {
		if field[1] != "" {
			fmt.Fprintf(&b, "%s: %s\n", field[0], field[1])
		}
	}
	return b.String()
}

func sloDetails(slo SLO) string {
	var b strings.Builder
	fmt.Fprintf(&b, "probe: %s (%s) via %s\n", slo.Probe.Name, slo.Probe.Kind, slo.Probe.Path)
	for _, f := range slo.Result.Faults {
		fmt.Fprintf(&b, "fault %s: %s, injection %s, MTTD %s, MTTR %s, %.1fs disrupted\n", f.Window.Name, outcome(f), injection(f), mttd(f), mttr(f), f.DisruptionSeconds)
	}
	for _, d := range slo.Result.Disruptions {
		fmt.Fprintf(&b, "disrupted %s for %s: %s\n", d.Start.UTC().Format("15:04:05.000"), formatDuration(d.Duration()), d.FirstError)
	}
	return b.String()
}

// xmlText drops the characters XML cannot carry (the encoder does so for
// attributes but not for CDATA), e.g. control bytes from a log excerpt.
func xmlText(text string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\t' || r == '\n' || r == '\r',
			r >= 0x20 && r <= 0xD7FF,
			r >= 0xE000 && r <= 0xFFFD,
			r >= 0x10000 && r <= 0x10FFFF:
			return r
		}
		return -1
	}, text)
}
