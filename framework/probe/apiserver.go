package probe

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"k8s.io/client-go/rest"
)

// APIServerConfig configures an API server probe.
type APIServerConfig struct {
	Name     string        // probe name, carried by every Sample
	Config   *rest.Config  // where the API server is and how to authenticate; not modified
	Path     string        // path to GET; "" means "/readyz"
	Interval time.Duration // time between attempt starts; 0 means DefaultInterval
	Timeout  time.Duration // limit for one request; 0 means DefaultTimeout
}

// APIServer is a probe that GETs the API server's /readyz (or Path) and is OK on 200. It has
// its own transport, opens a new connection per attempt and has no client-side rate
// limiting, so it never queues behind the harness's other requests and measures what a new
// client sees. A failing /readyz's failed checks ("[-]etcd failed") are in the error text.
//
// PATH: harness → the kubeconfig's server address (on kind: a host port published by the
// control-plane container) → kube-apiserver, whose /readyz includes etcd and its informers.
// It does not use DNS inside the cluster, kube-proxy, or any worker node.
type APIServer struct {
	cfg    APIServerConfig
	url    string
	client *http.Client
}

// NewAPIServer validates cfg and returns the probe.
func NewAPIServer(cfg APIServerConfig) (*APIServer, error) {
	var errs []error
	if cfg.Name == "" {
		errs = append(errs, errors.New("name is required"))
	}
	if cfg.Config == nil {
		errs = append(errs, errors.New("rest config is required"))
	}
	if err := validateTiming(cfg.Interval, cfg.Timeout); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("api server probe %q: %w", cfg.Name, err)
	}
	cfg.Interval, cfg.Timeout = withDefaults(cfg.Interval, cfg.Timeout)
	if cfg.Path == "" {
		cfg.Path = "/readyz"
	}
	client, base, err := newAPIHTTPClient(cfg.Config, cfg.Timeout)
	if err != nil {
		return nil, fmt.Errorf("api server probe %q: %w", cfg.Name, err)
	}
	base.Path = path.Join("/", base.Path, cfg.Path)
	return &APIServer{cfg: cfg, url: base.String(), client: client}, nil
}

// newAPIHTTPClient builds an HTTP client for the API server in restConfig with a transport of
// its own (never shared through client-go's transport cache) that opens a new connection for
// every request, and returns the server's base URL.
func newAPIHTTPClient(restConfig *rest.Config, timeout time.Duration) (*http.Client, *url.URL, error) {
	cfg := rest.CopyConfig(restConfig)
	base, _, err := rest.DefaultServerUrlFor(cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("server address: %w", err)
	}
	tlsConfig, err := rest.TLSConfigFor(cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("tls config: %w", err)
	}
	proxy := cfg.Proxy
	if proxy == nil {
		proxy = http.ProxyFromEnvironment
	}
	transport := &http.Transport{
		Proxy:               proxy,
		TLSClientConfig:     tlsConfig,
		DialContext:         (&net.Dialer{Timeout: timeout, KeepAlive: -1}).DialContext,
		DisableKeepAlives:   true,
		TLSHandshakeTimeout: timeout,
	}
	rt, err := rest.HTTPWrappersForConfig(cfg, transport)
	if err != nil {
		return nil, nil, fmt.Errorf("authentication: %w", err)
	}
	return &http.Client{Transport: rt}, base, nil
}

// Name returns the probe's name.
func (p *APIServer) Name() string { return p.cfg.Name }

// URL returns the address the probe GETs.
func (p *APIServer) URL() string { return p.url }

// Run makes one GET every interval until ctx ends; see Probe.
func (p *APIServer) Run(ctx context.Context, emit func(Sample)) error {
	return runSchedule(ctx, p.cfg.Name, p.cfg.Interval, p.cfg.Timeout, p.attempt, emit)
}

func (p *APIServer) attempt(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.url, nil)
	if err != nil {
		return fmt.Errorf("build request: %w", err)
	}
	resp, err := p.client.Do(req)
	if err != nil {
		var urlErr *url.Error
		if errors.As(err, &urlErr) {
			err = urlErr.Err
		}
		var netErr net.Error
		if ctx.Err() != nil || (errors.As(err, &netErr) && netErr.Timeout()) {
			return timeoutError(p.cfg.Timeout, "waiting for the API server")
		}
		return err
	}
	defer resp.Body.Close()
	body, readErr := io.ReadAll(io.LimitReader(resp.Body, maxBodyBytes))
	if resp.StatusCode != http.StatusOK {
		if failed := failedChecks(body); failed != "" {
			return fmt.Errorf("HTTP %s: %s", resp.Status, failed)
		}
		return fmt.Errorf("HTTP %s", resp.Status)
	}
	if readErr != nil {
		if ctx.Err() != nil {
			return timeoutError(p.cfg.Timeout, "reading the response body")
		}
		return fmt.Errorf("read response: %w", readErr)
	}
	return nil
}

// failedChecks extracts the failing checks ("[-]etcd failed: reason withheld") from a
// verbose health endpoint's body, or a short prefix of any other body.
func failedChecks(body []byte) string {
	var failed []string
	sc := bufio.NewScanner(strings.NewReader(string(body)))
	for sc.Scan() {
		if line := strings.TrimSpace(sc.Text()); strings.HasPrefix(line, "[-]") {
			failed = append(failed, line)
		}
	}
	text := strings.Join(failed, "; ")
	if text == "" {
		text = strings.TrimSpace(string(body))
	}
	const limit = 200
	if len(text) > limit {
		text = text[:limit] + "..."
	}
	return text
}

// Timing returns the interval and timeout the probe runs at, defaults applied.
func (p *APIServer) Timing() Timing { return Timing{Interval: p.cfg.Interval, Timeout: p.cfg.Timeout} }
