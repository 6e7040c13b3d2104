package main

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"text/template"
	"time"

	"gotest.tools/v3/assert"
	"gotest.tools/v3/poll"
)

// waitTimeout bounds every wait for a condition; the conditions normally hold
// within a few health check intervals (20ms in these tests).
const waitTimeout = 5 * time.Second

// backend is an HTTPS server standing in for a kube-apiserver: / answers its name
// and /healthz answers status (or hangs while hang is set).
type backend struct {
	name   string
	srv    *httptest.Server
	status atomic.Int32
	hang   atomic.Bool
	stop   chan struct{} // closed at cleanup, releases hung checks
}

func newBackend(t *testing.T, name string) *backend {
	t.Helper()
	b := &backend{name: name, stop: make(chan struct{})}
	b.status.Store(http.StatusOK)
	b.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" {
			fmt.Fprint(w, name)
			return
		}
		if b.hang.Load() {
			select {
			case <-b.stop:
			case <-r.Context().Done():
			}
			return
		}
		w.WriteHeader(int(b.status.Load()))
	}))
	b.srv.Config.ErrorLog = log.New(io.Discard, "", 0) // aborted checks make TLS handshake noise
	b.srv.StartTLS()
	t.Cleanup(b.srv.Close)
	t.Cleanup(func() { close(b.stop) })
	return b
}

func (b *backend) addr() string { return b.srv.Listener.Addr().String() }

// hostPort is an endpoint in a cds.yaml.tmpl.
type hostPort struct{ Host, Port string }

// cdsParams are the parameters of testdata/cds.yaml.tmpl.
type cdsParams struct {
	Cluster            string
	Timeout, Interval  string
	Unhealthy, Healthy int
	NoHealthCheck      bool
	Backends           []hostPort
}

// kindCDS is kind's cluster for the given endpoints with fast health checks.
func kindCDS(addrs ...string) cdsParams {
	p := cdsParams{Cluster: "kube_apiservers", Timeout: "1s", Interval: "0.02s", Unhealthy: 2, Healthy: 2}
	for _, a := range addrs {
		host, port, _ := net.SplitHostPort(a)
		p.Backends = append(p.Backends, hostPort{host, port})
	}
	return p
}

// listenerParams are one listener of testdata/lds.yaml.tmpl.
type listenerParams struct{ Name, Cluster string }

var templates = template.Must(template.ParseGlob(filepath.Join("testdata", "*.tmpl")))

func render(t *testing.T, name string, data any) string {
	t.Helper()
	var b bytes.Buffer
	assert.NilError(t, templates.ExecuteTemplate(&b, name, data))
	return b.String()
}

// lb is a load balancer under test, following files in a temporary directory.
type lb struct {
	t    *testing.T
	s    *server
	dir  string
	logs *syncBuffer
}

