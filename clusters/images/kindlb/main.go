// Command kindlb stands in for envoy in kind's external load balancer container.
//
// For a cluster with several control planes, kind (v0.33) starts a container of
// docker.io/envoyproxy/envoy:v1.36.2 that runs `envoy -c /home/envoy/envoy.yaml`
// and later moves listener (LDS) and cluster (CDS) files into /home/envoy, which
// envoy follows (file-based dynamic xDS). Envoy cannot be built offline, so when that
// image is not available the test bed builds an image with its tag holding this
// program as /usr/local/bin/envoy. It is a drop-in for exactly kind's configuration,
// not a general envoy:
//
//   - bootstrap: dynamic_resources.{cds,lds}_config.path_config_source.path and
//     admin.address.socket_address (node.id and node.cluster are logged);
//   - LDS: TCP listeners (address.socket_address) with one filter chain holding one
//     envoy.filters.network.tcp_proxy filter, whose typed_config.cluster they use;
//   - CDS: STATIC, STRICT_DNS or LOGICAL_DNS clusters with lb_policy ROUND_ROBIN,
//     connect_timeout, dns_lookup_family, load_assignment endpoints (socket_address;
//     names are resolved at dial time) and at most one health check: an HTTP GET of
//     http_health_check.path (Host: http_health_check.host or the cluster name)
//     with timeout, interval, unhealthy_threshold and healthy_threshold, over TLS when
//     transport_socket_matches selects an UpstreamTlsContext for the check's
//     transport_socket_match_criteria. TLS verifies nothing (kind: ACCEPT_UNTRUSTED).
//
// Other fields are logged once and ignored. Values it cannot honour (another
// lb_policy or filter, TLS for proxied connections) reject the file; a rejected or
// malformed file is logged and the previous configuration stays, as with envoy.
//
// Behaviour: each connection goes to the next healthy endpoint (round robin); a
// failed dial moves on to the next one, once per endpoint. When no endpoint is
// healthy, all are used (envoy's panic mode; envoy enters it below 50% healthy, this
// program only at 0%). An endpoint starts unknown (not healthy) and needs
// healthy_threshold successes (envoy: one, at startup). Health state changes are
// logged on stdout, one line each. The admin address serves GET /ready ("LIVE")
// and GET /clusters (envoy's text format, health_flags and connection counters
// only). SIGINT or SIGTERM closes the listeners and exits 0.
//
// The CDS and LDS files are polled every 500ms (size, modification time, inode).
// Listeners are bound, closed or kept as LDS changes; accepted connections survive
// every reload. Endpoints that stay in CDS keep their health state.
//
// Usage: envoy -c BOOTSTRAP [-l LEVEL] [--mode validate]; envoy --version. Other
// envoy flags are accepted and ignored.
//
// Build: CGO_ENABLED=0 go build -trimpath -o envoy ./clusters/images/kindlb. kind
// runs the image's command through bash and copies files in with cp, chmod and mv,
// so the image needs those (a Debian base has them) and no ENTRYPOINT of its own.
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

// version is what --version prints: honestly not envoy.
const version = "gameday kindlb/1 (envoy-compatible subset for kind's load balancer, standing in for envoy 1.36.2; not envoy)"

// usage is what --help prints.
const usage = `usage: envoy -c BOOTSTRAP [-l trace|debug|info|warning|error|critical|off] [--mode serve|validate]
       envoy --version
Other envoy flags are accepted and ignored.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run is the whole program: it serves until ctx is done and returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	opts := parseArgs(args)
	switch {
	case opts.version:
		fmt.Fprintln(stdout, version)
		return 0
	case opts.help:
		fmt.Fprint(stdout, usage)
		return 0
	case opts.configPath == "":
		fmt.Fprint(stderr, "envoy: no bootstrap configuration, pass -c PATH\n"+usage)
		return 1
	}
	bs, err := LoadBootstrap(opts.configPath)
	if err != nil {
		fmt.Fprintf(stderr, "envoy: %v\n", err)
		return 1
	}
	log := slog.New(slog.NewTextHandler(stdout, &slog.HandlerOptions{Level: opts.level}))
	if len(opts.ignored) > 0 {
		log.Info("ignoring command-line arguments", "args", strings.Join(opts.ignored, " "))
	}
	if len(bs.Ignored) > 0 {
		log.Info("ignoring unsupported fields", "file", opts.configPath, "fields", strings.Join(bs.Ignored, ","))
	}
	if opts.mode == "validate" {
		fmt.Fprintf(stdout, "configuration '%s' OK\n", opts.configPath)
		return 0
	}
	adminLn, err := net.Listen("tcp", bs.AdminAddr)
	if err != nil {
		fmt.Fprintf(stderr, "envoy: bootstrap %s: admin.address: %v\n", opts.configPath, err)
		return 1
	}
	s := newServer(log, bs.CDSPath, bs.LDSPath, defaultPollInterval)
	admin := &http.Server{Handler: s.adminHandler(), ReadHeaderTimeout: 10 * time.Second}
	go admin.Serve(adminLn)
	s.start()
	log.Info("started", "version", version, "node", bs.NodeID, "node_cluster", bs.NodeCluster,
		"admin", adminLn.Addr().String(), "cds", bs.CDSPath, "lds", bs.LDSPath)
	<-ctx.Done()
	log.Info("shutting down")
	admin.Close()
	s.close()
	return 0
}

// options are the command-line options this program honours.
type options struct {
	configPath    string
	level         slog.Level
	mode          string
	version, help bool
	ignored       []string
}

// parseArgs parses envoy's command line. It never fails: unknown flags (and their
// values, which look like positional arguments) are collected in ignored.
func parseArgs(args []string) options {
	var o options
	for i := 0; i < len(args); i++ {
		name, value, hasValue := args[i], "", false
		if strings.HasPrefix(name, "-") {
			name, value, hasValue = strings.Cut(name, "=")
		}
		takeValue := func() string {
			if !hasValue && i+1 < len(args) {
				i++
				return args[i]
			}
			return value
		}
		switch name {
		case "-c", "--config-path":
			o.configPath = takeValue()
		case "-l", "--log-level":
			o.level = logLevel(takeValue())
		case "--mode":
			o.mode = takeValue()
		case "--version":
			o.version = true
		case "-h", "--help":
			o.help = true
		default:
			o.ignored = append(o.ignored, args[i])
		}
	}
	return o
}

// logLevel maps envoy's log levels onto slog's; unknown ones mean info.
func logLevel(s string) slog.Level {
	switch s {
	case "trace", "debug":
		return slog.LevelDebug
	case "warning", "warn":
		return slog.LevelWarn
	case "error", "critical":
		return slog.LevelError
	case "off":
		return slog.LevelError + 100
	}
	return slog.LevelInfo
}
