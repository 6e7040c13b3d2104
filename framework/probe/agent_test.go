package probe_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spf13/pflag"
	"gotest.tools/v3/assert"

	"github.com/gameday-dev/gameday/framework/probe"
)

func TestParseAgentArgs(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		args    []string
		want    probe.AgentConfig
		wantErr []string
	}{
		{
			name: "the documented command line",
			args: []string{"--http", "web=http://10.96.0.20/", "--dns", "dns=workload.gameday-workload.svc.cluster.local@10.96.0.10:53", "--interval", "250ms", "--timeout", "1s"},
			want: probe.AgentConfig{
				HTTP:     []probe.AgentHTTPTarget{{Name: "web", URL: "http://10.96.0.20/"}},
				DNS:      []probe.AgentDNSTarget{{Name: "dns", Host: "workload.gameday-workload.svc.cluster.local", Server: "10.96.0.10:53"}},
				Interval: 250 * time.Millisecond, Timeout: time.Second, Heartbeat: probe.DefaultHeartbeat,
			},
		},
		{
			name: "repeated flags, default DNS port, IPv6",
			args: []string{"--http=a=http://10.0.0.1:8080/readyz", "--http=b=https://[fd00::1]/", "--dns=c=x.test@10.96.0.10", "--dns=d=x.test@[fd00::a]", "--heartbeat=1s"},
			want: probe.AgentConfig{
				HTTP: []probe.AgentHTTPTarget{{Name: "a", URL: "http://10.0.0.1:8080/readyz"}, {Name: "b", URL: "https://[fd00::1]/"}},
				DNS: []probe.AgentDNSTarget{
					{Name: "c", Host: "x.test", Server: "10.96.0.10:53"},
					{Name: "d", Host: "x.test", Server: "[fd00::a]:53"},
				},
				Interval: probe.DefaultInterval, Timeout: probe.DefaultTimeout, Heartbeat: time.Second,
			},
		},
		{
			name: "each target with its own interval and timeout",
			args: []string{
				"--http=web=http://10.96.0.20/,interval=250ms,timeout=1s",
				"--http=slow=http://10.96.0.21/?a=1,2,timeout=3s",          // a comma in the URL stays in it
				"--dns=dns=x.test@10.96.0.10:53,timeout=500ms,interval=5s", // either order
				"--dns=plain=y.test@10.96.0.10", "--interval=2s",
			},
			want: probe.AgentConfig{
				HTTP: []probe.AgentHTTPTarget{
					{Name: "web", URL: "http://10.96.0.20/", Interval: 250 * time.Millisecond, Timeout: time.Second},
					{Name: "slow", URL: "http://10.96.0.21/?a=1,2", Timeout: 3 * time.Second},
				},
				DNS: []probe.AgentDNSTarget{
					{Name: "dns", Host: "x.test", Server: "10.96.0.10:53", Interval: 5 * time.Second, Timeout: 500 * time.Millisecond},
					{Name: "plain", Host: "y.test", Server: "10.96.0.10:53"},
				},
				Interval: 2 * time.Second, Timeout: probe.DefaultTimeout, Heartbeat: probe.DefaultHeartbeat,
			},
		},
		{name: "target interval zero", args: []string{"--http=a=http://x/,interval=0s"}, wantErr: []string{"interval must be positive"}},
		{name: "target timeout not a duration", args: []string{"--dns=a=x.test@10.0.0.1,timeout=fast"}, wantErr: []string{"timeout: want a duration"}},
		{name: "target interval twice", args: []string{"--http=a=http://x/,interval=1s,interval=2s"}, wantErr: []string{"interval given twice"}},
		{name: "no probes", args: nil, wantErr: []string{"no probes"}},
		{name: "http without name", args: []string{"--http=http://x/"}, wantErr: []string{"want name=URL"}},
		{name: "http bad scheme", args: []string{"--http=a=ftp://x/"}, wantErr: []string{"scheme must be http or https"}},
		{name: "dns without server", args: []string{"--dns=a=x.test"}, wantErr: []string{"want name=host@server:port"}},
		{name: "dns server not an address", args: []string{"--dns=a=x.test@kube-dns"}, wantErr: []string{"want host:port or an IP address"}},
		{name: "positional argument", args: []string{"--http=a=http://x/", "extra"}, wantErr: []string{"unexpected arguments"}},
		{
			name:    "every problem at once",
			args:    []string{"--http=a=http://x/", "--dns=a=bad..name@10.0.0.1:53", "--interval=0s", "--timeout=-1s"},
			wantErr: []string{`probe name "a" used twice`, "--interval must be positive", "--timeout must be positive", "not a domain name"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := probe.ParseAgentArgs(tc.args)
			if len(tc.wantErr) > 0 {
				assert.Assert(t, err != nil)
				for _, want := range tc.wantErr {
					assert.ErrorContains(t, err, want)
				}
				return
			}
			assert.NilError(t, err)
			assert.DeepEqual(t, got, tc.want)

			again, err := probe.ParseAgentArgs(got.Args())
			assert.NilError(t, err)
			assert.DeepEqual(t, again, got)
		})
	}
}

