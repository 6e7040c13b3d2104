package main

import (
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// FuzzParseConfig feeds the same bytes to the CDS, LDS and bootstrap parsers: none
// may panic, and whatever they accept must satisfy what the load balancer relies on.
// Seeds: every YAML file in testdata (kind's rendered files and the test templates).
func FuzzParseConfig(f *testing.F) {
	for _, pattern := range []string{"*.yaml", "*.tmpl"} {
		paths, err := filepath.Glob(filepath.Join("testdata", pattern))
		if err != nil {
			f.Fatal(err)
		}
		for _, p := range paths {
			data, err := os.ReadFile(p)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if clusters, _, err := ParseCDS(data); err == nil {
			checkClusters(t, clusters)
		}
		if listeners, _, err := ParseLDS(data); err == nil {
			names := map[string]bool{}
			for _, l := range listeners {
				if l.Name == "" || names[l.Name] || l.Cluster == "" {
					t.Fatalf("accepted listener %+v (names so far %v)", l, names)
				}
				names[l.Name] = true
				checkHostPort(t, l.Addr, true)
			}
		}
		if b, err := parseBootstrap(data); err == nil {
			if b.CDSPath == "" || b.LDSPath == "" {
				t.Fatalf("accepted bootstrap without paths: %+v", b)
			}
			checkHostPort(t, b.AdminAddr, true)
		}
	})
}

func checkClusters(t *testing.T, clusters []ClusterSpec) {
	names := map[string]bool{}
	for _, c := range clusters {
		if c.Name == "" || names[c.Name] || c.ConnectTimeout <= 0 {
			t.Fatalf("accepted cluster %+v (names so far %v)", c, names)
		}
		names[c.Name] = true
		if c.Network != "tcp" && c.Network != "tcp4" && c.Network != "tcp6" {
			t.Fatalf("cluster %q: network %q", c.Name, c.Network)
		}
		for _, e := range c.Endpoints {
			checkHostPort(t, e, false)
		}
		if h := c.Health; h != nil {
			if h.Timeout <= 0 || h.Interval <= 0 || h.HealthyThreshold < 1 || h.UnhealthyThreshold < 1 || !strings.HasPrefix(h.Path, "/") || h.Host == "" {
				t.Fatalf("cluster %q: accepted health check %+v", c.Name, h)
			}
		}
	}
}

func checkHostPort(t *testing.T, addr string, portZeroOK bool) {
	host, port, err := net.SplitHostPort(addr)
	n, perr := strconv.Atoi(port)
	if err != nil || host == "" || perr != nil || n < 0 || n > 65535 || (n == 0 && !portZeroOK) {
		t.Fatalf("accepted address %q", addr)
	}
}
