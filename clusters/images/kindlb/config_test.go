package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

func readTestdata(t testing.TB, name string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	assert.NilError(t, err)
	return string(data)
}

func TestLoadBootstrapKind(t *testing.T) {
	t.Parallel()
	b, err := LoadBootstrap(filepath.Join("testdata", "kind-bootstrap.yaml"))
	assert.NilError(t, err)
	assert.DeepEqual(t, b, &Bootstrap{
		NodeID:      "kind-external-load-balancer",
		NodeCluster: "kind",
		CDSPath:     "/home/envoy/cds.yaml",
		LDSPath:     "/home/envoy/lds.yaml",
		AdminAddr:   "0.0.0.0:10000",
		Ignored:     []string{"admin.access_log_path"},
	})
}

func TestLoadBootstrapErrors(t *testing.T) {
	t.Parallel()
	kind := readTestdata(t, "kind-bootstrap.yaml")
	replace := func(old, new string) string {
		assert.Assert(t, strings.Contains(kind, old), old)
		return strings.Replace(kind, old, new, 1)
	}
	cases := []struct {
		name, content, want string
	}{
		{"no cds path", replace("      path: /home/envoy/cds.yaml\n", ""),
			"dynamic_resources.cds_config.path_config_source.path: required"},
		{"no lds config", replace("  lds_config:", "  other_config:"),
			"dynamic_resources.lds_config.path_config_source.path: required"},
		{"api v2", replace("resource_api_version: V3", "resource_api_version: V2"),
			"dynamic_resources.cds_config.resource_api_version: only V3"},
		{"no admin address", replace("  address:\n", "  addr:\n"),
			"admin.address.socket_address: required"},
		{"admin port too big", replace("port_value: 10000", "port_value: 100000"),
			"admin.address.socket_address.port_value: want a TCP port"},
		{"admin port not a number", replace("port_value: 10000", "port_value: ten"),
			"cannot unmarshal !!str `ten` into uint32"},
		{"empty admin host", replace("address: 0.0.0.0", `address: ""`),
			"admin.address.socket_address.address: required"},
		{"not yaml", "node: [", "yaml:"},
		{"not a mapping", "- a\n- b\n", "cannot unmarshal"},
		{"empty", "", "dynamic_resources.cds_config.path_config_source.path: required"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "envoy.yaml")
			assert.NilError(t, os.WriteFile(path, []byte(tc.content), 0o644))
			_, err := LoadBootstrap(path)
			assert.ErrorContains(t, err, tc.want)
			assert.ErrorContains(t, err, path)
		})
	}
	t.Run("missing file", func(t *testing.T) {
		t.Parallel()
		path := filepath.Join(t.TempDir(), "envoy.yaml")
		_, err := LoadBootstrap(path)
		assert.ErrorContains(t, err, path)
		assert.ErrorContains(t, err, "no such file")
	})
}

func TestParseKindConfig(t *testing.T) {
	t.Parallel()
	kindCluster := func(network string) []ClusterSpec {
		return []ClusterSpec{{
			Name:           "kube_apiservers",
			ConnectTimeout: 250 * time.Millisecond,
			Network:        network,
			Endpoints:      []string{"kind-control-plane:6443", "kind-control-plane2:6443", "kind-control-plane3:6443"},
			Health: &HealthSpec{
				Path: "/healthz", Host: "kube_apiservers", TLS: true,
				Timeout: 3 * time.Second, Interval: 2 * time.Second,
				UnhealthyThreshold: 2, HealthyThreshold: 1,
			},
		}}
	}
	cdsIgnored := []string{
		"resources[].health_checks[].always_log_health_check_failures",
		"resources[].health_checks[].always_log_health_check_success",
		"resources[].health_checks[].event_log_path",
		"resources[].health_checks[].initial_jitter",
		"resources[].health_checks[].no_traffic_interval",
	}
	ldsIgnored := []string{"resources[].filter_chains[].filters[].typed_config.stat_prefix"}
	cases := []struct {
		cds, lds     string
		wantClusters []ClusterSpec
		wantAddr     string
	}{
		{"kind-cds.yaml", "kind-lds.yaml", kindCluster("tcp"), "0.0.0.0:6443"},
		{"kind-cds-ipv6.yaml", "kind-lds-ipv6.yaml", kindCluster("tcp"), "[::]:6443"},
		{"kind-empty.yaml", "kind-empty.yaml", []ClusterSpec{}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.cds, func(t *testing.T) {
			t.Parallel()
			clusters, ignored, err := ParseCDS([]byte(readTestdata(t, tc.cds)))
			assert.NilError(t, err)
			assert.DeepEqual(t, clusters, tc.wantClusters)
			listeners, ignoredL, err := ParseLDS([]byte(readTestdata(t, tc.lds)))
			assert.NilError(t, err)
			if tc.wantAddr == "" {
				assert.Check(t, is.Len(listeners, 0))
				return
			}
			assert.DeepEqual(t, ignored, cdsIgnored)
			assert.DeepEqual(t, ignoredL, ldsIgnored)
			assert.DeepEqual(t, listeners, []ListenerSpec{{Name: "listener_apiserver", Addr: tc.wantAddr, Cluster: "kube_apiservers"}})
		})
	}
}

