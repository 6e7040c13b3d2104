package runner_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
	coordinationv1 "k8s.io/api/coordination/v1"
	clientscheme "k8s.io/client-go/kubernetes/scheme"

	"github.com/gameday-dev/gameday/framework/guard"
	"github.com/gameday-dev/gameday/framework/lease"
	"github.com/gameday-dev/gameday/framework/runner"
	"github.com/gameday-dev/gameday/framework/scenario"
)

// guardOutcome is how a guard case must end.
type guardOutcome int

const (
	// refusedByGuard: runner.Run returns ErrRefused wrapping a *guard.RefusedError.
	refusedByGuard guardOutcome = iota
	// invalidScenario: the scenario validator refuses it (file, line, field path).
	invalidScenario
	// allowed: the guard lets the run through; its first write is the run lease.
	allowed
)

// guardCase is one way of pointing a run at an existing cluster. The kubeconfig
// holds the contexts "staging" (its current context), "dev" and "eks-prod-eu", all
// reaching the same API server.
type guardCase struct {
	name string
	// context is the scenario's kubeconfig.context ("" names none) and allow its
	// kubeconfig.allow.
	context string
	allow   bool
	// flags are --allow-context values; prod is --allow-production-looking.
	flags []string
	prod  bool
	want  guardOutcome
	// wantErr lists what a refusal must say.
	wantErr []string
}

// guardCases are every refusal and every documented way to allow an existing cluster.
var guardCases = []guardCase{
	{
		name: "context not allowed", context: "staging", want: refusedByGuard,
		wantErr: []string{`refusing to act on context "staging"`, "--allow-context staging"},
	},
	{
		name: "another context allowed by flag", context: "staging", flags: []string{"dev"}, want: refusedByGuard,
		wantErr: []string{"--allow-context staging"},
	},
	{
		name: "production-looking allowed in the scenario without the override", context: "eks-prod-eu", allow: true,
		want: refusedByGuard, wantErr: []string{"looks like production (pass --allow-production-looking"},
	},
	{
		name: "production-looking allowed by flag without the override", context: "eks-prod-eu", flags: []string{"eks-prod-eu"},
		want: refusedByGuard, wantErr: []string{"looks like production (pass --allow-production-looking"},
	},
	{
		name: "production-looking with the override but not allowed", context: "eks-prod-eu", prod: true,
		want: refusedByGuard, wantErr: []string{"--allow-context eks-prod-eu"},
	},
	{
		// The current context is "staging", and even naming it with --allow-context
		// does not let a scenario that names no context reach it.
		name: "no context named", allow: true, flags: []string{"staging"}, want: invalidScenario,
		wantErr: []string{":6: spec.cluster.kubeconfig.context: required"},
	},
	{name: "allowed in the scenario", context: "staging", allow: true, want: allowed},
	{name: "allowed by --allow-context", context: "staging", flags: []string{"staging"}, want: allowed},
	{name: "production-looking allowed in the scenario with the override", context: "eks-prod-eu", allow: true, prod: true, want: allowed},
	{name: "production-looking allowed by flag with the override", context: "eks-prod-eu", flags: []string{"eks-prod-eu"}, prod: true, want: allowed},
}

// requestLog records every request that reaches a cluster, and calls onLeaseWrite
// when the run lease is created or taken over.
type requestLog struct {
	mu           sync.Mutex
	all          []string
	onLeaseWrite func()
}

// leasesPath is where the run lease lives.
var leasesPath = "/apis/coordination.k8s.io/v1/namespaces/" + lease.DefaultNamespace + "/leases"

func (l *requestLog) record(r *http.Request) {
	l.mu.Lock()
	l.all = append(l.all, r.Method+" "+r.URL.Path)
	l.mu.Unlock()
	if (r.Method == http.MethodPost || r.Method == http.MethodPut) && strings.HasPrefix(r.URL.Path, leasesPath) && l.onLeaseWrite != nil {
		l.onLeaseWrite()
	}
}

