package runner_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	"k8s.io/client-go/rest"

	"github.com/gameday-dev/gameday/clusters"
)

// TestIntegrationGuardCountsMutatingRequests runs every guard case against the
// shared real kind cluster, reached as an existing cluster through a kubeconfig
// whose contexts are renamed copies of the kind context ("staging", "dev",
// "eks-prod-eu"). Each context's server is a recording reverse proxy that forwards
// every request, with the kind context's credentials, to the real API server: it
// sees every request any client of the run makes, so a refusal must show zero
// mutating requests (none at all, in fact), and an allowed run exactly its lease.
func TestIntegrationGuardCountsMutatingRequests(t *testing.T) {
	requireTestbed(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cl, err := (&clusters.Kind{Name: e2eCluster, Reuse: true}).Up(ctx)
	assert.NilError(t, err)
	target, err := url.Parse(cl.REST.Host)
	assert.NilError(t, err)
	transport, err := rest.TransportFor(cl.REST)
	assert.NilError(t, err)

	for _, tc := range guardCases {
		t.Run(tc.name, func(t *testing.T) {
			// Not parallel: the allowed runs take the cluster's one run lease.
			log := &requestLog{}
			proxy := &httputil.ReverseProxy{
				Rewrite: func(r *httputil.ProxyRequest) {
					r.SetURL(target)
					r.Out.Host = target.Host
				},
				Transport:     transport,
				FlushInterval: -1, // watches stream
			}
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				log.record(r)
				proxy.ServeHTTP(w, r)
			}))
			defer srv.Close()
			dir := t.TempDir()
			kubeconfig := guardKubeconfig(t, dir, srv.URL, `{server: "$SERVER"}`, `{}`)
			runGuardCase(t, tc, dir, kubeconfig, log, false)
		})
	}
}
