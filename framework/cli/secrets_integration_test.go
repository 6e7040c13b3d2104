package cli_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/gameday-dev/gameday/clusters"
	"github.com/gameday-dev/gameday/framework/lifecycle"
	"github.com/gameday-dev/gameday/reports"
)

// secretsScenario fails its DNS objective (so events and node logs are collected)
// and applies the workload and the Secret-reading fixture. %s: the cluster block,
// the repository root, the planted fixture's directory.
const secretsScenario = `apiVersion: gameday.dev/v1alpha1
kind: Scenario
metadata: {name: no-secrets}
spec:
  cluster:
    %s
  fixtures:
    - path: %s/fixtures/workload
    - path: %s
  slos:
    - name: dns
      objective: 0.99999
      probe:
        dns: {name: workload.gameday-workload.svc.cluster.local}
  steps:
    - name: steady
      steadyState: {duration: 3s}
    - name: dns-down
      duration: 10s
      fault:
        dnsOutage: {mode: scaleDown}
    - name: settle
      wait: {for: recovered, timeout: 2m}
`

// TestIntegrationNoSecretsInReports plants two secrets that gameday handles and
// shows that neither reaches any of its outputs:
//
//   - a Secret with a random value in a fixture (fixtures/workload-secret) that
//     gameday applies, whose Deployment takes it as an environment variable and a
//     mounted file, so the API server, the kubelet and the container runtime all
//     handle it;
//   - a random bearer token in the user of the kubeconfig gameday runs through (a
//     copy of the kind kubeconfig: the API server still accepts its client
//     certificate, and client-go sends the token with every request).
//
// Two runs, each failing its DNS objective so that events (both) and kind's node
// logs (the kind run) are collected, with -v 3 and stdout and stderr captured (live
// progress for one, plain for the other). Every file of both run folders (reports,
// JUnit, journal, events, node logs) and both captured streams are searched for the
// values, their random parts and their base64 forms. The records gameday keeps in
// the cluster while a fault is in place (Secrets in gameday-system) are captured
// during the runs, and must not appear anywhere but the journal.
func TestIntegrationNoSecretsInReports(t *testing.T) {
	bin := gamedayBinary(t)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	cl, client := sharedCluster(ctx, t)
	root, err := filepath.Abs("../..")
	assert.NilError(t, err)
	dir := t.TempDir()

	secretRandom, tokenRandom := randomHex(t), randomHex(t)
	secretValue := "gd-planted-secret-" + secretRandom
	token := "gd-planted-token-" + tokenRandom
	fixture := plantSecretFixture(t, root, dir, secretValue)
	kubeconfig := tokenKubeconfig(ctx, t, cl, dir, token)
	records := captureRecords(ctx, t, client)

	needles := map[string]string{
		"the planted Secret's value":           secretValue,
		"the planted Secret's random part":     secretRandom,
		"the planted Secret's value in base64": base64.StdEncoding.EncodeToString([]byte(secretValue)),
		"the kubeconfig token":                 token,
		"the kubeconfig token's random part":   tokenRandom,
		"the kubeconfig token in base64":       base64.StdEncoding.EncodeToString([]byte(token)),
	}
	outputs := map[string][]byte{} // what gameday wrote, by where
	runs := []struct {
		name, cluster string
		args          []string
	}{
		{
			name:    "kind",
			cluster: fmt.Sprintf("kind: {name: %s, config: %s/clusters/kind/1cp-2w.yaml, reuse: true, keep: true}", crashCluster, root),
			args:    []string{"--progress", "live"},
		},
		{
			name:    "kubeconfig",
			cluster: fmt.Sprintf("kubeconfig: {path: %s, context: planted-token, allow: true}", kubeconfig),
			args:    []string{"--progress", "plain"},
		},
	}
	for _, r := range runs {
		scenarioPath := filepath.Join(dir, r.name+".yaml")
		assert.NilError(t, os.WriteFile(scenarioPath, []byte(fmt.Sprintf(secretsScenario, r.cluster, root, fixture)), 0o644))
		runsDir := filepath.Join(dir, "runs-"+r.name)
		var stdout, stderr bytes.Buffer
		args := append([]string{"run", "-v", "3", "--runs-dir", runsDir}, r.args...)
		cmd := exec.CommandContext(ctx, bin, append(args, scenarioPath)...)
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		cmd.Env = append(os.Environ(), "CI=true")
		start := time.Now()
		err := cmd.Run()
		t.Logf("%s run (%v, %s):\n%s", r.name, err, time.Since(start).Round(time.Second), tail(stdout.String()+stderr.String(), 30))
		var exit *exec.ExitError
		assert.Assert(t, errors.As(err, &exit) && exit.ExitCode() == 1, "%s run: want exit code 1 (DNS objective breached), got %v", r.name, err)
		// Progress and -v log lines go to stdout while a run shows its progress
		// (above the live view, or between plain lines); warnings and errors may go
		// to stderr. Both streams are searched below, whichever is empty.
		assert.Assert(t, stdout.Len() > 0, "%s run: nothing on stdout", r.name)
		outputs[r.name+" run: stdout"] = stdout.Bytes()
		outputs[r.name+" run: stderr"] = stderr.Bytes()
		files := readTree(t, runsDir)
		for _, want := range []string{reports.JSONFile, reports.MarkdownFile, reports.HTMLFile, reports.JUnitFile, "journal.jsonl", "events.txt"} {
			assert.Assert(t, hasFile(files, want), "%s run: no %s among %v", r.name, want, sortedNames(files))
		}
		if r.name == "kind" {
			assert.Assert(t, hasFile(files, "kubelet.log"), "kind run: no node logs collected among %v", sortedNames(files))
		}
		for path, b := range files {
			outputs[r.name+" run: "+path] = b
		}
	}
	// Both runs had -v 3 in effect: whatever it adds (kind's status lines when the
	// cluster is created, the journal's debug messages) is in the streams searched
	// below. What it prints depends on whether the cluster already existed, so the
	// test does not insist on a particular line.

	recs := records()
	assert.Assert(t, len(recs) >= 2, "saw %d record Secrets during the two runs", len(recs))
	for i, rec := range recs {
		needles[fmt.Sprintf("stored record %d", i+1)] = rec
		needles[fmt.Sprintf("stored record %d in base64", i+1)] = base64.StdEncoding.EncodeToString([]byte(rec))
	}

	searched := 0
	for where, b := range outputs {
		searched++
		for what, needle := range needles {
			if strings.HasPrefix(what, "stored record") && strings.HasSuffix(where, "journal.jsonl") {
				continue // the journal is where restore data belongs
			}
			assert.Assert(t, !bytes.Contains(b, []byte(needle)), "%s is in %s", what, where)
		}
	}
	t.Logf("searched %d outputs (%d bytes of node logs among them) for %d planted values: none found", searched, logBytes(outputs), len(needles))
}