// requests returns every request so far, and those that could change something:
// every method but GET, HEAD and OPTIONS.
func (l *requestLog) requests() (all, mutating []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, r := range l.all {
		switch method, _, _ := strings.Cut(r, " "); method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
		default:
			mutating = append(mutating, r)
		}
	}
	return append([]string(nil), l.all...), mutating
}

// fakeAPIServer pretends to be an API server far enough for a run to take its lease:
// it keeps one Lease (get, create, update, delete) and answers 404 to everything else.
type fakeAPIServer struct {
	log   *requestLog
	mu    sync.Mutex
	lease *coordinationv1.Lease // nil while there is none
	rv    int
}

func (s *fakeAPIServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.log.record(r)
	s.mu.Lock()
	defer s.mu.Unlock()
	one := leasesPath + "/" + lease.DefaultName
	switch {
	case r.URL.Path == leasesPath && r.Method == http.MethodPost, r.URL.Path == one && r.Method == http.MethodPut:
		body, _ := io.ReadAll(r.Body)
		// client-go sends built-in types as protobuf; the universal decoder reads any.
		obj, _, err := clientscheme.Codecs.UniversalDeserializer().Decode(body, nil, &coordinationv1.Lease{})
		if err != nil {
			writeStatus(w, http.StatusBadRequest, "BadRequest", err.Error())
			return
		}
		l := obj.(*coordinationv1.Lease)
		s.rv++
		l.UID, l.ResourceVersion = "lease-uid", fmt.Sprint(s.rv)
		l.APIVersion, l.Kind = "coordination.k8s.io/v1", "Lease"
		s.lease = l
		code := http.StatusOK
		if r.Method == http.MethodPost {
			code = http.StatusCreated
		}
		writeJSON(w, code, l)
	case r.URL.Path == one && r.Method == http.MethodGet && s.lease != nil:
		writeJSON(w, http.StatusOK, s.lease)
	case r.URL.Path == one && r.Method == http.MethodDelete && s.lease != nil:
		s.lease = nil
		writeStatus(w, http.StatusOK, "", "")
	default:
		writeStatus(w, http.StatusNotFound, "NotFound", "this test server only knows the run lease")
	}
}

func writeJSON(w http.ResponseWriter, code int, obj any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(obj)
}

func writeStatus(w http.ResponseWriter, code int, reason, message string) {
	status := "Success"
	if code >= 300 {
		status = "Failure"
	}
	writeJSON(w, code, map[string]any{
		"kind": "Status", "apiVersion": "v1", "status": status, "reason": reason, "message": message, "code": code,
	})
}

