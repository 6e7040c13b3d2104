package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

// mainArgsEnv makes the test binary run main with these (space-separated)
// arguments instead of the tests: TestSignalExit runs the real program that way.
const mainArgsEnv = "KINDLB_TEST_MAIN_ARGS"

func TestMain(m *testing.M) {
	if args, ok := os.LookupEnv(mainArgsEnv); ok {
		os.Args = append([]string{"envoy"}, strings.Fields(args)...)
		main() // exits
	}
	os.Exit(m.Run())
}

func TestParseArgs(t *testing.T) {
	t.Parallel()
	cases := []struct {
		args []string
		want options
	}{
		{[]string{"-c", "/home/envoy/envoy.yaml"}, options{configPath: "/home/envoy/envoy.yaml"}},
		{[]string{"--config-path=/e.yaml", "-l", "debug"}, options{configPath: "/e.yaml", level: slog.LevelDebug}},
		{[]string{"--base-id", "3", "-c", "e.yaml", "--log-level=warning", "--concurrency", "2", "--unknown"},
			options{configPath: "e.yaml", level: slog.LevelWarn, ignored: []string{"--base-id", "3", "--concurrency", "2", "--unknown"}}},
		{[]string{"-l=off", "--mode", "validate", "-c"}, options{level: slog.LevelError + 100, mode: "validate"}},
		{[]string{"--version", "-c", "x"}, options{configPath: "x", version: true}},
		{[]string{"-h"}, options{help: true}},
		{[]string{"-l", "trace"}, options{level: slog.LevelDebug}},
		{nil, options{}},
	}
	for _, tc := range cases {
		got := parseArgs(tc.args)
		assert.Check(t, reflect.DeepEqual(got, tc.want), "%q: got %+v, want %+v", tc.args, got, tc.want)
	}
}

func TestRunExits(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	bootstrap := func(name, content string) string {
		p := filepath.Join(dir, name)
		assert.NilError(t, os.WriteFile(p, []byte(content), 0o644))
		return p
	}
	good := bootstrap("good.yaml", strings.ReplaceAll(readTestdata(t, "kind-bootstrap.yaml"), "/home/envoy", dir))
	noLDS := bootstrap("nolds.yaml", strings.Replace(readTestdata(t, "kind-bootstrap.yaml"), "path: /home/envoy/lds.yaml", "path: ''", 1))
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	assert.NilError(t, err)
	t.Cleanup(func() { busy.Close() })
	_, busyPort, _ := net.SplitHostPort(busy.Addr().String())
	adminBusy := bootstrap("busy.yaml", strings.Replace(strings.Replace(readTestdata(t, "kind-bootstrap.yaml"),
		"port_value: 10000", "port_value: "+busyPort, 1), "address: 0.0.0.0", "address: 127.0.0.1", 1))

	cases := []struct {
		name           string
		args           []string
		code           int
		stdout, stderr string
	}{
		{"version", []string{"--version"}, 0, "gameday kindlb/1 (envoy-compatible subset", ""},
		{"help", []string{"--help"}, 0, "usage: envoy -c BOOTSTRAP", ""},
		{"no config", []string{"-l", "info"}, 1, "", "no bootstrap configuration"},
		{"missing file", []string{"-c", filepath.Join(dir, "absent.yaml")}, 1, "", "absent.yaml: no such file"},
		{"bad bootstrap", []string{"-c", noLDS}, 1, "", noLDS + ": dynamic_resources.lds_config.path_config_source.path: required"},
		{"validate", []string{"--mode", "validate", "-c", good}, 0, "configuration '" + good + "' OK", ""},
		{"admin port taken", []string{"-c", adminBusy}, 1, "", "admin.address: listen tcp 127.0.0.1:" + busyPort},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), tc.args, &stdout, &stderr)
			assert.Check(t, is.Equal(code, tc.code))
			assert.Check(t, is.Contains(stdout.String(), tc.stdout))
			assert.Check(t, is.Contains(stderr.String(), tc.stderr))
		})
	}
}

// TestSignalExit runs the program as kind does (with an admin address of its own)
// and stops it with SIGTERM, which must exit 0.
func TestSignalExit(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg := strings.ReplaceAll(readTestdata(t, "kind-bootstrap.yaml"), "/home/envoy", dir)
	cfg = strings.Replace(strings.Replace(cfg, "port_value: 10000", "port_value: 0", 1), "address: 0.0.0.0", "address: 127.0.0.1", 1)
	path := filepath.Join(dir, "envoy.yaml")
	assert.NilError(t, os.WriteFile(path, []byte(cfg), 0o644))
	for _, name := range []string{"cds.yaml", "lds.yaml"} { // as kind's bootstrap command does
		assert.NilError(t, os.WriteFile(filepath.Join(dir, name), []byte("resources: []"), 0o644))
	}

	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), mainArgsEnv+"=-c "+path+" -l info --base-id 1")
	stdout, err := cmd.StdoutPipe()
	assert.NilError(t, err)
	stderr := &syncBuffer{}
	cmd.Stderr = stderr
	assert.NilError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill() })

	lines := make(chan string)
	go func() {
		s := bufio.NewScanner(stdout)
		for s.Scan() {
			lines <- s.Text()
		}
		close(lines)
	}()
	// The "started" line names the admin address the kernel picked.
	admin := ""
	for admin == "" {
		select {
		case line, ok := <-lines:
			assert.Assert(t, ok, "exited before starting: %s", stderr.String())
			if m := regexp.MustCompile(`msg=started .* admin=(\S+)`).FindStringSubmatch(line); m != nil {
				admin = m[1]
			}
		case <-time.After(waitTimeout):
			t.Fatal("no started line")
		}
	}
	resp, err := http.Get("http://" + admin + "/ready")
	assert.NilError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Check(t, is.Equal(string(body), "LIVE\n"))

	assert.NilError(t, cmd.Process.Signal(syscall.SIGTERM))
	var rest []string
	for line := range lines {
		rest = append(rest, line)
	}
	assert.NilError(t, cmd.Wait(), "stderr: %s", stderr.String())
	assert.Check(t, is.Contains(strings.Join(rest, "\n"), `msg="shutting down"`))
}
