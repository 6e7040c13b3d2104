package scenario_test

import (
	"testing"
	"time"

	"github.com/gameday-dev/gameday/framework/fault/dnsoutage"
	"github.com/gameday-dev/gameday/framework/fault/nodeloss"
	. "github.com/gameday-dev/gameday/framework/scenario"

	"gotest.tools/v3/assert"
)

// codeScenario is a valid scenario built in Go, before defaults.
func codeScenario() *Scenario {
	return &Scenario{
		Metadata: Metadata{Name: "in-code"},
		Spec: Spec{
			SLOs: []SLO{{Name: "api", Objective: 0.99, Probe: Probe{APIServer: &APIServerProbe{}}}},
			Steps: []Step{
				{Name: "steady", SteadyState: &SteadyState{Duration: 10 * time.Second}},
				{Name: "dns-down", Duration: 30 * time.Second, Fault: &dnsoutage.Spec{}},
			},
			Expectations: []Expectation{
				{Name: "api recovers", SLO: "api", Step: "dns-down", MTTR: &DurationLimit{Max: time.Minute}},
			},
		},
	}
}

func TestValidateScenarioBuiltInCode(t *testing.T) {
	t.Parallel()
	s := codeScenario()
	s.Default()
	assert.NilError(t, s.Validate())

	again := codeScenario()
	again.Default()
	again.Default()
	assert.DeepEqual(t, again.Spec, s.Spec) // Default is idempotent
}

func TestValidateWithoutDefaults(t *testing.T) {
	t.Parallel()
	s := codeScenario()
	s.Spec.Cluster.Kind = &KindCluster{}
	assert.DeepEqual(t, errorLines(t, s.Validate()), []string{
		`apiVersion: unsupported apiVersion ""; supported: gameday.dev/v1alpha1`,
		`kind: unsupported kind ""; want Scenario`,
		"spec.cluster.kind.name: required",
		"spec.cluster.kind.reuse: must be true or false",
		"spec.cluster.kind.keep: must be true or false",
		"spec.slos[0].interval: must be greater than 0, got 0s",
		"spec.slos[0].timeout: must be greater than 0, got 0s",
		"spec.slos[0].period: must be greater than 0, got 0s",
		`spec.slos[0].probe.apiServer.path: must be an HTTP path starting with /, got ""`,
		"spec.scoring.healthyWindow: must be greater than 0, got 0s",
		`spec.steps[1].fault.dnsOutage.mode: must be one of scaleDown, servfail, got ""`,
		"spec.abort.timeout: must be greater than 0, got 0s",
	})
}

