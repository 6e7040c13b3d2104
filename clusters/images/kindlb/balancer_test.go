package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

const cl = "kube_apiservers"

var apiserver = listenerParams{Name: "listener_apiserver", Cluster: cl}

func TestRoundRobinAcrossHealthyEndpoints(t *testing.T) {
	t.Parallel()
	a, b := newBackend(t, "a"), newBackend(t, "b")
	l := startLB(t, kindCDS(a.addr(), b.addr()), apiserver)
	l.waitStates(cl, map[string]healthState{a.addr(): stateHealthy, b.addr(): stateHealthy})

	got := fetchN(t, l.listenerAddr(apiserver.Name), 6)
	for i := 1; i < len(got); i++ {
		assert.Assert(t, got[i] != got[i-1], "not round robin: %v", got)
	}
	assert.Check(t, is.Equal(count(got, "a"), 3), "%v", got)
	l.waitLog(`msg="health check transition"`, "endpoint="+a.addr(), "from=unknown", "to=healthy", "200 OK")
}

func TestHealthCheckThresholds(t *testing.T) {
	t.Parallel()
	a, b := newBackend(t, "a"), newBackend(t, "b")
	l := startLB(t, kindCDS(a.addr(), b.addr()), apiserver) // unhealthy and healthy thresholds: 2
	addr := l.listenerAddr(apiserver.Name)
	l.waitStates(cl, map[string]healthState{a.addr(): stateHealthy, b.addr(): stateHealthy})

	b.status.Store(http.StatusInternalServerError)
	l.waitStates(cl, map[string]healthState{a.addr(): stateHealthy, b.addr(): stateUnhealthy})
	l.waitLog("endpoint="+b.addr(), "from=healthy", "to=unhealthy", "500 Internal Server Error")
	assert.DeepEqual(t, fetchN(t, addr, 4), []string{"a", "a", "a", "a"})

	b.status.Store(http.StatusNoContent) // any 2xx passes
	l.waitStates(cl, map[string]healthState{a.addr(): stateHealthy, b.addr(): stateHealthy})
	l.waitLog("endpoint="+b.addr(), "from=unhealthy", "to=healthy", "204 No Content")
	got := fetchN(t, addr, 4)
	assert.Check(t, is.Equal(count(got, "b"), 2), "%v", got)
}

func TestPanicModeUsesAllEndpoints(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		break_ func(*backend)
		want   healthState
	}{
		{"all failing", func(b *backend) { b.status.Store(http.StatusServiceUnavailable) }, stateUnhealthy},
		{"no check finished yet", func(b *backend) { b.hang.Store(true) }, stateUnknown},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			a, b := newBackend(t, "a"), newBackend(t, "b")
			tc.break_(a)
			tc.break_(b)
			cds := kindCDS(a.addr(), b.addr())
			cds.Timeout = "10s" // hung checks stay unknown for the whole test
			l := startLB(t, cds, apiserver)
			l.waitStates(cl, map[string]healthState{a.addr(): tc.want, b.addr(): tc.want})

			got := fetchN(t, l.listenerAddr(apiserver.Name), 4)
			assert.Check(t, is.Equal(count(got, "a"), 2), "%v", got)
			assert.Check(t, is.Equal(count(got, "b"), 2), "%v", got)
		})
	}
}

func TestCDSReloadRemovesEndpoint(t *testing.T) {
	t.Parallel()
	a, b := newBackend(t, "a"), newBackend(t, "b")
	l := startLB(t, kindCDS(a.addr(), b.addr()), apiserver)
	addr := l.listenerAddr(apiserver.Name)
	l.waitStates(cl, map[string]healthState{a.addr(): stateHealthy, b.addr(): stateHealthy})
	conn := dialPersistent(t, addr)
	first := conn.get(t)
	epA, epB := l.endpoint(cl, a.addr()), l.endpoint(cl, b.addr())

	l.writeCDS(kindCDS(a.addr()))
	l.waitStates(cl, map[string]healthState{a.addr(): stateHealthy})
	select {
	case <-epB.done: // the removed endpoint is no longer checked
	case <-time.After(waitTimeout):
		t.Fatal("the removed endpoint's health checker is still running")
	}
	assert.Check(t, l.endpoint(cl, a.addr()) == epA, "the unchanged endpoint was recreated")
	assert.Check(t, is.Equal(epA.health(), stateHealthy))
	assert.DeepEqual(t, fetchN(t, addr, 3), []string{"a", "a", "a"})
	assert.Check(t, is.Equal(conn.get(t), first), "the connection opened before the reload")
}