func TestAgentConfigTimings(t *testing.T) {
	t.Parallel()
	cfg, err := probe.ParseAgentArgs([]string{
		"--http=fast=http://10.96.0.20/,interval=250ms,timeout=1s", "--http=inherit=http://10.96.0.20/",
		"--dns=dns=x.test@10.96.0.10,interval=5s", "--interval=1s", "--timeout=2s",
	})
	assert.NilError(t, err)
	assert.DeepEqual(t, cfg.Timings(), map[string]probe.Timing{
		"fast":    {Interval: 250 * time.Millisecond, Timeout: time.Second},
		"inherit": {Interval: time.Second, Timeout: 2 * time.Second},
		"dns":     {Interval: 5 * time.Second, Timeout: 2 * time.Second},
	})
	// A config built in Go without any timing gets the defaults, as the agent would.
	bare := probe.AgentConfig{DNS: []probe.AgentDNSTarget{{Name: "d", Host: "x.test", Server: "10.0.0.1:53"}}}
	assert.DeepEqual(t, bare.Timings(), map[string]probe.Timing{"d": {Interval: probe.DefaultInterval, Timeout: probe.DefaultTimeout}})
}

func TestAgentConfigRejectsAnAmbiguousURL(t *testing.T) {
	t.Parallel()
	cfg := probe.AgentConfig{HTTP: []probe.AgentHTTPTarget{{Name: "a", URL: "http://x/?q=1,timeout=2s"}}, Interval: time.Second, Timeout: time.Second, Heartbeat: time.Second}
	assert.ErrorContains(t, cfg.Validate(), "ends like an interval or timeout option")
	cfg.HTTP[0].URL = "http://x/?q=1%2Ctimeout=2s"
	assert.NilError(t, cfg.Validate())
}

func TestAgentArgsLeaveZeroTimesToTheDefaults(t *testing.T) {
	t.Parallel()
	cfg := probe.AgentConfig{HTTP: []probe.AgentHTTPTarget{{Name: "web", URL: "http://10.96.0.20/"}}, Interval: 250 * time.Millisecond}
	assert.DeepEqual(t, cfg.Args(), []string{"--interval=250ms", "--http=web=http://10.96.0.20/"})
	got, err := probe.ParseAgentArgs(cfg.Args())
	assert.NilError(t, err)
	assert.Equal(t, got.Interval, 250*time.Millisecond)
	assert.Equal(t, got.Timeout, probe.DefaultTimeout)
	assert.Equal(t, got.Heartbeat, probe.DefaultHeartbeat)
}

func TestAgentFlagsOnACommandsFlagSet(t *testing.T) {
	t.Parallel()
	var cfg probe.AgentConfig
	fs := pflag.NewFlagSet("gameday agent", pflag.ContinueOnError)
	cfg.Flags(fs)
	assert.NilError(t, fs.Parse([]string{"--http", "a=http://x/", "--interval", "2s"}))
	assert.NilError(t, cfg.Validate())
	assert.Equal(t, cfg.Interval, 2*time.Second)
	assert.Equal(t, cfg.Timeout, probe.DefaultTimeout)
	assert.Equal(t, fs.Lookup("http").Value.String(), "[a=http://x/]")
}

// syncBuffer is a bytes.Buffer safe for the agent's concurrent writes and the test's reads.
type syncBuffer struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	flushes int
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) Flush() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.flushes++
	return nil
}

