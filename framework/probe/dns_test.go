package probe_test

import (
	"net"
	"testing"
	"time"

	"github.com/miekg/dns"
	"gotest.tools/v3/assert"

	"github.com/gameday-dev/gameday/framework/probe"
)

// startDNSServer serves a few fixed answers over UDP on 127.0.0.1 and returns its address.
// "slow.test." gets no reply at all.
func startDNSServer(t *testing.T) string {
	t.Helper()
	handler := dns.HandlerFunc(func(w dns.ResponseWriter, req *dns.Msg) {
		resp := new(dns.Msg)
		resp.SetReply(req)
		name := req.Question[0].Name
		switch name {
		case "ok.test.":
			resp.Answer = append(resp.Answer, &dns.A{
				Hdr: dns.RR_Header{Name: name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 5},
				A:   net.ParseIP("10.0.0.1"),
			})
		case "alias.test.":
			resp.Answer = append(resp.Answer, &dns.CNAME{
				Hdr:    dns.RR_Header{Name: name, Rrtype: dns.TypeCNAME, Class: dns.ClassINET, Ttl: 5},
				Target: "elsewhere.test.",
			})
		case "fail.test.":
			resp.Rcode = dns.RcodeServerFailure
		case "empty.test.":
		case "slow.test.":
			return
		default:
			resp.Rcode = dns.RcodeNameError
		}
		_ = w.WriteMsg(resp)
	})
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	assert.NilError(t, err)
	started := make(chan struct{})
	srv := &dns.Server{PacketConn: pc, Handler: handler, NotifyStartedFunc: func() { close(started) }}
	go func() { _ = srv.ActivateAndServe() }()
	<-started
	t.Cleanup(func() { _ = srv.Shutdown() })
	return pc.LocalAddr().String()
}

func TestDNSProbe(t *testing.T) {
	t.Parallel()
	server := startDNSServer(t)
	cases := []struct {
		host      string
		wantError string
	}{
		{host: "ok.test"},
		{host: "ok.test."},
		{host: "fail.test", wantError: "SERVFAIL"},
		{host: "missing.test", wantError: "NXDOMAIN"},
		{host: "empty.test", wantError: "NOERROR with no A record"},
		{host: "alias.test", wantError: "NOERROR with no A record"},
		{host: "slow.test", wantError: "timeout after 200ms waiting for " + server},
	}
	for _, tc := range cases {
		t.Run(tc.host, func(t *testing.T) {
			t.Parallel()
			timeout := 5 * time.Second // never hit, even on a loaded machine
			if tc.host == "slow.test" {
				timeout = 200 * time.Millisecond
			}
			p, err := probe.NewDNS(probe.DNSConfig{Name: "dns", Host: tc.host, Server: server, Interval: 50 * time.Millisecond, Timeout: timeout})
			assert.NilError(t, err)
			s := collect(t, p, 1)[0]
			assert.Equal(t, s.Probe, "dns")
			assert.Equal(t, s.OK, tc.wantError == "", s.Error)
			assert.Equal(t, s.Error, tc.wantError)
			assert.Assert(t, s.Latency > 0)
		})
	}
}

func TestDNSProbeUnreachableServer(t *testing.T) {
	t.Parallel()
	// Nothing listens here: UDP gets an ICMP port unreachable (connection refused) or nothing.
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	assert.NilError(t, err)
	addr := pc.LocalAddr().String()
	assert.NilError(t, pc.Close())
	p, err := probe.NewDNS(probe.DNSConfig{Name: "dns", Host: "ok.test", Server: addr, Interval: 50 * time.Millisecond, Timeout: 200 * time.Millisecond})
	assert.NilError(t, err)
	s := collect(t, p, 1)[0]
	assert.Assert(t, !s.OK)
	assert.Assert(t, s.Error != "")
}

func TestNewDNSValidates(t *testing.T) {
	t.Parallel()
	_, err := probe.NewDNS(probe.DNSConfig{Host: "bad name..", Server: "10.96.0.10"})
	assert.ErrorContains(t, err, "name is required")
	assert.ErrorContains(t, err, `host "bad name.." is not a domain name`)
	assert.ErrorContains(t, err, `server "10.96.0.10" must be host:port`)

	p, err := probe.NewDNS(probe.DNSConfig{Name: "d", Host: "kubernetes.default.svc.cluster.local", Server: "10.96.0.10:53"})
	assert.NilError(t, err)
	assert.Equal(t, p.Config().Host, "kubernetes.default.svc.cluster.local.")
}
