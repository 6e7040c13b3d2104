package runner_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"gotest.tools/v3/assert"

	"github.com/gameday-dev/gameday/framework/runner"
	"github.com/gameday-dev/gameday/framework/scenario"
)

// recordingAPIServer stands in for a cluster the run must not touch: it records
// every request it gets and answers 500.
type recordingAPIServer struct {
	mu       sync.Mutex
	requests []string
}

func (s *recordingAPIServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.requests = append(s.requests, r.Method+" "+r.URL.Path)
	s.mu.Unlock()
	http.Error(w, "this test server refuses everything", http.StatusInternalServerError)
}

// TestDisallowedContextIsRefusedBeforeAnyAPICall points a run at a kubeconfig
// context that neither the scenario nor a flag allows, and shows the run is refused
// before a single request reaches the API server. It also checks that a
// production-looking context is refused even when it is allowed.
func TestDisallowedContextIsRefusedBeforeAnyAPICall(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		context string
		allow   bool
		flag    []string
	}{
		{name: "not allowed", context: "staging"},
		{name: "another context allowed by flag", context: "staging", flag: []string{"dev"}},
		{name: "production-looking, allowed in the scenario", context: "prod-eu-1", allow: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			api := &recordingAPIServer{}
			srv := httptest.NewServer(api)
			defer srv.Close()
			dir := t.TempDir()
			kubeconfig := filepath.Join(dir, "kubeconfig")
			assert.NilError(t, os.WriteFile(kubeconfig, []byte(fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: c
  cluster: {server: %q}
users:
- name: u
  user: {token: not-a-real-token}
contexts:
- name: %s
  context: {cluster: c, user: u}
current-context: %s
`, srv.URL, tc.context, tc.context)), 0o600))
			sc, err := scenario.Load(filepath.Join(dir, "s.yaml"), []byte(fmt.Sprintf(`apiVersion: gameday.dev/v1alpha1
kind: Scenario
metadata: {name: refused}
spec:
  cluster:
    kubeconfig: {path: %s, context: %s, allow: %v}
  slos:
    - name: api
      objective: 0.99
      probe: {apiServer: {}}
  steps:
    - name: dns
      duration: 10s
      fault: {dnsOutage: {}}
`, kubeconfig, tc.context, tc.allow)))
			if !tc.allow {
				// The scenario decoder itself insists on the opt-in.
				assert.ErrorContains(t, err, "allow")
				sc, err = scenario.Load(filepath.Join(dir, "s.yaml"), []byte(fmt.Sprintf(`apiVersion: gameday.dev/v1alpha1
kind: Scenario
metadata: {name: refused}
spec:
  cluster:
    kubeconfig: {path: %s, context: %s, allow: true}
  slos:
    - name: api
      objective: 0.99
      probe: {apiServer: {}}
  steps:
    - name: dns
      duration: 10s
      fault: {dnsOutage: {}}
`, kubeconfig, tc.context)))
				assert.NilError(t, err)
				sc.Spec.Cluster.Kubeconfig.Allow = false // as a Go user could build it
			} else {
				assert.NilError(t, err)
			}
			_, err = runner.Run(context.Background(), sc, runner.Options{RunsDir: filepath.Join(dir, "runs"), AllowContexts: tc.flag})
			assert.Assert(t, err != nil, "the run was not refused")
			assert.Assert(t, errors.Is(err, runner.ErrRefused) || errors.Is(err, runner.ErrInvalidInput), "unexpected error: %v", err)
			api.mu.Lock()
			defer api.mu.Unlock()
			assert.Equal(t, len(api.requests), 0, "requests reached the API server: %v", api.requests)
			_, statErr := os.Stat(filepath.Join(dir, "runs"))
			assert.Assert(t, os.IsNotExist(statErr), "a run folder was created")
		})
	}
}
