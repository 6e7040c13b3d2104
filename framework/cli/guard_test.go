package cli

import (
	"context"
	"errors"
	"regexp"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
	"k8s.io/client-go/rest"

	"github.com/gameday-dev/gameday/clusters"
	"github.com/gameday-dev/gameday/framework/guard"
	"github.com/gameday-dev/gameday/framework/runner"
	"github.com/gameday-dev/gameday/framework/scenario"
)

// TestRunGuardFlags checks that the guard rail flags of `gameday run` reach the runner.
func TestRunGuardFlags(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		args      []string
		contexts  []string
		allowProd bool
	}{
		{name: "none"},
		{name: "allow contexts", args: []string{"--allow-context", "staging", "--allow-context", "dev"}, contexts: []string{"staging", "dev"}},
		{
			name: "production-looking", args: []string{"--allow-context", "eks-prod-eu", "--allow-production-looking"},
			contexts: []string{"eks-prod-eu"}, allowProd: true,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var out, errOut syncBuffer
			var got *runner.Options
			a := &app{stdout: &out, stderr: &errOut, getenv: noEnv,
				runScenario: func(_ context.Context, _ *scenario.Scenario, opts runner.Options) (*runner.Result, error) {
					got = &opts
					return nil, nil
				}}
			code := a.run(context.Background(), append(append([]string{"run"}, tc.args...), nodeLossScenario))
			assert.Equal(t, code, ExitOK, "stderr: %s", errOut.String())
			assert.Assert(t, got != nil, "the runner was not called")
			assert.DeepEqual(t, got.AllowContexts, tc.contexts)
			assert.Equal(t, got.AllowProductionLooking, tc.allowProd)
		})
	}
}

// TestGuardRemediesAreRunFlags checks that every flag a guard refusal tells the user
// to pass exists on `gameday run`, under exactly that name.
func TestGuardRemediesAreRunFlags(t *testing.T) {
	t.Parallel()
	refusals := []error{
		guard.Check(&clusters.Cluster{Name: "staging", Provider: "kubeconfig", Context: "staging",
			REST: &rest.Config{Host: "https://10.0.0.1:6443"}}, nil),
		guard.Check(&clusters.Cluster{Name: "eks-prod-eu", Provider: "kubeconfig", Context: "eks-prod-eu",
			REST: &rest.Config{Host: "https://10.0.0.1:6443"}}, []string{"eks-prod-eu"}),
	}
	run := (&app{}).newRunCommand()
	seen := map[string]bool{}
	for _, err := range refusals {
		var refused *guard.RefusedError
		assert.Assert(t, errors.As(err, &refused), "not refused: %v", err)
		for _, m := range regexp.MustCompile(`--([a-z][a-z-]*)`).FindAllStringSubmatch(err.Error(), -1) {
			seen[m[1]] = true
			assert.Check(t, run.Flags().Lookup(m[1]) != nil, "the refusal names --%s, which `gameday run` does not have: %v", m[1], err)
		}
	}
	assert.DeepEqual(t, seen, map[string]bool{"allow-context": true, "allow-production-looking": true})
}

// TestRecoverKubeconfigNeedsContext checks that recover never falls back to a
// kubeconfig's current context.
func TestRecoverKubeconfigNeedsContext(t *testing.T) {
	t.Parallel()
	code, _, stderr := runCLI(t, "recover", "--runs-dir", t.TempDir(), "--kubeconfig", "/no/such/kubeconfig")
	assert.Equal(t, code, ExitInvalidInput)
	assert.Check(t, is.Contains(stderr, "--kubeconfig needs --context"))
}
