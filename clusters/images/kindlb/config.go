package main

import (
	"fmt"
	"net"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Type URLs and extension names of the envoy configuration this program understands.
const (
	listenerType       = "type.googleapis.com/envoy.config.listener.v3.Listener"
	clusterType        = "type.googleapis.com/envoy.config.cluster.v3.Cluster"
	tcpProxyType       = "type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy"
	upstreamTLSType    = "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext"
	tcpProxyFilter     = "envoy.filters.network.tcp_proxy"
	tlsTransportSocket = "envoy.transport_sockets.tls"
	rawTransportSocket = "envoy.transport_sockets.raw_buffer"
)

// defaultConnectTimeout is envoy's default for a cluster's connect_timeout.
const defaultConnectTimeout = 5 * time.Second

// Bootstrap is the part of envoy's bootstrap configuration this program uses.
type Bootstrap struct {
	NodeID, NodeCluster string
	CDSPath, LDSPath    string
	AdminAddr           string   // host:port of the admin interface
	Ignored             []string // fields present in the file but not understood
}

// ListenerSpec is one validated LDS listener: a TCP port proxied to a cluster.
type ListenerSpec struct {
	Name    string
	Addr    string // host:port to bind
	Cluster string // tcp_proxy's cluster
}

// ClusterSpec is one validated CDS cluster: endpoints balanced round robin.
type ClusterSpec struct {
	Name           string
	ConnectTimeout time.Duration
	Network        string   // "tcp", "tcp4" or "tcp6", from dns_lookup_family
	Endpoints      []string // host:port; host may be a DNS name resolved at dial time
	Health         *HealthSpec
}

// HealthSpec is a cluster's active HTTP(S) health check. It is comparable, so that
// a reload can tell whether an endpoint's checker may keep running.
type HealthSpec struct {
	Path               string
	Host               string // Host header; envoy defaults it to the cluster name
	TLS                bool   // check over TLS, verifying nothing (ACCEPT_UNTRUSTED)
	ServerName         string // SNI, when the UpstreamTlsContext sets one
	Timeout, Interval  time.Duration
	UnhealthyThreshold int
	HealthyThreshold   int
}

// LoadBootstrap reads and validates the bootstrap file at path. Errors name the
// file and the field path.
func LoadBootstrap(path string) (*Bootstrap, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("bootstrap: %w", err)
	}
	b, err := parseBootstrap(data)
	if err != nil {
		return nil, fmt.Errorf("bootstrap %s: %w", path, err)
	}
	return b, nil
}

// parseBootstrap validates a bootstrap file's content.
func parseBootstrap(data []byte) (*Bootstrap, error) {
	var y bootstrapYAML
	ignored, err := decode(data, &y)
	if err != nil {
		return nil, err
	}
	b := &Bootstrap{NodeID: y.Node.ID, NodeCluster: y.Node.Cluster, Ignored: ignored}
	sources := []struct {
		field string
		src   configSourceYAML
		path  *string
	}{
		{"dynamic_resources.cds_config", y.DynamicResources.CDSConfig, &b.CDSPath},
		{"dynamic_resources.lds_config", y.DynamicResources.LDSConfig, &b.LDSPath},
	}
	for _, s := range sources {
		if v := s.src.ResourceAPIVersion; v != "" && v != "V3" {
			return nil, fieldErr(s.field+".resource_api_version", "only V3 is supported, got %q", v)
		}
		if s.src.PathConfigSource.Path == "" {
			return nil, fieldErr(s.field+".path_config_source.path", "required (only file-based dynamic configuration is supported)")
		}
		*s.path = s.src.PathConfigSource.Path
	}
	b.AdminAddr, err = socketAddress("admin.address", y.Admin.Address, true)
	if err != nil {
		return nil, err
	}
	return b, nil
}

// ParseLDS validates an LDS file's content. It returns the listeners and the fields
// it ignored.
func ParseLDS(data []byte) ([]ListenerSpec, []string, error) {
	var y ldsYAML
	ignored, err := decode(data, &y)
	if err != nil {
		return nil, nil, err
	}
	specs := make([]ListenerSpec, 0, len(y.Resources))
	names := map[string]bool{}
	for i, r := range y.Resources {
		p := fmt.Sprintf("resources[%d]", i)
		if r.Type != listenerType {
			return nil, nil, fieldErr(p+".@type", "want %s, got %q", listenerType, r.Type)
		}
		if r.Name == "" || names[r.Name] {
			return nil, nil, fieldErr(p+".name", "must be set and unique, got %q", r.Name)
		}
		names[r.Name] = true
		addr, err := socketAddress(p+".address", r.Address, true)
		if err != nil {
			return nil, nil, err
		}
		if len(r.FilterChains) != 1 || len(r.FilterChains[0].Filters) != 1 {
			return nil, nil, fieldErr(p+".filter_chains", "want exactly one filter chain with exactly one filter (%s)", tcpProxyFilter)
		}
		f := r.FilterChains[0].Filters[0]
		fp := p + ".filter_chains[0].filters[0]"
		if f.Name != tcpProxyFilter && f.TypedConfig.Type != tcpProxyType {
			return nil, nil, fieldErr(fp+".name", "only %s is supported, got %q", tcpProxyFilter, f.Name)
		}
		if f.TypedConfig.Cluster == "" {
			return nil, nil, fieldErr(fp+".typed_config.cluster", "required (weighted_clusters are not supported)")
		}
		specs = append(specs, ListenerSpec{Name: r.Name, Addr: addr, Cluster: f.TypedConfig.Cluster})
	}
	return specs, ignored, nil
}