func TestRunAgentWritesJSONLines(t *testing.T) {
	t.Parallel()
	web := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	t.Cleanup(web.Close)
	dnsServer := startDNSServer(t)
	cfg, err := probe.ParseAgentArgs([]string{
		"--http=web=" + web.URL, "--dns=dns=ok.test@" + dnsServer, "--dns=nx=missing.test@" + dnsServer,
		"--interval=50ms", "--timeout=2s", "--heartbeat=100ms",
	})
	assert.NilError(t, err)

	ctx, cancel := context.WithTimeout(t.Context(), 330*time.Millisecond)
	defer cancel()
	var out syncBuffer
	assert.NilError(t, probe.RunAgent(ctx, cfg, &out))

	// Every line is a JSON object: a Sample or a heartbeat.
	var heartbeats int
	lines := 0
	sc := bufio.NewScanner(bytes.NewReader(out.buf.Bytes()))
	for sc.Scan() {
		lines++
		var fields map[string]any
		assert.NilError(t, json.Unmarshal(sc.Bytes(), &fields), sc.Text())
		if _, ok := fields["heartbeat"]; ok {
			heartbeats++
			assert.Equal(t, len(fields), 1)
		} else {
			assert.Assert(t, fields["probe"] != nil && fields["at"] != nil && fields["latencyNs"] != nil, sc.Text())
		}
	}
	assert.Assert(t, heartbeats >= 3, "heartbeats: %d", heartbeats) // at 0, 100, 200, 300 ms
	assert.Equal(t, out.flushes, lines, "one flush per line")

	// The output round-trips into Samples.
	var rec probe.Recorder
	assert.NilError(t, probe.ReadAgentLog(bytes.NewReader(out.buf.Bytes()), rec.Emit))
	assert.DeepEqual(t, rec.Probes(), []string{"dns", "nx", "web"})
	for name, samples := range rec.All() {
		assert.Assert(t, len(samples) >= 1, "%s: no attempts", name)
		for _, s := range samples {
			assert.Assert(t, !s.At.IsZero() && s.Latency > 0)
		}
		if name == "nx" {
			assert.Equal(t, samples[0].Error, "NXDOMAIN")
		} else {
			assert.Assert(t, samples[0].OK, "%s: %s", name, samples[0].Error)
		}
	}
}

// failingWriter fails every write.
type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("pipe closed") }

func TestRunAgentStopsOnWriteError(t *testing.T) {
	t.Parallel()
	cfg, err := probe.ParseAgentArgs([]string{"--http=web=http://127.0.0.1:1/", "--interval=10ms"})
	assert.NilError(t, err)
	err = probe.RunAgent(t.Context(), cfg, failingWriter{}) // returns without the context ending
	assert.ErrorContains(t, err, "write agent output: pipe closed")

	err = probe.RunAgent(t.Context(), probe.AgentConfig{}, &syncBuffer{})
	assert.ErrorContains(t, err, "no probes")
}

func TestReadAgentLog(t *testing.T) {
	t.Parallel()
	log := strings.Join([]string{
		`{"heartbeat":"2026-11-21T10:00:00Z"}`,
		`{"probe":"web","at":"2026-11-21T10:00:00.25Z","ok":true,"latencyNs":1500000}`,
		`panic: something the agent printed that is not JSON`,
		`{"probe":"dns","at":"2026-11-21T10:00:00.5Z","ok":false,"latencyNs":1000000000,"error":"timeout after 1s waiting for 10.96.0.10:53"}`,
		`{"probe":"web","at":"2026-11-21T10:00:00.25Z","ok":true,"latencyNs":1500000}`,
		`{"unrelated":true}`,
		``,
		`{"probe":"web","at":"2026-11-21T10:00:00.5Z","ok":fa`, // cut off mid-line
	}, "\n")
	var got []probe.Sample
	assert.NilError(t, probe.ReadAgentLog(strings.NewReader(log), func(s probe.Sample) { got = append(got, s) }))
	assert.DeepEqual(t, got, []probe.Sample{
		{Probe: "web", At: time.Date(2026, 11, 21, 10, 0, 0, 250_000_000, time.UTC), OK: true, Latency: 1500 * time.Microsecond},
		{Probe: "dns", At: time.Date(2026, 11, 21, 10, 0, 0, 500_000_000, time.UTC), Latency: time.Second, Error: "timeout after 1s waiting for 10.96.0.10:53"},
	})
}
