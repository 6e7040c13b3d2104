package probe

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/miekg/dns"
)

// DNSConfig configures a DNS probe.
type DNSConfig struct {
	Name     string        // probe name, carried by every Sample
	Host     string        // name to resolve; made fully qualified (no search path is applied)
	Server   string        // DNS server to ask, host:port, e.g. the cluster DNS Service "10.96.0.10:53"
	Interval time.Duration // time between attempt starts; 0 means DefaultInterval
	Timeout  time.Duration // limit for one query; 0 means DefaultTimeout
}

// DNS is a probe that sends one A query over UDP straight to a DNS server. An attempt is OK
// when the answer is NOERROR with at least one A record; otherwise the error is the rcode
// ("SERVFAIL", "NXDOMAIN", ...), "NOERROR with no A record", or a timeout.
//
// PATH: agent pod on a node not under fault → kube-proxy rules on that node → the DNS Service
// ClusterIP (Server) → a CoreDNS pod → CoreDNS's answer from its kubernetes plugin cache (or
// its upstream, for names outside the cluster). It does not use the pod's resolv.conf, the
// node's resolver or the API server (CoreDNS serves from its cache while the API server is
// down). Host names must be fully qualified, e.g. "workload.gameday-workload.svc.cluster.local".
type DNS struct {
	cfg    DNSConfig
	client *dns.Client
}

// NewDNS validates cfg and returns the probe.
func NewDNS(cfg DNSConfig) (*DNS, error) {
	var errs []error
	if cfg.Name == "" {
		errs = append(errs, errors.New("name is required"))
	}
	if cfg.Host == "" {
		errs = append(errs, errors.New("host is required"))
	} else if _, ok := dns.IsDomainName(cfg.Host); !ok {
		errs = append(errs, fmt.Errorf("host %q is not a domain name", cfg.Host))
	}
	if _, _, err := net.SplitHostPort(cfg.Server); err != nil {
		errs = append(errs, fmt.Errorf("server %q must be host:port: %w", cfg.Server, err))
	}
	if err := validateTiming(cfg.Interval, cfg.Timeout); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("dns probe %q: %w", cfg.Name, err)
	}
	cfg.Interval, cfg.Timeout = withDefaults(cfg.Interval, cfg.Timeout)
	cfg.Host = dns.Fqdn(cfg.Host)
	return &DNS{cfg: cfg, client: &dns.Client{Net: "udp", Timeout: cfg.Timeout}}, nil
}

// Name returns the probe's name.
func (p *DNS) Name() string { return p.cfg.Name }

// Config returns the probe's configuration with defaults applied.
func (p *DNS) Config() DNSConfig { return p.cfg }

// Run sends one query every interval until ctx ends; see Probe.
func (p *DNS) Run(ctx context.Context, emit func(Sample)) error {
	return runSchedule(ctx, p.cfg.Name, p.cfg.Interval, p.cfg.Timeout, p.attempt, emit)
}

func (p *DNS) attempt(ctx context.Context) error {
	query := new(dns.Msg)
	query.SetQuestion(p.cfg.Host, dns.TypeA)
	query.RecursionDesired = true
	resp, _, err := p.client.ExchangeContext(ctx, query, p.cfg.Server)
	if err != nil {
		var netErr net.Error
		if ctx.Err() != nil || (errors.As(err, &netErr) && netErr.Timeout()) {
			return timeoutError(p.cfg.Timeout, "waiting for "+p.cfg.Server)
		}
		return fmt.Errorf("query %s: %w", p.cfg.Server, err)
	}
	if resp.Rcode != dns.RcodeSuccess {
		return errors.New(rcodeName(resp.Rcode))
	}
	for _, rr := range resp.Answer {
		if _, ok := rr.(*dns.A); ok {
			return nil
		}
	}
	return errors.New("NOERROR with no A record")
}

// rcodeName returns the mnemonic of a DNS response code, such as "SERVFAIL".
func rcodeName(rcode int) string {
	if name, ok := dns.RcodeToString[rcode]; ok {
		return name
	}
	return fmt.Sprintf("RCODE%d", rcode)
}

// Timing returns the interval and timeout the probe runs at, defaults applied.
func (p *DNS) Timing() Timing { return Timing{Interval: p.cfg.Interval, Timeout: p.cfg.Timeout} }
