package main

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

func TestAdmin(t *testing.T) {
	t.Parallel()
	a, b := newBackend(t, "a"), newBackend(t, "b")
	b.status.Store(http.StatusInternalServerError)
	l := startLB(t, kindCDS(a.addr(), b.addr()), apiserver)
	l.waitStates(cl, map[string]healthState{a.addr(): stateHealthy, b.addr(): stateUnhealthy})
	fetch(t, l.listenerAddr(apiserver.Name))
	admin := httptest.NewServer(l.s.adminHandler())
	t.Cleanup(admin.Close)

	cases := []struct {
		method, path string
		code         int
		body         []string // lines the body must hold
	}{
		{"GET", "/ready", 200, []string{"LIVE"}},
		{"HEAD", "/ready", 200, nil},
		{"GET", "/clusters", 200, []string{
			cl + "::observability_name::" + cl,
			cl + "::" + a.addr() + "::health_flags::healthy",
			cl + "::" + a.addr() + "::cx_total::1",
			cl + "::" + a.addr() + "::cx_connect_fail::0",
			cl + "::" + b.addr() + "::health_flags::/failed_active_hc",
			cl + "::" + b.addr() + "::cx_total::0",
		}},
		{"POST", "/ready", 404, nil},
		{"GET", "/stats", 404, nil},
		{"GET", "/", 404, nil},
	}
	for _, tc := range cases {
		req, err := http.NewRequest(tc.method, admin.URL+tc.path, nil)
		assert.NilError(t, err)
		resp, err := http.DefaultClient.Do(req)
		assert.NilError(t, err)
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		assert.NilError(t, err)
		assert.Check(t, is.Equal(resp.StatusCode, tc.code), "%s %s", tc.method, tc.path)
		lines := strings.Split(string(body), "\n")
		for _, want := range tc.body {
			assert.Check(t, is.Contains(lines, want), "%s %s:\n%s", tc.method, tc.path, body)
		}
	}
}

func TestAdminNotReadyBeforeStart(t *testing.T) {
	t.Parallel()
	s := newServer(slog.New(slog.DiscardHandler), "cds.yaml", "lds.yaml", defaultPollInterval)
	rec := httptest.NewRecorder()
	s.adminHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/ready", nil))
	assert.Equal(t, rec.Code, http.StatusServiceUnavailable)
	assert.Equal(t, rec.Body.String(), "PRE_INITIALIZING\n")
}