// ParseCDS validates a CDS file's content. It returns the clusters and the fields
// it ignored.
func ParseCDS(data []byte) ([]ClusterSpec, []string, error) {
	var y cdsYAML
	ignored, err := decode(data, &y)
	if err != nil {
		return nil, nil, err
	}
	specs := make([]ClusterSpec, 0, len(y.Resources))
	names := map[string]bool{}
	for i := range y.Resources {
		p := fmt.Sprintf("resources[%d]", i)
		spec, err := clusterSpec(p, &y.Resources[i])
		if err != nil {
			return nil, nil, err
		}
		if names[spec.Name] {
			return nil, nil, fieldErr(p+".name", "duplicate cluster %q", spec.Name)
		}
		names[spec.Name] = true
		specs = append(specs, spec)
	}
	return specs, ignored, nil
}

// clusterSpec validates the cluster at field path p.
func clusterSpec(p string, c *clusterYAML) (ClusterSpec, error) {
	s := ClusterSpec{Name: c.Name, ConnectTimeout: defaultConnectTimeout, Network: "tcp"}
	if c.Type != clusterType {
		return s, fieldErr(p+".@type", "want %s, got %q", clusterType, c.Type)
	}
	if c.Name == "" {
		return s, fieldErr(p+".name", "required")
	}
	if c.ConnectTimeout != "" {
		d, err := parseDuration(c.ConnectTimeout)
		if err != nil || d <= 0 {
			return s, fieldErr(p+".connect_timeout", "want a positive duration such as 0.25s, got %q", c.ConnectTimeout)
		}
		s.ConnectTimeout = d
	}
	switch c.DiscoveryType {
	case "", "STATIC", "STRICT_DNS", "LOGICAL_DNS":
	default:
		return s, fieldErr(p+".type", "want STATIC, STRICT_DNS or LOGICAL_DNS, got %q", c.DiscoveryType)
	}
	if c.LBPolicy != "" && c.LBPolicy != "ROUND_ROBIN" {
		return s, fieldErr(p+".lb_policy", "only ROUND_ROBIN is supported, got %q", c.LBPolicy)
	}
	switch c.DNSLookupFamily {
	case "", "AUTO", "V4_PREFERRED", "ALL":
	case "V4_ONLY":
		s.Network = "tcp4"
	case "V6_ONLY":
		s.Network = "tcp6"
	default:
		return s, fieldErr(p+".dns_lookup_family", "unknown value %q", c.DNSLookupFamily)
	}
	// Proxied connections carry no endpoint metadata, so they use the socket that
	// empty match criteria select. Only plaintext is supported there.
	if tls, field, err := c.transportSocket(p, nil); err != nil {
		return s, err
	} else if tls != nil {
		return s, fieldErr(field, "TLS towards endpoints is only supported for health checks")
	}
	for i, le := range c.LoadAssignment.Endpoints {
		for j, e := range le.LBEndpoints {
			ep := fmt.Sprintf("%s.load_assignment.endpoints[%d].lb_endpoints[%d].endpoint.address", p, i, j)
			addr, err := socketAddress(ep, e.Endpoint.Address, false)
			if err != nil {
				return s, err
			}
			s.Endpoints = append(s.Endpoints, addr)
		}
	}
	switch len(c.HealthChecks) {
	case 0:
		return s, nil
	case 1:
	default:
		return s, fieldErr(p+".health_checks", "at most one health check is supported, got %d", len(c.HealthChecks))
	}
	hp := p + ".health_checks[0]"
	h := c.HealthChecks[0]
	hs := HealthSpec{Host: c.Name}
	var err error
	if hs.Timeout, err = parseDuration(h.Timeout); err != nil || hs.Timeout <= 0 {
		return s, fieldErr(hp+".timeout", "want a positive duration such as 3s, got %q", h.Timeout)
	}
	if hs.Interval, err = parseDuration(h.Interval); err != nil || hs.Interval <= 0 {
		return s, fieldErr(hp+".interval", "want a positive duration such as 2s, got %q", h.Interval)
	}
	if h.UnhealthyThreshold == nil {
		return s, fieldErr(hp+".unhealthy_threshold", "required")
	}
	if h.HealthyThreshold == nil {
		return s, fieldErr(hp+".healthy_threshold", "required")
	}
	hs.UnhealthyThreshold = int(max(*h.UnhealthyThreshold, 1))
	hs.HealthyThreshold = int(max(*h.HealthyThreshold, 1))
	if h.HTTPHealthCheck == nil || h.HTTPHealthCheck.Path == "" {
		return s, fieldErr(hp+".http_health_check.path", "required (only HTTP health checks are supported)")
	}
	if !strings.HasPrefix(h.HTTPHealthCheck.Path, "/") {
		return s, fieldErr(hp+".http_health_check.path", "must start with /, got %q", h.HTTPHealthCheck.Path)
	}
	hs.Path = h.HTTPHealthCheck.Path
	if h.HTTPHealthCheck.Host != "" {
		hs.Host = h.HTTPHealthCheck.Host
	}
	tls, _, err := c.transportSocket(p, h.TransportSocketMatchCriteria)
	if err != nil {
		return s, err
	}
	if tls != nil {
		hs.TLS, hs.ServerName = true, tls.TypedConfig.SNI
	}
	s.Health = &hs
	return s, nil
}