// guardKubeconfig writes a kubeconfig whose contexts "staging" (current), "dev" and
// "eks-prod-eu" all reach server with the given user entry (YAML flow mapping).
func guardKubeconfig(t *testing.T, dir, server, cluster, user string) string {
	t.Helper()
	var contexts strings.Builder
	for _, name := range []string{"staging", "dev", "eks-prod-eu"} {
		fmt.Fprintf(&contexts, "- name: %s\n  context: {cluster: c, user: u}\n", name)
	}
	path := filepath.Join(dir, "kubeconfig")
	assert.NilError(t, os.WriteFile(path, []byte(fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: c
  cluster: %s
users:
- name: u
  user: %s
contexts:
%scurrent-context: staging
`, strings.ReplaceAll(cluster, "$SERVER", server), user, contexts.String())), 0o600))
	return path
}

// guardScenario loads a scenario for tc against kubeconfig, and how runner.Options
// allow it.
func guardScenario(t *testing.T, dir, kubeconfig string, tc guardCase) (*scenario.Scenario, error) {
	t.Helper()
	kc := fmt.Sprintf("path: %s", kubeconfig)
	if tc.context != "" {
		kc += ", context: " + tc.context
	}
	if tc.allow {
		kc += ", allow: true"
	}
	return scenario.Load(filepath.Join(dir, "guard.yaml"), []byte(`apiVersion: gameday.dev/v1alpha1
kind: Scenario
metadata: {name: guard}
spec:
  cluster:
    kubeconfig: {`+kc+`}
  slos:
    - name: api
      objective: 0.99
      probe: {apiServer: {}}
  steps:
    - name: dns
      duration: 10s
      fault: {dnsOutage: {}}
`))
}

// runGuardCase runs tc against kubeconfig, cancelling the run as soon as its lease is
// written, and checks the outcome and what reached the cluster through log.
func runGuardCase(t *testing.T, tc guardCase, dir, kubeconfig string, log *requestLog, exactLeaseWrites bool) {
	t.Helper()
	runsDir := filepath.Join(dir, "runs")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	log.onLeaseWrite = cancel // the run got through the guard: stop it after its first write

	sc, err := guardScenario(t, dir, kubeconfig, tc)
	if err == nil {
		_, err = runner.Run(ctx, sc, runner.Options{
			RunsDir: runsDir, AllowContexts: tc.flags, AllowProductionLooking: tc.prod, Progress: testProgress{t},
		})
	}
	all, mutating := log.requests()
	switch tc.want {
	case refusedByGuard, invalidScenario:
		assert.Check(t, is.Len(mutating, 0), "mutating requests reached the cluster: %v", mutating)
		assert.Check(t, is.Len(all, 0), "requests reached the cluster: %v", all)
		if tc.want == refusedByGuard {
			var refused *guard.RefusedError
			assert.Assert(t, errors.As(err, &refused), "not refused by the guard: %v", err)
			assert.Assert(t, errors.Is(err, runner.ErrRefused), "%v", err)
		} else {
			var fieldErr scenario.FieldError
			assert.Assert(t, errors.As(err, &fieldErr), "not refused by the scenario validator: %v", err)
		}
		for _, want := range tc.wantErr {
			assert.Check(t, is.ErrorContains(err, want))
		}
		_, statErr := os.Stat(runsDir)
		assert.Check(t, os.IsNotExist(statErr), "a run folder was created")
	case allowed:
		assert.Assert(t, !errors.Is(err, runner.ErrRefused) && !errors.Is(err, runner.ErrInvalidInput), "refused: %v", err)
		assert.Assert(t, len(mutating) > 0, "the run sent no write: it never took its lease")
		lease := leasesPath + "/" + lease.DefaultName
		if exactLeaseWrites {
			// Its one write: create the lease; then, stopped, it deletes it again.
			assert.DeepEqual(t, mutating, []string{"POST " + leasesPath, "DELETE " + lease})
			return
		}
		// A real cluster may hold an expired lease from an earlier run: taking it
		// over is an update instead of a create.
		assert.Assert(t, mutating[0] == "POST "+leasesPath || mutating[0] == "PUT "+lease, "first write: %v", mutating)
		for _, m := range mutating {
			assert.Check(t, strings.HasSuffix(m, " "+leasesPath) || strings.HasSuffix(m, " "+lease), "a write besides the lease: %v", mutating)
		}
		assert.Check(t, is.Equal(mutating[len(mutating)-1], "DELETE "+lease), "the lease was not released: %v", mutating)
	}
}

// TestGuardCountsMutatingRequests points runs at an API server that records every
// request, once for each way to refuse or allow an existing cluster. A refusal must
// be decided before the first request (so zero mutating ones) and, except for a
// scenario that names no context (invalid input, with file, line and field path),
// by the guard; an allowed run's first write is its lease, after which the test
// stops it.
func TestGuardCountsMutatingRequests(t *testing.T) {
	t.Parallel()
	for _, tc := range guardCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			log := &requestLog{}
			srv := httptest.NewServer(&fakeAPIServer{log: log})
			defer srv.Close()
			dir := t.TempDir()
			kubeconfig := guardKubeconfig(t, dir, srv.URL, `{server: "$SERVER"}`, `{token: not-a-real-token}`)
			runGuardCase(t, tc, dir, kubeconfig, log, true)
		})
	}
}