// startLB starts a load balancer on the rendered CDS and LDS files. It polls them
// every 10ms and logs (at debug level) into l.logs, printed if the test fails.
func startLB(t *testing.T, cds cdsParams, listeners ...listenerParams) *lb {
	t.Helper()
	l := &lb{t: t, dir: t.TempDir(), logs: &syncBuffer{}}
	l.writeCDS(cds)
	l.writeLDS(listeners...)
	log := slog.New(slog.NewTextHandler(l.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	l.s = newServer(log, filepath.Join(l.dir, "cds.yaml"), filepath.Join(l.dir, "lds.yaml"), 10*time.Millisecond)
	l.s.start()
	t.Cleanup(func() {
		l.s.close()
		if t.Failed() {
			t.Logf("load balancer log:\n%s", l.logs.String())
		}
	})
	return l
}

func (l *lb) writeCDS(p cdsParams) { l.write("cds.yaml", render(l.t, "cds.yaml.tmpl", p)) }

func (l *lb) writeLDS(listeners ...listenerParams) {
	l.write("lds.yaml", render(l.t, "lds.yaml.tmpl", map[string]any{"Listeners": listeners}))
}

// write replaces a file the way kind does: write name.tmp, then rename it.
func (l *lb) write(name, content string) {
	l.t.Helper()
	path := filepath.Join(l.dir, name)
	assert.NilError(l.t, os.WriteFile(path+".tmp", []byte(content), 0o666))
	assert.NilError(l.t, os.Rename(path+".tmp", path))
}

// listenerAddr returns the bound address of a listener, "" if there is none.
func (l *lb) listenerAddr(name string) string {
	l.s.mu.Lock()
	defer l.s.mu.Unlock()
	if ln, ok := l.s.listeners[name]; ok {
		return ln.ln.Addr().String()
	}
	return ""
}

// endpoint returns the current endpoint of a cluster with the given address.
func (l *lb) endpoint(cluster, addr string) *endpoint {
	if c := l.s.clusterMap()[cluster]; c != nil {
		for _, e := range c.endpoints {
			if e.addr == addr {
				return e
			}
		}
	}
	return nil
}

// waitFor polls cond until it returns "" (success) or the deadline passes.
func (l *lb) waitFor(what string, cond func() string) {
	l.t.Helper()
	poll.WaitOn(l.t, func(poll.LogT) poll.Result {
		if msg := cond(); msg != "" {
			return poll.Continue("%s: %s", what, msg)
		}
		return poll.Success()
	}, poll.WithTimeout(waitTimeout), poll.WithDelay(5*time.Millisecond))
}

// waitStates waits until the cluster's endpoints have exactly the given states.
func (l *lb) waitStates(cluster string, want map[string]healthState) {
	l.t.Helper()
	l.waitFor("endpoint states", func() string {
		got := map[string]healthState{}
		if c := l.s.clusterMap()[cluster]; c != nil {
			for _, e := range c.endpoints {
				got[e.addr] = e.health()
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			return fmt.Sprintf("got %v, want %v", got, want)
		}
		return ""
	})
}

// waitLog waits until the log holds a line containing every one of parts.
func (l *lb) waitLog(parts ...string) {
	l.t.Helper()
	l.waitFor("log line", func() string {
		for _, line := range strings.Split(l.logs.String(), "\n") {
			if containsAll(line, parts) {
				return ""
			}
		}
		return fmt.Sprintf("no line with %q", parts)
	})
}

func containsAll(s string, parts []string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}

// insecureTLS trusts the httptest certificates, which are not for the listener's
// address anyway: TLS runs end to end, through the proxy.
var insecureTLS = &tls.Config{InsecureSkipVerify: true}

// fetch does one HTTPS GET over a new connection through addr and returns the name
// of the backend that answered.
func fetch(t *testing.T, addr string) string {
	t.Helper()
	body, err := tryFetch(addr)
	assert.NilError(t, err)
	return body
}

func tryFetch(addr string) (string, error) {
	client := &http.Client{
		Transport: &http.Transport{TLSClientConfig: insecureTLS, DisableKeepAlives: true},
		Timeout:   waitTimeout,
	}
	resp, err := client.Get("https://" + addr + "/")
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return string(body), err
}

// fetchN fetches n times and returns the answers in order.
func fetchN(t *testing.T, addr string, n int) []string {
	t.Helper()
	var got []string
	for range n {
		got = append(got, fetch(t, addr))
	}
	return got
}

func count(names []string, name string) int {
	n := 0
	for _, s := range names {
		if s == name {
			n++
		}
	}
	return n
}

// persistentConn is one TLS connection through the load balancer carrying several
// HTTP requests, to check that a connection outlives reloads.
type persistentConn struct {
	conn *tls.Conn
	r    *bufio.Reader
}

func dialPersistent(t *testing.T, addr string) *persistentConn {
	t.Helper()
	conn, err := tls.Dial("tcp", addr, insecureTLS)
	assert.NilError(t, err)
	t.Cleanup(func() { conn.Close() })
	return &persistentConn{conn: conn, r: bufio.NewReader(conn)}
}

// get sends a GET / on the connection and returns the answer.
func (p *persistentConn) get(t *testing.T) string {
	t.Helper()
	assert.NilError(t, p.conn.SetDeadline(time.Now().Add(waitTimeout)))
	req, err := http.NewRequest(http.MethodGet, "https://backend/", nil)
	assert.NilError(t, err)
	assert.NilError(t, req.Write(p.conn))
	resp, err := http.ReadResponse(p.r, req)
	assert.NilError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	assert.NilError(t, err)
	return string(body)
}

// syncBuffer is a bytes.Buffer safe for concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// closedPort returns an address on which nothing listens (connections are refused).
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	assert.NilError(t, err)
	addr := ln.Addr().String()
	assert.NilError(t, ln.Close())
	return addr
}
