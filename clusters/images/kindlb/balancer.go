package main

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// endpoint is one upstream host:port of a cluster. A reload that keeps its address,
// network and health check keeps the endpoint, so its state and counters carry over.
type endpoint struct {
	addr    string
	network string
	check   *HealthSpec // nil: not checked, always healthy

	state                            atomic.Int32 // a healthState
	cxActive, cxTotal, cxConnectFail atomic.Int64

	stop func()        // stops the health checker
	done chan struct{} // closed once the health checker has returned
}

// health returns the endpoint's current health state.
func (e *endpoint) health() healthState { return healthState(e.state.Load()) }

// cluster is a cluster as applied: immutable apart from its round robin cursor and
// its endpoints' state and counters.
type cluster struct {
	spec      ClusterSpec
	endpoints []*endpoint
	next      atomic.Uint64
}

// candidates returns the endpoints to try for one connection, in order: the healthy
// ones starting at the round robin cursor. When none is healthy (before the first
// check passed, or all failing) every endpoint is a candidate, like envoy's panic
// mode. (Envoy enters panic mode below 50% healthy; kind's clusters are better
// served by sticking to the healthy control planes while there is one.)
func (c *cluster) candidates() []*endpoint {
	var healthy []*endpoint
	for _, e := range c.endpoints {
		if e.health() == stateHealthy {
			healthy = append(healthy, e)
		}
	}
	if len(healthy) == 0 {
		healthy = c.endpoints
	}
	if len(healthy) == 0 {
		return nil
	}
	start := int((c.next.Add(1) - 1) % uint64(len(healthy)))
	return append(append([]*endpoint(nil), healthy[start:]...), healthy[:start]...)
}

// listener is one bound LDS listener. Its cluster can change without a rebind.
type listener struct {
	spec    ListenerSpec
	ln      net.Listener
	cluster atomic.Pointer[string]
}

// applyClusters replaces the clusters, keeping endpoints (and their health checkers)
// that are unchanged and stopping the checkers of the others.
func (s *server) applyClusters(specs []ClusterSpec) {
	reusable := map[[2]string][]*endpoint{} // by cluster name and address
	for name, c := range s.clusterMap() {
		for _, e := range c.endpoints {
			k := [2]string{name, e.addr}
			reusable[k] = append(reusable[k], e)
		}
	}
	next := make(map[string]*cluster, len(specs))
	for _, spec := range specs {
		c := &cluster{spec: spec}
		for _, addr := range spec.Endpoints {
			k := [2]string{spec.Name, addr}
			if old := reusable[k]; len(old) > 0 && old[0].network == spec.Network && sameHealth(old[0].check, spec.Health) {
				c.endpoints = append(c.endpoints, old[0])
				reusable[k] = old[1:]
				continue
			}
			c.endpoints = append(c.endpoints, s.newEndpoint(spec, addr))
		}
		next[spec.Name] = c
		s.log.Info("cluster applied", "cluster", spec.Name, "endpoints", spec.Endpoints, "health_checked", spec.Health != nil)
	}
	s.clusters.Store(&next)
	for k, old := range reusable {
		for _, e := range old {
			e.stop()
			s.log.Info("endpoint removed", "cluster", k[0], "endpoint", e.addr)
		}
	}
}

// sameHealth reports whether two health checks (nil: none) are the same.
func sameHealth(a, b *HealthSpec) bool {
	return a == nil && b == nil || a != nil && b != nil && *a == *b
}

// newEndpoint creates an endpoint of spec and starts its health checker.
func (s *server) newEndpoint(spec ClusterSpec, addr string) *endpoint {
	e := &endpoint{addr: addr, network: spec.Network, check: spec.Health, done: make(chan struct{}), stop: func() {}}
	if spec.Health == nil {
		e.state.Store(int32(stateHealthy))
		close(e.done)
		return e
	}
	ctx, cancel := context.WithCancel(s.ctx)
	e.stop = cancel
	go s.healthCheck(ctx, spec.Name, e)
	return e
}

