package probe

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"time"
)

// maxBodyBytes is how much of a response body an HTTP attempt reads before it stops.
const maxBodyBytes = 1 << 20

// HTTPConfig configures an HTTP probe.
type HTTPConfig struct {
	Name     string        // probe name, carried by every Sample
	URL      string        // http:// or https:// URL to GET
	Interval time.Duration // time between attempt starts; 0 means DefaultInterval
	Timeout  time.Duration // limit for one attempt, connect to last body byte; 0 means DefaultTimeout
}

// HTTP is a probe that GETs a URL. An attempt is OK when the response status is 2xx and the
// body arrives within the timeout; redirects are not followed (a 3xx fails). Every attempt
// opens a new connection (keep-alives off, no proxy), so a dead endpoint behind a Service
// shows up exactly as it does for new clients instead of hiding behind a pooled connection.
//
// PATH: the URL decides what the probe depends on, so pick it to avoid the fault under test.
//   - from the harness, via a NodePort (http://NODE_IP:30080/): harness host → the kind
//     docker network → that node's kube-proxy rules → a ready pod on any node; it does not
//     use the API server or DNS, but depends on the chosen node being up, so point it at a
//     node that is not under fault.
//   - in-cluster, from the agent, via a ClusterIP (http://10.96.x.y/): agent pod on a node
//     not under fault → kube-proxy rules on that node → Service ClusterIP → a ready pod; it
//     does not use DNS or the API server (kube-proxy keeps its last rules while the API
//     server is down).
//
// A URL with a host name adds name resolution to the path: use IP addresses unless DNS is
// meant to be part of what is measured.
type HTTP struct {
	cfg    HTTPConfig
	client *http.Client
}

// NewHTTP validates cfg and returns the probe.
func NewHTTP(cfg HTTPConfig) (*HTTP, error) {
	var errs []error
	if cfg.Name == "" {
		errs = append(errs, errors.New("name is required"))
	}
	if err := validateHTTPURL(cfg.URL); err != nil {
		errs = append(errs, err)
	}
	if err := validateTiming(cfg.Interval, cfg.Timeout); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("http probe %q: %w", cfg.Name, err)
	}
	cfg.Interval, cfg.Timeout = withDefaults(cfg.Interval, cfg.Timeout)
	transport := &http.Transport{
		Proxy:               nil, // a proxy would be a hop the scenario did not ask for
		DialContext:         (&net.Dialer{Timeout: cfg.Timeout, KeepAlive: -1}).DialContext,
		DisableKeepAlives:   true,
		TLSHandshakeTimeout: cfg.Timeout,
	}
	client := &http.Client{
		Transport:     transport,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return &HTTP{cfg: cfg, client: client}, nil
}

// Name returns the probe's name.
func (p *HTTP) Name() string { return p.cfg.Name }

// Config returns the probe's configuration with defaults applied.
func (p *HTTP) Config() HTTPConfig { return p.cfg }

// Run makes one GET every interval until ctx ends; see Probe.
func (p *HTTP) Run(ctx context.Context, emit func(Sample)) error {
	return runSchedule(ctx, p.cfg.Name, p.cfg.Interval, p.cfg.Timeout, p.attempt, emit)
}

func (p *HTTP) attempt(ctx context.Context) error {
	connected := false
	trace := &httptrace.ClientTrace{GotConn: func(httptrace.GotConnInfo) { connected = true }}
	req, err := http.NewRequestWithContext(httptrace.WithClientTrace(ctx, trace), http.MethodGet, p.cfg.URL, nil)
	if err != nil {
		return fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("User-Agent", "gameday-probe")
	resp, err := p.client.Do(req)
	if err != nil {
		return p.describe(ctx, err, connected, "waiting for response headers")
	}
	defer resp.Body.Close()
	_, readErr := io.Copy(io.Discard, io.LimitReader(resp.Body, maxBodyBytes))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("HTTP %s", resp.Status)
	}
	if readErr != nil {
		return p.describe(ctx, readErr, true, "reading the response body")
	}
	return nil
}

// describe turns a client error into a short error text: the URL is left out (it is the
// same for every sample) and a timeout says which step ran out of time.
func (p *HTTP) describe(ctx context.Context, err error, connected bool, afterConnect string) error {
	var urlErr *url.Error
	if errors.As(err, &urlErr) {
		err = urlErr.Err
	}
	var netErr net.Error
	if ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &netErr) && netErr.Timeout()) {
		if connected {
			return timeoutError(p.cfg.Timeout, afterConnect)
		}
		return timeoutError(p.cfg.Timeout, "connecting")
	}
	return err
}

// validateHTTPURL checks that raw is an absolute http or https URL with a host.
func validateHTTPURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("url: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("url %q: scheme must be http or https", raw)
	}
	if u.Host == "" {
		return fmt.Errorf("url %q: host is required", raw)
	}
	return nil
}

// Timing returns the interval and timeout the probe runs at, defaults applied.
func (p *HTTP) Timing() Timing { return Timing{Interval: p.cfg.Interval, Timeout: p.cfg.Timeout} }
