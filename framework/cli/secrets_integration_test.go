package cli_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// TestIntegrationNoSecretsInReports plants a Secret in the cluster and runs a game
// day through a kubeconfig whose user is a bearer token, with a run that fails (so
// events and logs are collected too), then shows that neither the token nor the
// Secret's data appears in any file of the run folder or in gameday's output.
func TestIntegrationNoSecretsInReports(t *testing.T) {
	bin := gamedayBinary(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cl, client := sharedCluster(ctx, t)
	root, err := filepath.Abs("../..")
	assert.NilError(t, err)

	// A Secret the harness must never leak.
	secretValue := fmt.Sprintf("gd-planted-secret-%d", time.Now().UnixNano())
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "gameday-secrets-test"}}
	if _, err := client.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	_, err = client.CoreV1().Secrets(ns.Name).Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "planted-"},
		StringData: map[string]string{"password": secretValue},
	}, metav1.CreateOptions{})
	assert.NilError(t, err)

	// A bearer token for a cluster-admin service account, in a kubeconfig of its own.
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "gameday-secrets-test"}}
	if _, err := client.CoreV1().ServiceAccounts(ns.Name).Create(ctx, sa, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	crb := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "gameday-secrets-test"},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "cluster-admin"},
		Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: sa.Name, Namespace: ns.Name}},
	}
	if _, err := client.RbacV1().ClusterRoleBindings().Create(ctx, crb, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	tr, err := client.CoreV1().ServiceAccounts(ns.Name).CreateToken(ctx, sa.Name, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](3600)},
	}, metav1.CreateOptions{})
	assert.NilError(t, err)
	token := tr.Status.Token
	assert.Assert(t, len(token) > 100)

	dir := t.TempDir()
	kubeconfig := filepath.Join(dir, "kubeconfig")
	assert.NilError(t, os.WriteFile(kubeconfig, []byte(fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: e2e
  cluster:
    server: %s
    insecure-skip-tls-verify: true
users:
- name: token-user
  user:
    token: %s
contexts:
- name: e2e-token
  context: {cluster: e2e, user: token-user}
current-context: e2e-token
`, cl.REST.Host, token)), 0o600))
	// The SLO's objective cannot be met through a DNS outage, so the run fails and
	// collects events too.
	scenarioPath := filepath.Join(dir, "scenario.yaml")
	assert.NilError(t, os.WriteFile(scenarioPath, []byte(fmt.Sprintf(`apiVersion: gameday.dev/v1alpha1
kind: Scenario
metadata: {name: no-secrets}
spec:
  cluster:
    kubeconfig: {path: %s, context: e2e-token, allow: true}
  fixtures:
    - path: %s/fixtures/workload
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
`, kubeconfig, root)), 0o644))
	var out bytes.Buffer
	run := exec.CommandContext(ctx, bin, "run", "-v", "3", "--runs-dir", filepath.Join(dir, "runs"), scenarioPath)
	run.Stdout, run.Stderr = &out, &out
	run.Env = append(os.Environ(), "CI=true")
	err = run.Run()
	t.Logf("gameday run (%v):\n%s", err, tail(out.String(), 30))
	assert.Assert(t, err != nil, "the run should fail its DNS objective")

	assert.Assert(t, !strings.Contains(out.String(), token), "the token is in gameday's output")
	assert.Assert(t, !strings.Contains(out.String(), secretValue), "the Secret is in gameday's output")
	files := 0
	err = filepath.Walk(filepath.Join(dir, "runs"), func(path string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		files++
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		assert.Assert(t, !bytes.Contains(b, []byte(token)), "the token is in %s", path)
		assert.Assert(t, !bytes.Contains(b, []byte(token[:40])), "part of the token is in %s", path)
		assert.Assert(t, !bytes.Contains(b, []byte(secretValue)), "the Secret's data is in %s", path)
		return nil
	})
	assert.NilError(t, err)
	assert.Assert(t, files >= 5, "only %d files in the run folder", files)
	t.Logf("checked %d files: no token, no Secret data", files)
}