func TestValidateInCode(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		change func(s *Scenario)
		want   []string
	}{
		{
			name:   "typed nil fault",
			change: func(s *Scenario) { s.Spec.Steps[1].Fault = (*nodeloss.Spec)(nil) },
			want: []string{
				"spec.steps[1]: must set one of steadyState, fault or wait",
				"spec.steps[1].duration: only fault steps take a duration; steadyState and wait set their own",
				`spec.expectations[0].mttr: needs a fault step, but step "dns-down" does not inject a fault`,
			},
		},
		{
			name: "negative durations",
			change: func(s *Scenario) {
				s.Spec.Steps[0].SteadyState.Duration = -time.Second
				s.Spec.Steps[1].Duration = -time.Second
				s.Spec.Expectations[0].MTTR.Max = -time.Second
				s.Spec.Abort.Conditions = []AbortCondition{{SLO: "api", FailingFor: -time.Second}}
			},
			want: []string{
				"spec.steps[0].steadyState.duration: must be greater than 0, got -1s",
				"spec.steps[1].duration: must be greater than 0, got -1s",
				"spec.expectations[0].mttr.max: must be greater than 0, got -1s",
				"spec.abort.conditions[0].failingFor: must be greater than 0, got -1s",
			},
		},
		{
			name: "existing cluster without opt-ins",
			change: func(s *Scenario) {
				s.Spec.Cluster = Cluster{Kubeconfig: &KubeconfigCluster{}}
				s.Spec.Steps[1].Fault = &nodeloss.Spec{Mode: nodeloss.Stop, Target: nodeloss.Target{Role: nodeloss.RoleWorker, Count: 1}}
			},
			want: []string{
				"spec.cluster.kubeconfig.context: required: name the kubeconfig context to act on; gameday never acts on an existing cluster through the kubeconfig's current context",
				"spec.steps[1].fault.nodeLoss.allowExistingCluster: must be true to lose nodes of an existing cluster (spec.cluster.kubeconfig)",
			},
		},
		{
			name: "no cluster",
			change: func(s *Scenario) {
				s.Spec.Cluster = Cluster{}
			},
			want: []string{"spec.cluster: must set one of kind or kubeconfig"},
		},
		{
			name: "nodeLoss without a target",
			change: func(s *Scenario) {
				s.Spec.Steps[1].Fault = &nodeloss.Spec{Mode: nodeloss.Pause}
			},
			want: []string{"spec.steps[1].fault.nodeLoss.target: must set role (with count) or names"},
		},
		{
			name: "bad names",
			change: func(s *Scenario) {
				s.Spec.Steps[1].Fault = &dnsoutage.Spec{Mode: dnsoutage.Servfail, Names: []string{"a..b", "", "ok.example.", "ok.example."}}
			},
			want: []string{
				`spec.steps[1].fault.dnsOutage.names[0]: must be a DNS name such as workload.gameday-workload.svc.cluster.local, got "a..b"`,
				"spec.steps[1].fault.dnsOutage.names[1]: required",
				`spec.steps[1].fault.dnsOutage.names[3]: "ok.example." is already used by spec.steps[1].fault.dnsOutage.names[2]`,
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := codeScenario()
			s.Default()
			tc.change(s)
			assert.DeepEqual(t, errorLines(t, s.Validate()), tc.want)
		})
	}
}

// TestValidateExistingCluster shows that an existing cluster needs a named context
// and nothing else from validation: whether that context is allowed (the scenario's
// allow, or --allow-context) is decided by the guard at run time.
func TestValidateExistingCluster(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		cluster KubeconfigCluster
		want    []string // none means valid
	}{
		{name: "named and allowed", cluster: KubeconfigCluster{Context: "staging", Allow: true}},
		{name: "named, allowed by --allow-context", cluster: KubeconfigCluster{Path: "kc", Context: "staging"}},
		{
			name:    "allowed but no context named",
			cluster: KubeconfigCluster{Path: "kc", Allow: true},
			want: []string{"spec.cluster.kubeconfig.context: required: name the kubeconfig context to act on; " +
				"gameday never acts on an existing cluster through the kubeconfig's current context"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := codeScenario()
			s.Default()
			s.Spec.Cluster = Cluster{Kubeconfig: &tc.cluster}
			err := s.Validate()
			if len(tc.want) == 0 {
				assert.NilError(t, err)
				return
			}
			assert.DeepEqual(t, errorLines(t, err), tc.want)
		})
	}
}

func TestKnownFaultKinds(t *testing.T) {
	t.Parallel()
	assert.DeepEqual(t, KnownFaultKinds(), []string{"dnsOutage", "nodeLoss"})
	for _, kind := range KnownFaultKinds() {
		f, ok := NewFault(kind)
		assert.Assert(t, ok)
		assert.Equal(t, f.FaultKind(), kind)
	}
}

func TestPlannedDuration(t *testing.T) {
	t.Parallel()
	s := codeScenario()
	s.Spec.Steps = append(s.Spec.Steps,
		Step{Name: "wait", Wait: &Wait{For: WaitForDuration, Duration: 5 * time.Second}},
		Step{Name: "settle", Wait: &Wait{For: WaitForRecovered, Timeout: time.Minute}},
	)
	assert.Equal(t, s.Spec.PlannedDuration(), 45*time.Second)
}