func TestParseCDSErrors(t *testing.T) {
	t.Parallel()
	kind := readTestdata(t, "kind-cds.yaml")
	const ep0 = "resources[0].load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address"
	cases := []struct {
		name, old, new, want string
	}{
		{"wrong type", "envoy.config.cluster.v3.Cluster", "envoy.config.listener.v3.Listener", "resources[0].@type: want type.googleapis.com/envoy.config.cluster.v3.Cluster"},
		{"no name", "  name: kube_apiservers\n", "", "resources[0].name: required"},
		{"timeout unit", "connect_timeout: 0.25s", "connect_timeout: 250ms", "resources[0].connect_timeout: want a positive duration"},
		{"zero timeout", "connect_timeout: 0.25s", "connect_timeout: 0s", "resources[0].connect_timeout"},
		{"lb policy", "lb_policy: ROUND_ROBIN", "lb_policy: LEAST_REQUEST", "resources[0].lb_policy: only ROUND_ROBIN"},
		{"discovery type", "type: STRICT_DNS", "type: EDS", "resources[0].type: want STATIC"},
		{"dns family", "dns_lookup_family: V4_PREFERRED", "dns_lookup_family: V5", "resources[0].dns_lookup_family"},
		{"endpoint port 0", "port_value: 6443", "port_value: 0", ep0 + ".port_value: want a TCP port, got 0"},
		{"endpoint port too big", "port_value: 6443", "port_value: 65536", ep0 + ".port_value"},
		{"endpoint no host", "address: kind-control-plane\n", "address: \"\"\n", ep0 + ".address: required"},
		{"endpoint udp", "port_value: 6443", "port_value: 6443\n              protocol: UDP", ep0 + ".protocol: only TCP"},
		{"endpoint not socket", "socket_address:\n              address: kind-control-plane\n", "pipe:\n              path: kind-control-plane\n", "endpoint.address.socket_address: required"},
		{"port not a number", "port_value: 6443", "port_value: https", "cannot unmarshal !!str `https`"},
		{"hc timeout", "timeout: 3s", `timeout: "3"`, "resources[0].health_checks[0].timeout"},
		{"hc interval", "interval: 2s", "interval: 2m", "resources[0].health_checks[0].interval"},
		{"hc healthy threshold", "    healthy_threshold: 1\n", "", "resources[0].health_checks[0].healthy_threshold: required"},
		{"hc unhealthy threshold", "    unhealthy_threshold: 2\n", "", "resources[0].health_checks[0].unhealthy_threshold: required"},
		{"hc not http", "http_health_check:\n      path: /healthz", "tcp_health_check: {}", "resources[0].health_checks[0].http_health_check.path: required"},
		{"hc relative path", "path: /healthz", "path: healthz", "resources[0].health_checks[0].http_health_check.path: must start with /"},
		{"two health checks", "  transport_socket_matches:", "  - {timeout: 1s, interval: 1s, unhealthy_threshold: 1, healthy_threshold: 1, http_health_check: {path: /}}\n  transport_socket_matches:", "resources[0].health_checks: at most one"},
		{"tls for proxied traffic", "match:\n      tls_mode: \"true\"", "match: {}", "resources[0].transport_socket_matches[0].transport_socket: TLS towards endpoints is only supported for health checks"},
		{"unknown transport socket", "name: envoy.transport_sockets.tls\n      typed_config:\n        \"@type\": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext", "name: envoy.transport_sockets.tap\n      typed_config:\n        \"@type\": tap", "resources[0].transport_socket_matches[0].transport_socket.name"},
		{"duplicate cluster", "resources:\n", "resources:\n- {\"@type\": type.googleapis.com/envoy.config.cluster.v3.Cluster, name: kube_apiservers}\n", "resources[1].name: duplicate cluster"},
		{"syntax", "resources:\n", "resources: [\n", "yaml:"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			assert.Assert(t, strings.Contains(kind, tc.old), tc.old)
			_, _, err := ParseCDS([]byte(strings.Replace(kind, tc.old, tc.new, 1)))
			assert.ErrorContains(t, err, tc.want)
		})
	}
}

