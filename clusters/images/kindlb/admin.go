package main

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
)

// adminHandler serves the subset of envoy's admin interface that kind and people
// debugging a cluster use:
//
//	GET /ready     200 "LIVE" once the initial configuration is applied
//	GET /clusters  one line per endpoint and statistic, as envoy prints them
//
// Anything else is 404.
func (s *server) adminHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=UTF-8")
		switch r.URL.Path {
		case "/ready":
			if !s.ready.Load() {
				w.WriteHeader(http.StatusServiceUnavailable)
				fmt.Fprintln(w, "PRE_INITIALIZING")
				return
			}
			fmt.Fprintln(w, "LIVE")
		case "/clusters":
			fmt.Fprint(w, s.clustersText())
		default:
			http.NotFound(w, r)
		}
	})
}

// clustersText renders the clusters like envoy's /clusters, e.g.
//
//	kube_apiservers::kind-control-plane:6443::health_flags::healthy
//	kube_apiservers::kind-control-plane2:6443::health_flags::/failed_active_hc
func (s *server) clustersText() string {
	clusters := s.clusterMap()
	names := make([]string, 0, len(clusters))
	for name := range clusters {
		names = append(names, name)
	}
	slices.Sort(names)
	var b strings.Builder
	for _, name := range names {
		fmt.Fprintf(&b, "%s::observability_name::%s\n", name, name)
		for _, e := range clusters[name].endpoints {
			flags := "healthy"
			if e.health() != stateHealthy {
				flags = "/failed_active_hc"
			}
			p := name + "::" + e.addr + "::"
			fmt.Fprintf(&b, "%scx_active::%d\n", p, e.cxActive.Load())
			fmt.Fprintf(&b, "%scx_connect_fail::%d\n", p, e.cxConnectFail.Load())
			fmt.Fprintf(&b, "%scx_total::%d\n", p, e.cxTotal.Load())
			fmt.Fprintf(&b, "%shealth_flags::%s\n", p, flags)
		}
	}
	return b.String()
}
