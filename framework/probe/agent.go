package probe

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/spf13/pflag"
)

// DefaultHeartbeat is how often the agent writes a heartbeat line unless told otherwise.
const DefaultHeartbeat = 5 * time.Second

// AgentConfig is what the in-cluster agent probes. The CLI exposes it as
//
//	gameday agent --http name=URL[,interval=D][,timeout=D] --dns name=host@server:53[,interval=D][,timeout=D] \
//	    --interval 250ms --timeout 1s
//
// through Flags, ParseAgentArgs parses the same flags, and Args turns a config back into them
// (for DeployAgent). Each target runs at its own interval and timeout when it has them, and
// at --interval and --timeout otherwise.
type AgentConfig struct {
	HTTP      []AgentHTTPTarget // HTTP probes, --http name=URL (repeatable)
	DNS       []AgentDNSTarget  // DNS probes, --dns name=host@server:port (repeatable)
	Interval  time.Duration     // time between attempts of a probe without its own Interval
	Timeout   time.Duration     // limit for one attempt of a probe without its own Timeout
	Heartbeat time.Duration     // time between heartbeat lines
}

// Timing is the schedule a probe runs at: one attempt every Interval, each bounded by Timeout.
type Timing struct {
	Interval time.Duration
	Timeout  time.Duration
}

// AgentHTTPTarget is one HTTP probe of the agent; see HTTP.
type AgentHTTPTarget struct {
	Name string
	URL  string
	// Interval and Timeout are this probe's own; zero means AgentConfig's.
	Interval time.Duration
	Timeout  time.Duration
}

// AgentDNSTarget is one DNS probe of the agent; see DNS.
type AgentDNSTarget struct {
	Name   string
	Host   string // name to resolve
	Server string // host:port of the DNS server
	// Interval and Timeout are this probe's own; zero means AgentConfig's.
	Interval time.Duration
	Timeout  time.Duration
}

