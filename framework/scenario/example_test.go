package scenario_test

import (
	"fmt"
	"time"

	"github.com/gameday-dev/gameday/framework/fault/nodeloss"
	"github.com/gameday-dev/gameday/framework/scenario"
)

// A scenario can be built in Go instead of YAML: default it, then validate it.
func ExampleScenario_Validate() {
	s := &scenario.Scenario{
		Metadata: scenario.Metadata{Name: "in-code"},
		Spec: scenario.Spec{
			SLOs: []scenario.SLO{{
				Name:      "workload-http",
				Objective: 0.99,
				Probe:     scenario.Probe{HTTP: &scenario.HTTPProbe{Service: "gameday-workload/workload", Port: 80}},
			}},
			Steps: []scenario.Step{{
				Name:     "lose-a-worker",
				Duration: time.Minute,
				Fault:    &nodeloss.Spec{Target: nodeloss.Target{Role: nodeloss.RoleWorker}},
			}},
			Expectations: []scenario.Expectation{{
				Name: "recovers", SLO: "workload-http", Step: "lose-a-worker", MTTR: &scenario.DurationLimit{Max: 3 * time.Minute},
			}},
		},
	}
	s.Default()
	fmt.Println(s.Validate())
	// Output:
	// spec.steps[0].fault.nodeLoss.target.count: must be at least 1, got 0
}

func ExampleLoad() {
	_, err := scenario.Load("scenarios/x.yaml", []byte(`apiVersion: gameday.dev/v1alpha1
kind: Scenario
metadata:
  name: x
spec:
  slos:
    - name: api
      objective: 0.99
      probe: {apiServer: {}}
  steps:
    - name: lose-a-worker
      duration: 1m
      fault:
        nodeLoss:
          target: {role: worker, count: 0}
    - name: cpu
      fault:
        cpuHog: {}
`))
	fmt.Println(err)
	// Output:
	// scenarios/x.yaml:15: spec.steps[0].fault.nodeLoss.target.count: must be at least 1, got 0
	// scenarios/x.yaml:16: spec.steps[1].duration: required for a fault step: how long the fault stays before it is reverted
	// scenarios/x.yaml:18: spec.steps[1].fault: unknown fault kind "cpuHog"; known kinds: dnsOutage, nodeLoss
}