func randomHex(t *testing.T) string {
	b := make([]byte, 16)
	_, err := rand.Read(b)
	assert.NilError(t, err)
	return hex.EncodeToString(b)
}

// plantSecretFixture copies fixtures/workload-secret into dir with the Secret's
// placeholder replaced by value, and returns the copy's path.
func plantSecretFixture(t *testing.T, root, dir, value string) string {
	t.Helper()
	src := filepath.Join(root, "fixtures", "workload-secret")
	dst := filepath.Join(dir, "workload-secret")
	assert.NilError(t, os.MkdirAll(dst, 0o755))
	entries, err := os.ReadDir(src)
	assert.NilError(t, err)
	planted := false
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		assert.NilError(t, err)
		if bytes.Contains(b, []byte("PLANTED-SECRET-VALUE")) {
			planted = true
			b = bytes.ReplaceAll(b, []byte("PLANTED-SECRET-VALUE"), []byte(value))
		}
		assert.NilError(t, os.WriteFile(filepath.Join(dst, e.Name()), b, 0o644))
	}
	assert.Assert(t, planted, "no PLANTED-SECRET-VALUE placeholder in %s", src)
	return dst
}

// tokenKubeconfig writes a copy of the kind cluster's kubeconfig whose user also
// has a bearer token, as context "planted-token", and checks that client-go loads
// the token and the API server still accepts the user.
func tokenKubeconfig(ctx context.Context, t *testing.T, cl *clusters.Cluster, dir, token string) string {
	t.Helper()
	cfg, err := clientcmd.LoadFromFile(cl.KubeconfigPath)
	assert.NilError(t, err)
	kctx := cfg.Contexts[cl.Context]
	assert.Assert(t, kctx != nil, "no context %s in %s", cl.Context, cl.KubeconfigPath)
	user := cfg.AuthInfos[kctx.AuthInfo].DeepCopy()
	user.Token = token
	cfg.AuthInfos["planted-token"] = user
	c := kctx.DeepCopy()
	c.AuthInfo = "planted-token"
	cfg.Contexts["planted-token"] = c
	cfg.CurrentContext = "planted-token"
	path := filepath.Join(dir, "kubeconfig")
	assert.NilError(t, clientcmd.WriteToFile(*cfg, path))

	rest, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(
		&clientcmd.ClientConfigLoadingRules{ExplicitPath: path}, &clientcmd.ConfigOverrides{CurrentContext: "planted-token"}).ClientConfig()
	assert.NilError(t, err)
	assert.Equal(t, rest.BearerToken, token)
	client, err := kubernetes.NewForConfig(rest)
	assert.NilError(t, err)
	_, err = client.CoreV1().Namespaces().Get(ctx, "default", metav1.GetOptions{})
	assert.NilError(t, err, "the API server refuses the kubeconfig with the planted token")
	return path
}

