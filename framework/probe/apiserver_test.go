package probe_test

import (
	"encoding/pem"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	"k8s.io/client-go/rest"

	"github.com/gameday-dev/gameday/framework/probe"
)

// fakeAPIServer is a TLS server that wants a bearer token and answers /readyz per its state.
type fakeAPIServer struct {
	srv     *httptest.Server
	healthy atomic.Bool
	conns   atomic.Int32
}

func newFakeAPIServer(t *testing.T) *fakeAPIServer {
	t.Helper()
	f := &fakeAPIServer{}
	f.healthy.Store(true)
	f.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer t0ken" {
			http.Error(w, "Unauthorized", http.StatusUnauthorized)
			return
		}
		switch {
		case r.URL.Path == "/readyz" && f.healthy.Load():
			_, _ = w.Write([]byte("ok"))
		case r.URL.Path == "/readyz":
			http.Error(w, "[+]ping ok\n[-]etcd failed: reason withheld\n[+]informer-sync ok\n[-]poststarthook/rbac failed: not finished\nreadyz check failed", http.StatusInternalServerError)
		default:
			http.NotFound(w, r)
		}
	}))
	f.srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			f.conns.Add(1)
		}
	}
	f.srv.StartTLS()
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeAPIServer) restConfig(token string) *rest.Config {
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: f.srv.Certificate().Raw})
	return &rest.Config{Host: f.srv.URL, BearerToken: token, TLSClientConfig: rest.TLSClientConfig{CAData: ca}}
}

func TestAPIServerProbe(t *testing.T) {
	t.Parallel()
	api := newFakeAPIServer(t)
	p, err := probe.NewAPIServer(probe.APIServerConfig{Name: "api", Config: api.restConfig("t0ken"), Interval: 20 * time.Millisecond, Timeout: 5 * time.Second})
	assert.NilError(t, err)
	assert.Equal(t, p.URL(), api.srv.URL+"/readyz")

	made := collect(t, p, 3)
	for _, s := range made {
		assert.Assert(t, s.OK, s.Error)
		assert.Assert(t, s.Latency > 0)
	}
	assert.Equal(t, api.conns.Load(), int32(len(made)), "a new connection per attempt")

	api.healthy.Store(false)
	s := collect(t, p, 2)[0]
	assert.Assert(t, !s.OK)
	assert.Equal(t, s.Error, "HTTP 500 Internal Server Error: [-]etcd failed: reason withheld; [-]poststarthook/rbac failed: not finished")
}

func TestAPIServerProbeErrors(t *testing.T) {
	t.Parallel()
	api := newFakeAPIServer(t)
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	assert.NilError(t, err)
	assert.NilError(t, closed.Close())

	cases := []struct {
		name      string
		cfg       *rest.Config
		path      string
		wantError string
	}{
		{name: "wrong token", cfg: api.restConfig("nope"), wantError: "HTTP 401 Unauthorized: Unauthorized"},
		{name: "unknown path", cfg: api.restConfig("t0ken"), path: "/livez", wantError: "HTTP 404 Not Found"},
		{name: "untrusted certificate", cfg: &rest.Config{Host: api.srv.URL, BearerToken: "t0ken"}, wantError: "certificate"},
		{name: "down", cfg: &rest.Config{Host: "https://" + closed.Addr().String()}, wantError: "connection refused"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p, err := probe.NewAPIServer(probe.APIServerConfig{Name: "api", Config: tc.cfg, Path: tc.path, Interval: 50 * time.Millisecond})
			assert.NilError(t, err)
			s := collect(t, p, 1)[0]
			assert.Assert(t, !s.OK)
			assert.ErrorContains(t, errorOf(s), tc.wantError)
		})
	}

	_, err = probe.NewAPIServer(probe.APIServerConfig{})
	assert.ErrorContains(t, err, "name is required")
	assert.ErrorContains(t, err, "rest config is required")
}
