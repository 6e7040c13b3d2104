package scenario_test

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gameday-dev/gameday/framework/fault/dnsoutage"
	. "github.com/gameday-dev/gameday/framework/scenario"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

// scenariosDir holds the example scenarios users run; every file there is loaded here.
const scenariosDir = "../../scenarios"

func exampleScenarioFiles(t *testing.T) []string {
	t.Helper()
	var files []string
	for _, pattern := range []string{"*.yaml", "*.yml"} {
		matches, err := filepath.Glob(filepath.Join(scenariosDir, pattern))
		assert.NilError(t, err)
		files = append(files, matches...)
	}
	return files
}

func TestExampleScenariosLoad(t *testing.T) {
	t.Parallel()
	files := exampleScenarioFiles(t)
	var names []string
	for _, f := range files {
		names = append(names, filepath.Base(f))
	}
	for _, want := range []string{"demo.yaml", "dns-outage.yaml", "node-loss.yaml", "slo-breach.yaml"} {
		assert.Assert(t, is.Contains(names, want))
	}

	scenarios, err := LoadFiles(files...)
	assert.NilError(t, err)
	for _, s := range scenarios {
		t.Run(filepath.Base(s.File), func(t *testing.T) {
			// The scenario's name is its file name, so run folders and files match up.
			assert.Equal(t, s.Metadata.Name, strings.TrimSuffix(filepath.Base(s.File), filepath.Ext(s.File)))
			assert.Assert(t, s.Metadata.Description != "", "say what the game day shows")
			// The cluster config and fixtures they name exist in the repository.
			assert.NilError(t, s.CheckPaths())
		})
	}
}

func TestDemoScenario(t *testing.T) {
	t.Parallel()
	s, err := LoadFile(filepath.Join(scenariosDir, "demo.yaml"))
	assert.NilError(t, err)
	assert.Equal(t, s.Spec.Cluster.Kind.Config, "clusters/kind/1cp-2w.yaml")
	assert.DeepEqual(t, s.Spec.Fixtures, []Fixture{{Path: "fixtures/workload"}})

	var probes []string
	for _, slo := range s.Spec.SLOs {
		switch p := slo.Probe; {
		case p.HTTP != nil:
			probes = append(probes, "http/"+string(p.HTTP.From))
		case p.DNS != nil:
			probes = append(probes, "dns")
		case p.APIServer != nil:
			probes = append(probes, "apiServer")
		}
	}
	assert.DeepEqual(t, probes, []string{"http/inCluster", "http/nodeNetwork", "dns", "apiServer"})

	var faults []string
	for _, step := range s.Spec.Steps {
		if step.Fault != nil {
			faults = append(faults, step.Fault.FaultKind())
		}
	}
	assert.DeepEqual(t, faults, []string{"nodeLoss", "dnsOutage"})
}

func TestSLOBreachScenarioCannotPass(t *testing.T) {
	t.Parallel()
	s, err := LoadFile(filepath.Join(scenariosDir, "slo-breach.yaml"))
	assert.NilError(t, err)
	dns := s.SLO("cluster-dns")
	assert.Assert(t, dns != nil && dns.Probe.DNS != nil)

	// Even if the run took as long as every wait allows, the DNS outage alone is a larger
	// share of it than the error budget (1 - objective): the objective must be breached.
	var outage, longest time.Duration
	for _, step := range s.Spec.Steps {
		longest += step.Duration
		switch {
		case step.SteadyState != nil:
			longest += step.SteadyState.Duration
		case step.Wait != nil:
			longest += step.Wait.Timeout + step.Wait.Duration
		}
		if _, ok := step.Fault.(*dnsoutage.Spec); ok {
			outage += step.Duration
		}
	}
	budget := 1 - dns.Objective
	assert.Assert(t, outage.Seconds()/longest.Seconds() > 100*budget,
		"outage %s of at most %s against an error budget of %.4f", outage, longest, budget)
	assert.Assert(t, slices.ContainsFunc(s.Spec.Expectations, func(e Expectation) bool {
		return e.SLO == "cluster-dns" && e.Availability != nil && e.Availability.Min >= dns.Objective
	}))
}