// transportSocket returns the TLS transport socket envoy would use for a connection
// with the given match criteria (nil for plaintext) and the field it comes from: the
// first transport_socket_matches entry whose match is a subset of the criteria, else
// the cluster's transport_socket.
func (c *clusterYAML) transportSocket(p string, criteria map[string]string) (*transportSocketYAML, string, error) {
	ts, field := c.TransportSocket, p+".transport_socket"
	for i, m := range c.TransportSocketMatches {
		if subset(m.Match, criteria) {
			ts, field = &c.TransportSocketMatches[i].TransportSocket, fmt.Sprintf("%s.transport_socket_matches[%d].transport_socket", p, i)
			break
		}
	}
	switch {
	case ts == nil:
		return nil, "", nil
	case ts.Name == tlsTransportSocket || ts.TypedConfig.Type == upstreamTLSType:
		return ts, field, nil
	case ts.Name == rawTransportSocket || ts.Name == "":
		return nil, "", nil
	}
	return nil, "", fieldErr(field+".name", "want %s or %s, got %q", tlsTransportSocket, rawTransportSocket, ts.Name)
}

// subset reports whether every key of match has the same value in criteria.
func subset(match, criteria map[string]string) bool {
	for k, v := range match {
		if cv, ok := criteria[k]; !ok || cv != v {
			return false
		}
	}
	return true
}

// socketAddress validates an envoy Address holding a TCP socket_address and returns
// it as host:port. Listeners (and the admin address) may use port 0.
func socketAddress(p string, a addressYAML, portZeroOK bool) (string, error) {
	sa := a.SocketAddress
	if sa == nil {
		return "", fieldErr(p+".socket_address", "required")
	}
	if sa.Address == "" {
		return "", fieldErr(p+".socket_address.address", "required")
	}
	if sa.PortValue > 65535 || (sa.PortValue == 0 && !portZeroOK) {
		return "", fieldErr(p+".socket_address.port_value", "want a TCP port, got %d", sa.PortValue)
	}
	if sa.Protocol != "" && sa.Protocol != "TCP" {
		return "", fieldErr(p+".socket_address.protocol", "only TCP is supported, got %q", sa.Protocol)
	}
	addr := net.JoinHostPort(sa.Address, strconv.Itoa(int(sa.PortValue)))
	if host, _, err := net.SplitHostPort(addr); err != nil || host != sa.Address {
		return "", fieldErr(p+".socket_address.address", "not a host name or IP address: %q", sa.Address)
	}
	return addr, nil
}

// durationRE is the protobuf JSON form of a google.protobuf.Duration: seconds with
// up to nine fractional digits and an "s" suffix.
var durationRE = regexp.MustCompile(`^[0-9]+(\.[0-9]{1,9})?s$`)

// parseDuration parses a protobuf JSON duration such as "0.25s".
func parseDuration(s string) (time.Duration, error) {
	if !durationRE.MatchString(s) {
		return 0, fmt.Errorf("invalid duration %q", s)
	}
	return time.ParseDuration(s)
}

// fieldErr is an error about the field at path.
func fieldErr(path, format string, args ...any) error {
	return fmt.Errorf("%s: %s", path, fmt.Sprintf(format, args...))
}