// applyListeners binds new listeners, closes removed ones and keeps unchanged ones
// open. Connections already accepted are never touched.
func (s *server) applyListeners(specs []ListenerSpec) {
	want := make(map[string]ListenerSpec, len(specs))
	for _, spec := range specs {
		want[spec.Name] = spec
	}
	// Close first, so that an address moving between listeners can be bound again.
	for name, l := range s.listeners {
		if w, ok := want[name]; !ok || w.Addr != l.spec.Addr {
			l.ln.Close()
			delete(s.listeners, name)
			s.log.Info("listener closed", "listener", name, "address", l.ln.Addr().String())
		}
	}
	for _, spec := range specs {
		if l, ok := s.listeners[spec.Name]; ok {
			if old := *l.cluster.Swap(&spec.Cluster); old != spec.Cluster {
				s.log.Info("listener retargeted", "listener", spec.Name, "from", old, "to", spec.Cluster)
			}
			continue
		}
		ln, err := net.Listen("tcp", spec.Addr)
		if err != nil {
			s.log.Error("cannot bind listener", "listener", spec.Name, "address", spec.Addr, "error", err)
			continue
		}
		l := &listener{spec: spec, ln: ln}
		l.cluster.Store(&spec.Cluster)
		s.listeners[spec.Name] = l
		s.accepting.Add(1)
		go s.serve(l)
		s.log.Info("listener added", "listener", spec.Name, "address", ln.Addr().String(), "cluster", spec.Cluster)
	}
}

// serve accepts connections until the listener is closed.
func (s *server) serve(l *listener) {
	defer s.accepting.Done()
	var delay time.Duration
	for {
		conn, err := l.ln.Accept()
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err != nil { // e.g. out of file descriptors: back off as net/http does
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			s.log.Warn("accept failed", "listener", l.spec.Name, "error", err, "retry_in", delay)
			time.Sleep(delay)
			continue
		}
		delay = 0
		go s.handle(l, conn)
	}
}

// handle proxies one client connection to an endpoint of the listener's cluster.
func (s *server) handle(l *listener, client net.Conn) {
	name := *l.cluster.Load()
	c := s.clusterMap()[name]
	if c == nil {
		s.log.Warn("unknown cluster, closing connection", "listener", l.spec.Name, "cluster", name, "client", client.RemoteAddr().String())
		client.Close()
		return
	}
	up, e := s.connect(c)
	if up == nil {
		s.log.Warn("no endpoint reachable, closing connection", "cluster", name, "client", client.RemoteAddr().String())
		client.Close()
		return
	}
	e.cxTotal.Add(1)
	e.cxActive.Add(1)
	defer e.cxActive.Add(-1)
	s.log.Debug("proxying", "listener", l.spec.Name, "client", client.RemoteAddr().String(), "endpoint", e.addr)
	pipe(client, up)
}

// connect dials the cluster's candidates in turn, once each, with its connect
// timeout. Host names are resolved here, at dial time.
func (s *server) connect(c *cluster) (net.Conn, *endpoint) {
	for _, e := range c.candidates() {
		d := net.Dialer{Timeout: c.spec.ConnectTimeout}
		conn, err := d.Dial(c.spec.Network, e.addr)
		if err == nil {
			return conn, e
		}
		e.cxConnectFail.Add(1)
		s.log.Warn("upstream connect failed", "cluster", c.spec.Name, "endpoint", e.addr, "error", err)
	}
	return nil, nil
}

// pipe copies bytes both ways until both directions are done. A clean end of one
// direction is passed on as a half-close (FIN); an error aborts both directions.
func pipe(a, b net.Conn) {
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); copyHalf(b, a) }()
	go func() { defer wg.Done(); copyHalf(a, b) }()
	wg.Wait()
	a.Close()
	b.Close()
}

// copyHalf copies src to dst, then half-closes dst; on error it closes both.
func copyHalf(dst, src net.Conn) {
	if _, err := io.Copy(dst, src); err != nil {
		dst.Close()
		src.Close()
		return
	}
	if cw, ok := dst.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite()
	} else {
		dst.Close()
	}
}