func TestParseLDSErrors(t *testing.T) {
	t.Parallel()
	kind := readTestdata(t, "kind-lds.yaml")
	const f0 = "resources[0].filter_chains[0].filters[0]"
	cases := []struct {
		name, old, new, want string
	}{
		{"wrong type", "envoy.config.listener.v3.Listener", "envoy.config.cluster.v3.Cluster", "resources[0].@type: want type.googleapis.com/envoy.config.listener.v3.Listener"},
		{"no name", "  name: listener_apiserver\n", "", "resources[0].name: must be set and unique"},
		{"duplicate name", "        cluster: kube_apiservers\n", "        cluster: kube_apiservers\n- {\"@type\": type.googleapis.com/envoy.config.listener.v3.Listener, name: listener_apiserver}\n", "resources[1].name: must be set and unique"},
		{"port too big", "port_value: 6443", "port_value: 66443", "resources[0].address.socket_address.port_value"},
		{"no address", "socket_address:", "pipe:", "resources[0].address.socket_address: required"},
		{"udp", "port_value: 6443", "port_value: 6443\n      protocol: UDP", "resources[0].address.socket_address.protocol"},
		{"http filter", "name: envoy.filters.network.tcp_proxy", "name: envoy.filters.network.http_connection_manager", ""},
		{"no cluster", "        cluster: kube_apiservers\n", "", f0 + ".typed_config.cluster: required"},
		{"two filters", "  - filters:\n", "  - filters:\n    - name: envoy.filters.network.rbac\n", "resources[0].filter_chains: want exactly one filter chain"},
		{"no filter chain", "  filter_chains:\n", "  filter_chains: []\n  other:\n", "resources[0].filter_chains: want exactly one"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			assert.Assert(t, strings.Contains(kind, tc.old), tc.old)
			content := strings.Replace(kind, tc.old, tc.new, 1)
			if tc.name == "http filter" { // both the name and the type must say tcp_proxy
				content = strings.Replace(content, "tcp_proxy.v3.TcpProxy", "http_connection_manager.v3.HttpConnectionManager", 1)
				tc.want = f0 + ".name: only envoy.filters.network.tcp_proxy is supported"
			}
			_, _, err := ParseLDS([]byte(content))
			assert.ErrorContains(t, err, tc.want)
		})
	}
}

func TestParseDuration(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"0.25s", 250 * time.Millisecond, true},
		{"3s", 3 * time.Second, true},
		{"0s", 0, true},
		{"1.000000001s", time.Second + 1, true},
		{"1.0000000001s", 0, false}, // more than nanoseconds
		{"250ms", 0, false},         // protobuf JSON durations are seconds only
		{"1m", 0, false},
		{"-1s", 0, false},
		{".5s", 0, false},
		{"s", 0, false},
		{"3", 0, false},
		{"", 0, false},
		{"99999999999999s", 0, false}, // overflows time.Duration
	}
	for _, tc := range cases {
		got, err := parseDuration(tc.in)
		if !tc.ok {
			assert.Check(t, err != nil, "%q: want an error, got %v", tc.in, got)
			continue
		}
		assert.Check(t, err, "%q", tc.in)
		assert.Check(t, is.Equal(got, tc.want), "%q", tc.in)
	}
}

func TestIgnoredFields(t *testing.T) {
	t.Parallel()
	const lds = `
version_info: "7"
extra: 1
defaults: &listener
  "@type": type.googleapis.com/envoy.config.listener.v3.Listener
  address: {socket_address: {address: 127.0.0.1, port_value: 80, ipv4_compat: true}}
  per_connection_buffer_limit_bytes: 1024
resources:
- <<: *listener
  name: l
  filter_chains:
  - filters:
    - name: envoy.filters.network.tcp_proxy
      typed_config: {cluster: c, idle_timeout: 1s}
`
	specs, ignored, err := ParseLDS([]byte(lds))
	assert.NilError(t, err)
	assert.DeepEqual(t, specs, []ListenerSpec{{Name: "l", Addr: "127.0.0.1:80", Cluster: "c"}})
	assert.DeepEqual(t, ignored, []string{
		"defaults",
		"extra",
		"resources[].address.socket_address.ipv4_compat",
		"resources[].filter_chains[].filters[].typed_config.idle_timeout",
		"resources[].per_connection_buffer_limit_bytes",
	})
}