// captureRecords watches the record Secrets gameday keeps in the cluster until the
// returned func is called, and returns the distinct record JSONs it saw.
func captureRecords(ctx context.Context, t *testing.T, client kubernetes.Interface) func() []string {
	ctx, cancel := context.WithCancel(ctx)
	var mu sync.Mutex
	seen := map[string]bool{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			list, err := client.CoreV1().Secrets(lifecycle.DefaultNamespace).List(ctx, metav1.ListOptions{LabelSelector: lifecycle.RecordLabel + "=true"})
			if err == nil {
				mu.Lock()
				for _, s := range list.Items {
					if rec := string(s.Data[lifecycle.RecordKey]); rec != "" {
						seen[rec] = true
					}
				}
				mu.Unlock()
			}
			select {
			case <-ctx.Done():
			case <-time.After(250 * time.Millisecond):
			}
		}
	}()
	stop := func() []string {
		cancel()
		<-done
		mu.Lock()
		defer mu.Unlock()
		out := make([]string, 0, len(seen))
		for r := range seen {
			out = append(out, r)
		}
		sort.Strings(out)
		return out
	}
	t.Cleanup(func() { stop() })
	return stop
}

// readTree reads every file under dir, by path relative to it.
func readTree(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	err := filepath.Walk(dir, func(path string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		files[rel] = b
		return nil
	})
	assert.NilError(t, err)
	return files
}

func hasFile(files map[string][]byte, base string) bool {
	for p := range files {
		if filepath.Base(p) == base {
			return true
		}
	}
	return false
}

func sortedNames(files map[string][]byte) []string {
	out := make([]string, 0, len(files))
	for p := range files {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

func logBytes(outputs map[string][]byte) int {
	n := 0
	for where, b := range outputs {
		if strings.Contains(where, "/logs/") || strings.Contains(where, " logs/") {
			n += len(b)
		}
	}
	return n
}