func TestMalformedUpdateKeepsPreviousConfig(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, file, content, logged string
	}{
		{"cds syntax", "cds.yaml", "resources: [\n", "rejected CDS update"},
		{"cds endpoint port 0", "cds.yaml", "", "port_value: want a TCP port, got 0"},
		{"cds lb policy", "cds.yaml", "resources:\n- {\"@type\": " + clusterType + ", name: x, lb_policy: RANDOM}\n", "resources[0].lb_policy: only ROUND_ROBIN"},
		{"lds filter", "lds.yaml", "resources:\n- {\"@type\": " + listenerType + ", name: l, address: {socket_address: {address: 127.0.0.1}}, filter_chains: [{filters: [{name: envoy.filters.network.echo}]}]}\n", "rejected LDS update"},
		{"lds not yaml", "lds.yaml", "\x00\x01", "rejected LDS update"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			a, b := newBackend(t, "a"), newBackend(t, "b")
			l := startLB(t, kindCDS(a.addr(), b.addr()), apiserver)
			addr := l.listenerAddr(apiserver.Name)
			l.waitStates(cl, map[string]healthState{a.addr(): stateHealthy, b.addr(): stateHealthy})
			before := l.s.clusterMap()[cl]

			content := tc.content
			if content == "" { // a valid file but for one port
				_, port, _ := net.SplitHostPort(a.addr())
				content = strings.Replace(render(t, "cds.yaml.tmpl", kindCDS(a.addr(), b.addr())), "port_value: "+port, "port_value: 0", 1)
			}
			l.write(tc.file, content)
			l.waitLog("level=ERROR", tc.file, tc.logged)

			assert.Check(t, l.s.clusterMap()[cl] == before, "the clusters changed")
			assert.Check(t, is.Equal(l.listenerAddr(apiserver.Name), addr))
			got := fetchN(t, addr, 2)
			assert.Check(t, is.Equal(count(got, "a"), 1), "%v", got)
		})
	}
}

func TestLDSReload(t *testing.T) {
	t.Parallel()
	a := newBackend(t, "a")
	l := startLB(t, kindCDS(a.addr()), apiserver)
	main := l.listenerAddr(apiserver.Name)
	assert.Assert(t, main != "")
	conn := dialPersistent(t, main)
	assert.Equal(t, conn.get(t), "a")

	extra := listenerParams{Name: "extra", Cluster: cl}
	l.writeLDS(apiserver, extra)
	l.waitFor("extra listener", func() string {
		if l.listenerAddr("extra") == "" {
			return "not bound"
		}
		return ""
	})
	assert.Check(t, is.Equal(l.listenerAddr(apiserver.Name), main), "the unchanged listener was rebound")
	assert.Check(t, is.Equal(fetch(t, main), "a"))
	assert.Check(t, is.Equal(fetch(t, l.listenerAddr("extra")), "a"))

	l.writeLDS(extra)
	l.waitFor("listener closed", func() string {
		if c, err := net.Dial("tcp", main); err == nil {
			c.Close()
			return "still accepting"
		}
		return ""
	})
	assert.Check(t, is.Equal(conn.get(t), "a"), "the connection accepted by the removed listener")

	l.writeLDS(listenerParams{Name: "extra", Cluster: "nonexistent"}) // retargeted, not rebound
	l.waitLog("listener retargeted", "to=nonexistent")
	_, err := tryFetch(l.listenerAddr("extra"))
	assert.Check(t, err != nil, "a listener of an unknown cluster closes connections")
}

func TestConnectFailover(t *testing.T) {
	t.Parallel()
	a := newBackend(t, "a")
	dead := closedPort(t)
	cds := kindCDS(dead, a.addr())
	cds.NoHealthCheck = true // unchecked endpoints are all healthy: the dead one gets picked
	l := startLB(t, cds, apiserver)

	assert.DeepEqual(t, fetchN(t, l.listenerAddr(apiserver.Name), 4), []string{"a", "a", "a", "a"})
	assert.Check(t, is.Equal(l.endpoint(cl, dead).cxConnectFail.Load(), int64(2)), "round robin picked the dead endpoint first twice")
	assert.Check(t, is.Equal(l.endpoint(cl, a.addr()).cxTotal.Load(), int64(4)))

	l.writeCDS(kindCDS(dead))
	l.waitStates(cl, map[string]healthState{dead: stateUnhealthy})
	_, err := tryFetch(l.listenerAddr(apiserver.Name))
	assert.Check(t, err != nil, "no endpoint reachable: the client connection is closed")
}

func TestHalfClose(t *testing.T) {
	t.Parallel()
	// The backend reads until the client's FIN and only then answers: the answer
	// arrives only if the proxy passes the half-close on and keeps the other
	// direction open.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	assert.NilError(t, err)
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				n, _ := io.Copy(io.Discard, c)
				fmt.Fprintf(c, "read %d bytes", n)
			}()
		}
	}()
	cds := kindCDS(ln.Addr().String())
	cds.NoHealthCheck = true
	l := startLB(t, cds, apiserver)

	c, err := net.Dial("tcp", l.listenerAddr(apiserver.Name))
	assert.NilError(t, err)
	defer c.Close()
	assert.NilError(t, c.SetDeadline(time.Now().Add(waitTimeout)))
	_, err = c.Write(make([]byte, 100000))
	assert.NilError(t, err)
	assert.NilError(t, c.(*net.TCPConn).CloseWrite())
	answer, err := io.ReadAll(c)
	assert.NilError(t, err)
	assert.Equal(t, string(answer), "read 100000 bytes")
}

func TestEndpointByName(t *testing.T) {
	t.Parallel()
	// kind names endpoints by container name; "localhost" is the name every test
	// machine resolves. It is resolved by each health check and each dial.
	a := newBackend(t, "a")
	_, port, _ := net.SplitHostPort(a.addr())
	byName := net.JoinHostPort("localhost", port)
	l := startLB(t, kindCDS(byName), apiserver)
	l.waitStates(cl, map[string]healthState{byName: stateHealthy})
	assert.Equal(t, fetch(t, l.listenerAddr(apiserver.Name)), "a")
}
