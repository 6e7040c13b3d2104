package main

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"time"
)

// healthState is an endpoint's active health check state.
type healthState int32

// The health states. An endpoint starts unknown, which counts as not healthy.
const (
	stateUnknown healthState = iota
	stateHealthy
	stateUnhealthy
)

func (h healthState) String() string {
	switch h {
	case stateHealthy:
		return "healthy"
	case stateUnhealthy:
		return "unhealthy"
	}
	return "unknown"
}

// tracker applies the thresholds to a series of check results: unhealthy after
// unhealthyThreshold consecutive failures, healthy after healthyThreshold
// consecutive successes.
type tracker struct {
	state                                healthState
	successes, failures                  int
	healthyThreshold, unhealthyThreshold int
}

// observe records one result and reports whether the state changed.
func (t *tracker) observe(ok bool) bool {
	if ok {
		t.failures = 0
		t.successes++
		if t.state != stateHealthy && t.successes >= t.healthyThreshold {
			t.state = stateHealthy
			return true
		}
		return false
	}
	t.successes = 0
	t.failures++
	if t.state != stateUnhealthy && t.failures >= t.unhealthyThreshold {
		t.state = stateUnhealthy
		return true
	}
	return false
}

// healthCheck checks e right away and then every interval after the previous check
// ended, until ctx is done. Every state change is logged with its reason.
func (s *server) healthCheck(ctx context.Context, clusterName string, e *endpoint) {
	defer close(e.done)
	hc := e.check
	client := healthClient(e.network, hc)
	defer client.CloseIdleConnections()
	scheme := "http://"
	if hc.TLS {
		scheme = "https://"
	}
	url := scheme + e.addr + hc.Path
	t := tracker{healthyThreshold: hc.HealthyThreshold, unhealthyThreshold: hc.UnhealthyThreshold}
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		ok, reason := probe(ctx, client, url, hc)
		if ctx.Err() != nil {
			return // stopped mid-check: the result says nothing about the endpoint
		}
		from := t.state
		if t.observe(ok) {
			e.state.Store(int32(t.state))
			s.log.Info("health check transition", "cluster", clusterName, "endpoint", e.addr,
				"from", from.String(), "to", t.state.String(), "reason", reason)
		}
		timer.Reset(hc.Interval)
	}
}

// healthClient returns a client for one endpoint's checks. Each check dials afresh,
// so a DNS name is resolved for every check; TLS verifies nothing (kind's
// ACCEPT_UNTRUSTED); proxy environment variables are ignored, as envoy does.
func healthClient(network string, hc *HealthSpec) *http.Client {
	var d net.Dialer
	return &http.Client{
		Transport: &http.Transport{
			DialContext: func(ctx context.Context, _, addr string) (net.Conn, error) {
				return d.DialContext(ctx, network, addr)
			},
			DisableKeepAlives: true,
			TLSClientConfig:   &tls.Config{InsecureSkipVerify: true, ServerName: hc.ServerName}, // kind: ACCEPT_UNTRUSTED
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// probe runs one check: a GET whose 2xx answer within the timeout is a success.
func probe(ctx context.Context, client *http.Client, url string, hc *HealthSpec) (ok bool, reason string) {
	ctx, cancel := context.WithTimeout(ctx, hc.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return false, err.Error()
	}
	req.Host = hc.Host
	req.Header.Set("User-Agent", "Envoy/HC")
	resp, err := client.Do(req)
	if err != nil {
		return false, err.Error()
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	return resp.StatusCode >= 200 && resp.StatusCode <= 299, "GET " + url + ": " + resp.Status
}
