package probe_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"gotest.tools/v3/assert"

	"github.com/gameday-dev/gameday/framework/probe"
)

// collect runs p until it has emitted n samples (or 10 s pass) and returns them.
func collect(t *testing.T, p probe.Probe, n int) []probe.Sample {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	var got []probe.Sample
	err := p.Run(ctx, func(s probe.Sample) {
		if len(got) < n {
			got = append(got, s)
		}
		if len(got) == n {
			cancel()
		}
	})
	assert.NilError(t, err)
	assert.Equal(t, len(got), n, "probe stopped early")
	return got
}

func TestHTTPProbe(t *testing.T) {
	t.Parallel()
	mux := http.NewServeMux()
	mux.HandleFunc("/ok", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("fine")) })
	mux.HandleFunc("/down", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) })
	mux.HandleFunc("/moved", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/ok", http.StatusFound) })
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(5 * time.Second):
		case <-r.Context().Done():
		}
	})
	mux.HandleFunc("/slow-body", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		select {
		case <-time.After(5 * time.Second):
		case <-r.Context().Done():
		}
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	closed, err := net.Listen("tcp", "127.0.0.1:0")
	assert.NilError(t, err)
	closedURL := "http://" + closed.Addr().String() + "/"
	assert.NilError(t, closed.Close())

	const short, long = 200 * time.Millisecond, 5 * time.Second // long: never hit, even on a loaded machine
	cases := []struct {
		name      string
		url       string
		timeout   time.Duration
		wantOK    bool
		wantError string
	}{
		{name: "up", url: srv.URL + "/ok", timeout: long, wantOK: true},
		{name: "down", url: srv.URL + "/down", timeout: long, wantError: "HTTP 503 Service Unavailable"},
		{name: "redirect is not followed", url: srv.URL + "/moved", timeout: long, wantError: "HTTP 302 Found"},
		{name: "slow headers", url: srv.URL + "/slow", timeout: short, wantError: "timeout after 200ms waiting for response headers"},
		{name: "slow body", url: srv.URL + "/slow-body", timeout: short, wantError: "timeout after 200ms reading the response body"},
		{name: "closed port", url: closedURL, timeout: long, wantError: "connection refused"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p, err := probe.NewHTTP(probe.HTTPConfig{Name: "web", URL: tc.url, Interval: 50 * time.Millisecond, Timeout: tc.timeout})
			assert.NilError(t, err)
			s := collect(t, p, 1)[0]
			assert.Equal(t, s.Probe, "web")
			assert.Equal(t, s.OK, tc.wantOK, s.Error)
			if tc.wantError == "" {
				assert.Equal(t, s.Error, "")
			} else {
				assert.ErrorContains(t, errorOf(s), tc.wantError)
				assert.Assert(t, !strings.Contains(s.Error, tc.url), "error repeats the URL: %s", s.Error)
			}
			assert.Assert(t, s.Latency > 0)
			assert.Assert(t, s.Latency <= tc.timeout+time.Second, "latency %s", s.Latency)
		})
	}
}

// errorOf returns the sample's error text as an error, for assert.ErrorContains.
func errorOf(s probe.Sample) error {
	if s.Error == "" {
		return nil
	}
	return sampleError(s.Error)
}

type sampleError string

func (e sampleError) Error() string { return string(e) }

func TestHTTPProbeOpensANewConnectionPerAttempt(t *testing.T) {
	t.Parallel()
	var conns atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	srv.Config.ConnState = func(_ net.Conn, state http.ConnState) {
		if state == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	p, err := probe.NewHTTP(probe.HTTPConfig{Name: "web", URL: srv.URL, Interval: 20 * time.Millisecond, Timeout: 5 * time.Second})
	assert.NilError(t, err)
	made := collect(t, p, 4)
	for _, s := range made {
		assert.Assert(t, s.OK, s.Error)
	}
	assert.Equal(t, conns.Load(), int32(len(made)))
}

func TestNewHTTPValidates(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		cfg  probe.HTTPConfig
		want string
	}{
		{"no name", probe.HTTPConfig{URL: "http://x"}, "name is required"},
		{"no scheme", probe.HTTPConfig{Name: "a", URL: "10.96.0.1/"}, "scheme must be http or https"},
		{"no host", probe.HTTPConfig{Name: "a", URL: "http:///x"}, "host is required"},
		{"negative timeout", probe.HTTPConfig{Name: "a", URL: "http://x", Timeout: -time.Second}, "timeout must not be negative"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := probe.NewHTTP(tc.cfg)
			assert.ErrorContains(t, err, tc.want)
		})
	}
	p, err := probe.NewHTTP(probe.HTTPConfig{Name: "a", URL: "http://x"})
	assert.NilError(t, err)
	assert.Equal(t, p.Config().Interval, probe.DefaultInterval)
	assert.Equal(t, p.Config().Timeout, probe.DefaultTimeout)
}