// Flags registers the agent's flags on fs, with defaults, writing into c.
func (c *AgentConfig) Flags(fs *pflag.FlagSet) {
	if c.Interval == 0 {
		c.Interval = DefaultInterval
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.Heartbeat == 0 {
		c.Heartbeat = DefaultHeartbeat
	}
	fs.Var(&httpTargetsFlag{targets: &c.HTTP}, "http", "HTTP probe `name=URL[,interval=D][,timeout=D]` (repeatable); OK on 2xx, a new connection per attempt")
	fs.Var(&dnsTargetsFlag{targets: &c.DNS}, "dns", "DNS probe `name=host@server:port[,interval=D][,timeout=D]` (repeatable); A query sent straight to server (port defaults to 53)")
	fs.DurationVar(&c.Interval, "interval", c.Interval, "time between attempts of a probe without its own interval")
	fs.DurationVar(&c.Timeout, "timeout", c.Timeout, "limit for one attempt of a probe without its own timeout")
	fs.DurationVar(&c.Heartbeat, "heartbeat", c.Heartbeat, "time between heartbeat lines")
}

// ParseAgentArgs parses the agent's flags (the arguments after "gameday agent") and validates
// the result.
func ParseAgentArgs(args []string) (AgentConfig, error) {
	var c AgentConfig
	fs := pflag.NewFlagSet("agent", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	c.Flags(fs)
	if err := fs.Parse(args); err != nil {
		return AgentConfig{}, fmt.Errorf("agent flags: %w", err)
	}
	if fs.NArg() > 0 {
		return AgentConfig{}, fmt.Errorf("agent flags: unexpected arguments %q", fs.Args())
	}
	if err := c.Validate(); err != nil {
		return AgentConfig{}, err
	}
	return c, nil
}

// Args returns the flags that make ParseAgentArgs produce c again. A zero Interval, Timeout
// or Heartbeat is left out, so the agent uses its default.
func (c AgentConfig) Args() []string {
	var args []string
	for _, d := range []struct {
		flag  string
		value time.Duration
	}{{"--interval", c.Interval}, {"--timeout", c.Timeout}, {"--heartbeat", c.Heartbeat}} {
		if d.value != 0 {
			args = append(args, d.flag+"="+d.value.String())
		}
	}
	for _, t := range c.HTTP {
		args = append(args, "--http="+t.String())
	}
	for _, t := range c.DNS {
		args = append(args, "--dns="+t.String())
	}
	return args
}

// String returns the target in its flag form, name=URL[,interval=D][,timeout=D].
func (t AgentHTTPTarget) String() string {
	return t.Name + "=" + t.URL + timingSuffix(t.Interval, t.Timeout)
}

// String returns the target in its flag form, name=host@server[,interval=D][,timeout=D].
func (t AgentDNSTarget) String() string {
	return t.Name + "=" + t.Host + "@" + t.Server + timingSuffix(t.Interval, t.Timeout)
}

// timingSuffix is the ",interval=D,timeout=D" tail of a target flag; zero values are left out.
func timingSuffix(interval, timeout time.Duration) string {
	var s string
	if interval != 0 {
		s += ",interval=" + interval.String()
	}
	if timeout != 0 {
		s += ",timeout=" + timeout.String()
	}
	return s
}

// cutTiming splits the ",interval=D" and ",timeout=D" options off the end of a target flag
// value, in any order, and returns the rest. A URL may contain commas, so only trailing
// comma-separated parts named interval or timeout are options.
func cutTiming(value string) (rest string, interval, timeout time.Duration, err error) {
	rest = value
	for {
		i := strings.LastIndexByte(rest, ',')
		if i < 0 {
			return rest, interval, timeout, nil
		}
		key, raw, ok := strings.Cut(rest[i+1:], "=")
		if !ok || (key != "interval" && key != "timeout") {
			return rest, interval, timeout, nil
		}
		d, perr := time.ParseDuration(raw)
		switch {
		case perr != nil:
			return "", 0, 0, fmt.Errorf("%q: %s: want a duration such as 250ms, got %q", value, key, raw)
		case d <= 0:
			return "", 0, 0, fmt.Errorf("%q: %s must be positive, got %s", value, key, d)
		case key == "interval" && interval != 0, key == "timeout" && timeout != 0:
			return "", 0, 0, fmt.Errorf("%q: %s given twice", value, key)
		case key == "interval":
			interval = d
		default:
			timeout = d
		}
		rest = rest[:i]
	}
}

// Timings returns the interval and timeout each probe of c runs at, by probe name: its own
// when it has them, else c's, else the defaults (as Flags would set them).
func (c AgentConfig) Timings() map[string]Timing {
	interval, timeout := withDefaults(c.Interval, c.Timeout)
	out := make(map[string]Timing, len(c.HTTP)+len(c.DNS))
	for _, t := range c.HTTP {
		out[t.Name] = Timing{Interval: cmp.Or(t.Interval, interval), Timeout: cmp.Or(t.Timeout, timeout)}
	}
	for _, t := range c.DNS {
		out[t.Name] = Timing{Interval: cmp.Or(t.Interval, interval), Timeout: cmp.Or(t.Timeout, timeout)}
	}
	return out
}

// Validate reports every problem with c at once.
func (c AgentConfig) Validate() error {
	_, err := c.probes()
	return err
}

// probes builds the agent's probes, or reports every problem with c.
func (c AgentConfig) probes() ([]Probe, error) {
	var errs []error
	if len(c.HTTP)+len(c.DNS) == 0 {
		errs = append(errs, errors.New("no probes: give at least one --http or --dns"))
	}
	if c.Interval <= 0 {
		errs = append(errs, fmt.Errorf("--interval must be positive, got %s", c.Interval))
	}
	if c.Timeout <= 0 {
		errs = append(errs, fmt.Errorf("--timeout must be positive, got %s", c.Timeout))
	}
	if c.Heartbeat <= 0 {
		errs = append(errs, fmt.Errorf("--heartbeat must be positive, got %s", c.Heartbeat))
	}
	seen := map[string]bool{}
	checkName := func(name string) {
		if seen[name] {
			errs = append(errs, fmt.Errorf("probe name %q used twice", name))
		}
		seen[name] = true
	}
	// Each target's timing, with problems of c's own timing reported once above and not
	// again for every probe that inherits it.
	timing := func(name string, interval, timeout time.Duration) (time.Duration, time.Duration) {
		if interval < 0 || timeout < 0 {
			errs = append(errs, fmt.Errorf("probe %s: interval and timeout must be positive, got %s and %s", name, interval, timeout))
		}
		return cmp.Or(max(interval, 0), max(c.Interval, 0)), cmp.Or(max(timeout, 0), max(c.Timeout, 0))
	}
	var probes []Probe
	add := func(p Probe, err error) {
		if err != nil {
			errs = append(errs, err)
			return
		}
		probes = append(probes, p)
	}
	for _, t := range c.HTTP {
		checkName(t.Name)
		if _, i, to, err := cutTiming(t.URL); err != nil || i != 0 || to != 0 {
			// Args would write it as options: name=URL,timeout=1s is ambiguous.
			errs = append(errs, fmt.Errorf("probe %s: URL %q ends like an interval or timeout option; write its last comma as %%2C", t.Name, t.URL))
		}
		interval, timeout := timing(t.Name, t.Interval, t.Timeout)
		add(NewHTTP(HTTPConfig{Name: t.Name, URL: t.URL, Interval: interval, Timeout: timeout}))
	}
	for _, t := range c.DNS {
		checkName(t.Name)
		interval, timeout := timing(t.Name, t.Interval, t.Timeout)
		add(NewDNS(DNSConfig{Name: t.Name, Host: t.Host, Server: t.Server, Interval: interval, Timeout: timeout}))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("agent config: %w", err)
	}
	return probes, nil
}

// RunAgent runs the configured probes concurrently until ctx ends, writing every Sample to w
// as one JSON line, plus a {"heartbeat":TIME} line at the start and every Heartbeat, so a
// reader can tell a quiet agent from a dead one. Each line is written with one Write call and
// flushed if w has a Flush method. It returns nil when ctx ends, or the first write error.
func RunAgent(ctx context.Context, cfg AgentConfig, w io.Writer) error {
	probes, err := cfg.probes()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	out := &lineWriter{w: w, onError: cancel}

	var wg sync.WaitGroup
	wg.Go(func() {
		ticker := time.NewTicker(cfg.Heartbeat)
		defer ticker.Stop()
		for {
			out.write(agentLine{Heartbeat: time.Now()})
			select {
			case <-ctx.Done():
				return
			case <-ticker.C:
			}
		}
	})
	runErr := RunAll(ctx, probes, func(s Sample) { out.write(agentLine{Sample: s}) })
	cancel()
	wg.Wait()
	return errors.Join(runErr, out.err())
}

// agentLine is one line of the agent's output: a Sample, or a heartbeat when Heartbeat is set.
type agentLine struct {
	Sample
	Heartbeat time.Time
}

// MarshalJSON writes a sample line as the Sample itself and a heartbeat as {"heartbeat":TIME}.
func (l agentLine) MarshalJSON() ([]byte, error) {
	if !l.Heartbeat.IsZero() {
		return json.Marshal(struct {
			Heartbeat time.Time `json:"heartbeat"`
		}{l.Heartbeat})
	}
	return json.Marshal(l.Sample)
}

// UnmarshalJSON reads either kind of line.
func (l *agentLine) UnmarshalJSON(data []byte) error {
	var raw struct {
		Sample
		Heartbeat *time.Time `json:"heartbeat"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return err
	}
	*l = agentLine{Sample: raw.Sample}
	if raw.Heartbeat != nil {
		l.Heartbeat = *raw.Heartbeat
	}
	return nil
}

// lineWriter writes JSON lines to w from many goroutines, one Write per line, and remembers
// the first error (after which it calls onError and writes nothing more).
type lineWriter struct {
	mu       sync.Mutex
	w        io.Writer
	firstErr error
	onError  func()
}

func (lw *lineWriter) write(line agentLine) {
	data, err := json.Marshal(line)
	lw.mu.Lock()
	defer lw.mu.Unlock()
	if lw.firstErr != nil {
		return
	}
	if err == nil {
		_, err = lw.w.Write(append(data, '\n'))
	}
	if err == nil {
		err = flush(lw.w)
	}
	if err != nil {
		lw.firstErr = fmt.Errorf("write agent output: %w", err)
		lw.onError()
	}
}

func (lw *lineWriter) err() error {
	lw.mu.Lock()
	defer lw.mu.Unlock()
	return lw.firstErr
}

// flush flushes w if it buffers (bufio.Writer, http.Flusher).
func flush(w io.Writer) error {
	switch f := w.(type) {
	case interface{ Flush() error }:
		return f.Flush()
	case interface{ Flush() }:
		f.Flush()
	}
	return nil
}

// ReadAgentLog reads agent output (a saved pod log, say) and emits its samples in order,
// skipping heartbeats, duplicates and lines that are not agent JSON. It returns nil at EOF.
func ReadAgentLog(r io.Reader, emit func(Sample)) error {
	return newAgentLogReader().read(r, emit)
}

// sampleKey identifies a sample across reconnects: a probe never starts two attempts at the
// same instant.
type sampleKey struct {
	probe string
	at    int64 // UnixNano
}

// agentLogReader turns agent output into samples and keeps, across the streams of several
// reconnects, which samples were already emitted and the latest time seen. When clock is
// set, it gets every line's agent time and the harness time (now) the line was read.
type agentLogReader struct {
	seen   map[sampleKey]struct{}
	latest time.Time // latest sample start or heartbeat read so far
	clock  *AgentClock
	now    func() time.Time
}

func newAgentLogReader() *agentLogReader {
	return &agentLogReader{seen: make(map[sampleKey]struct{}), now: time.Now}
}

// read emits the new samples of r until EOF (nil) or a read error. A partial last line
// (the stream broke mid-line) is not valid JSON and is skipped: it is read again after a
// reconnect.
func (a *agentLogReader) read(r io.Reader, emit func(Sample)) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 || line[0] != '{' {
			continue
		}
		received := a.now()
		var l agentLine
		if err := json.Unmarshal(line, &l); err != nil {
			continue
		}
		if !l.Heartbeat.IsZero() {
			a.observe(l.Heartbeat)
			if a.clock != nil {
				a.clock.Observe(l.Heartbeat, received, true)
			}
			continue
		}
		if l.Probe == "" || l.At.IsZero() {
			continue
		}
		if a.clock != nil && l.Latency >= 0 {
			// The agent writes a sample's line when its attempt has ended.
			a.clock.Observe(l.At.Add(l.Latency), received, false)
		}
		key := sampleKey{probe: l.Probe, at: l.At.UnixNano()}
		if _, dup := a.seen[key]; dup {
			continue
		}
		a.seen[key] = struct{}{}
		a.observe(l.At)
		emit(l.Sample)
	}
	return sc.Err()
}

func (a *agentLogReader) observe(t time.Time) {
	if t.After(a.latest) {
		a.latest = t
	}
}

// resumeMargin is how far before the latest time seen a reconnect starts reading. Every
// unread line was written after every line already read, and a line is written after the
// time it carries, so the latest time seen is a safe lower bound; the margin covers the
// whole-second precision of the API's sinceTime and the delay between a write and its
// timestamp in the container log.
const resumeMargin = 2 * time.Second

// resumeFrom returns where a reconnect should start reading, and false before anything was
// read (read everything). It also forgets samples too old to be read again.
func (a *agentLogReader) resumeFrom() (time.Time, bool) {
	if a.latest.IsZero() {
		return time.Time{}, false
	}
	since := a.latest.Add(-resumeMargin).Truncate(time.Second)
	forgetBefore := since.Add(-time.Minute).UnixNano() // an attempt lasts far less than a minute
	for key := range a.seen {
		if key.at < forgetBefore {
			delete(a.seen, key)
		}
	}
	return since, true
}

// httpTargetsFlag is the pflag.Value behind --http.
type httpTargetsFlag struct{ targets *[]AgentHTTPTarget }

func (f *httpTargetsFlag) Type() string { return "name=URL" }

func (f *httpTargetsFlag) String() string {
	parts := make([]string, 0, len(*f.targets))
	for _, t := range *f.targets {
		parts = append(parts, t.String())
	}
	return "[" + strings.Join(parts, ",") + "]"
}

func (f *httpTargetsFlag) Set(value string) error {
	target, interval, timeout, err := cutTiming(value)
	if err != nil {
		return err
	}
	name, rawURL, ok := strings.Cut(target, "=")
	if !ok || name == "" || rawURL == "" {
		return fmt.Errorf("%q: want name=URL[,interval=D][,timeout=D]", value)
	}
	if err := validateHTTPURL(rawURL); err != nil {
		return err
	}
	*f.targets = append(*f.targets, AgentHTTPTarget{Name: name, URL: rawURL, Interval: interval, Timeout: timeout})
	return nil
}

// dnsTargetsFlag is the pflag.Value behind --dns.
type dnsTargetsFlag struct{ targets *[]AgentDNSTarget }

func (f *dnsTargetsFlag) Type() string { return "name=host@server:port" }

func (f *dnsTargetsFlag) String() string {
	parts := make([]string, 0, len(*f.targets))
	for _, t := range *f.targets {
		parts = append(parts, t.String())
	}
	return "[" + strings.Join(parts, ",") + "]"
}

func (f *dnsTargetsFlag) Set(value string) error {
	target, interval, timeout, err := cutTiming(value)
	if err != nil {
		return err
	}
	name, rest, ok := strings.Cut(target, "=")
	host, server, hasServer := strings.Cut(rest, "@")
	if !ok || name == "" || host == "" || !hasServer || server == "" {
		return fmt.Errorf("%q: want name=host@server:port[,interval=D][,timeout=D]", value)
	}
	if _, _, err := net.SplitHostPort(server); err != nil {
		if ip := net.ParseIP(strings.Trim(server, "[]")); ip == nil {
			return fmt.Errorf("%q: server %q: want host:port or an IP address", value, server)
		}
		server = net.JoinHostPort(strings.Trim(server, "[]"), "53")
	}
	*f.targets = append(*f.targets, AgentDNSTarget{Name: name, Host: host, Server: server, Interval: interval, Timeout: timeout})
	return nil
}
