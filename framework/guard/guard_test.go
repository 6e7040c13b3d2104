package guard

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
	"k8s.io/client-go/rest"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/gameday-dev/gameday/clusters"
)

func kindCluster(name string) *clusters.Cluster {
	return &clusters.Cluster{
		Name: name, Provider: "kind", Context: "kind-" + name,
		REST: &rest.Config{Host: "https://127.0.0.1:38291"},
	}
}

func existingCluster(context, server string) *clusters.Cluster {
	return &clusters.Cluster{Name: context, Provider: "kubeconfig", Context: context, REST: &rest.Config{Host: server}}
}

func TestCheck(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		cluster *clusters.Cluster
		allowed []string
		opts    []Option
		// wantErr lists what the error must contain; none means Check passes.
		wantErr []string
		// wantReasons is how many reasons the refusal gives.
		wantReasons int
	}{
		{name: "kind cluster", cluster: kindCluster("gameday")},
		{name: "kind cluster with another kind context allowed", cluster: kindCluster("gameday"), allowed: []string{"kind-other"}},
		{
			name:    "kubeconfig context not allowed",
			cluster: existingCluster("staging-eu", "https://10.0.0.1:6443"),
			wantErr: []string{
				`refusing to act on context "staging-eu" (server https://10.0.0.1:6443): it is not a kind cluster and was not allowed explicitly`,
				"set kubeconfig.allow: true beside kubeconfig.context: staging-eu in the scenario, or pass --allow-context staging-eu",
			},
			wantReasons: 1,
		},
		{name: "kubeconfig context allowed", cluster: existingCluster("staging-eu", "https://10.0.0.1:6443"), allowed: []string{"staging-eu"}},
		{
			name:        "another context allowed",
			cluster:     existingCluster("staging-eu", "https://10.0.0.1:6443"),
			allowed:     []string{"staging-us"},
			wantErr:     []string{"--allow-context staging-eu"},
			wantReasons: 1,
		},
		{
			name:    "kind provider with a foreign context",
			cluster: &clusters.Cluster{Name: "gameday", Provider: "kind", Context: "staging-eu", REST: &rest.Config{Host: "https://10.0.0.1:6443"}},
			wantErr: []string{
				`it claims to be kind cluster "gameday" but its context is not "kind-gameday"`,
				"--allow-context staging-eu",
			},
			wantReasons: 1,
		},
		{
			name:        "no context",
			cluster:     existingCluster("", "https://10.0.0.1:6443"),
			allowed:     []string{""},
			wantErr:     []string{"no kubeconfig context name"},
			wantReasons: 1,
		},
		{
			name:    "allowed but production-looking context",
			cluster: existingCluster("eks-prod-eu", "https://10.0.0.1:6443"),
			allowed: []string{"eks-prod-eu"},
			wantErr: []string{
				`its context name ("prod" in "eks-prod-eu") looks like production (pass --allow-production-looking if this is really meant)`,
			},
			wantReasons: 1,
		},
		{
			name:    "allowed and production-looking allowed",
			cluster: existingCluster("eks-prod-eu", "https://10.0.0.1:6443"),
			allowed: []string{"eks-prod-eu"},
			opts:    []Option{AllowProductionLooking()},
		},
		{
			name:        "production-looking allowed does not allow the context",
			cluster:     existingCluster("eks-prod-eu", "https://10.0.0.1:6443"),
			opts:        []Option{AllowProductionLooking()},
			wantErr:     []string{"--allow-context eks-prod-eu"},
			wantReasons: 1,
		},
		{
			name:        "neither allowed: every reason at once",
			cluster:     existingCluster("eks-prod-eu", "https://10.0.0.1:6443"),
			wantErr:     []string{"was not allowed explicitly", "looks like production"},
			wantReasons: 2,
		},
		{
			name:        "production-looking server host",
			cluster:     existingCluster("main", "https://api.live.example.com:443"),
			allowed:     []string{"main"},
			wantErr:     []string{`its server host ("live" in "api.live.example.com") looks like production`},
			wantReasons: 1,
		},
		{
			name:        "kind cluster named like production",
			cluster:     kindCluster("prod"),
			wantErr:     []string{`("prod" in "kind-prod")`},
			wantReasons: 1,
		},
		{name: "kind cluster named like production, allowed", cluster: kindCluster("prod"), opts: []Option{AllowProductionLooking()}},
		{
			name:        "credentials in the server URL are not shown",
			cluster:     existingCluster("staging-eu", "https://admin:SECRET-PASSWORD@10.0.0.1:6443/?token=SECRET-TOKEN"),
			wantErr:     []string{"(server https://10.0.0.1:6443/)"},
			wantReasons: 1,
		},
		{
			name:        "no client configuration",
			cluster:     &clusters.Cluster{Name: "x", Provider: "kubeconfig", Context: "x"},
			wantErr:     []string{`context "x" (server (unknown))`},
			wantReasons: 1,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := Check(tc.cluster, tc.allowed, tc.opts...)
			if len(tc.wantErr) == 0 {
				assert.NilError(t, err)
				return
			}
			var refused *RefusedError
			assert.Assert(t, errors.As(err, &refused), "got %v", err)
			assert.Equal(t, len(refused.Reasons), tc.wantReasons, "reasons: %q", refused.Reasons)
			for _, want := range tc.wantErr {
				assert.ErrorContains(t, err, want)
			}
			assert.Assert(t, !strings.Contains(err.Error(), "SECRET"), err.Error())
		})
	}
}

func TestCheckNilCluster(t *testing.T) {
	t.Parallel()
	assert.ErrorContains(t, Check(nil, nil), "no cluster given")
}

func TestLooksLikeProduction(t *testing.T) {
	t.Parallel()
	tests := []struct {
		context, server string
		want            bool
	}{
		{"eks-prod-eu", "", true},
		{"gke_acme-prod_europe-west1_main", "", true},
		{"arn:aws:eks:eu-west-1:123456789012:cluster/production", "", true},
		{"prd01", "", true},
		{"PROD", "", true},
		{"myProdCluster", "", true},
		{"live", "", true},
		{"staging", "https://api.live.example.com", true},
		{"staging", "https://prod-api.example.com:6443/", true},
		{"kind-gameday", "https://127.0.0.1:38291", false},
		{"product-catalog", "https://products.example.com", false},
		{"preprod", "", false},
		{"nonprod-eu", "", false},
		{"olive", "https://deliver.example.com", false},
		{"staging", "https://10.0.0.1:6443", false},
		{"", "not a url ::", false},
	}
	for _, tc := range tests {
		t.Run(tc.context+" "+tc.server, func(t *testing.T) {
			t.Parallel()
			_, got := LooksLikeProduction(tc.context, tc.server)
			assert.Equal(t, got, tc.want)
		})
	}
}

// secrets are planted in configurations; none may appear in a description.
var secrets = []string{
	"SECRET-BEARER-TOKEN", "SECRET-CLIENT-KEY", "SECRET-CLIENT-CERT", "SECRET-PASSWORD",
	"SECRET-URL-PASSWORD", "SECRET-QUERY", "SECRET-EXEC-ARG", "SECRET-EXEC-ENV", "SECRET-OIDC-TOKEN",
}

func plantedConfig() *rest.Config {
	return &rest.Config{
		Host:        "https://admin:SECRET-URL-PASSWORD@api.staging.example.com:6443/?access_token=SECRET-QUERY",
		BearerToken: "SECRET-BEARER-TOKEN",
		Username:    "admin",
		Password:    "SECRET-PASSWORD",
		TLSClientConfig: rest.TLSClientConfig{
			KeyData:  []byte("-----BEGIN EC PRIVATE KEY-----\nSECRET-CLIENT-KEY\n-----END EC PRIVATE KEY-----"),
			CertData: []byte("SECRET-CLIENT-CERT"),
			CAData:   []byte("public CA"),
		},
		ExecProvider: &clientcmdapi.ExecConfig{
			Command: "/usr/local/bin/aws",
			Args:    []string{"eks", "get-token", "--token=SECRET-EXEC-ARG"},
			Env:     []clientcmdapi.ExecEnvVar{{Name: "AWS_SECRET_ACCESS_KEY", Value: "SECRET-EXEC-ENV"}},
		},
		AuthProvider: &clientcmdapi.AuthProviderConfig{Name: "oidc", Config: map[string]string{"id-token": "SECRET-OIDC-TOKEN"}},
		Impersonate:  rest.ImpersonationConfig{UserName: "alice"},
	}
}

func TestSafeStringHidesCredentials(t *testing.T) {
	t.Parallel()
	got := SafeString(plantedConfig())
	for _, s := range secrets {
		assert.Assert(t, !strings.Contains(got, s), "%s leaked: %s", s, got)
	}
	assert.Equal(t, got, `server https://api.staging.example.com:6443/, `+
		`auth: bearer token, client certificate, basic auth as "admin", exec plugin "aws", auth provider "oidc", `+
		`impersonating "alice"`)
}

func TestSafeString(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  *rest.Config
		want string
	}{
		{name: "nil", want: "no client configuration"},
		{name: "no credentials", cfg: &rest.Config{Host: "https://127.0.0.1:6443"}, want: "server https://127.0.0.1:6443, auth: none"},
		{
			name: "files are named",
			cfg: &rest.Config{
				Host: "https://127.0.0.1:6443", BearerTokenFile: "/var/run/secrets/token",
				TLSClientConfig: rest.TLSClientConfig{Insecure: true, CertFile: "/etc/k/client.crt", KeyFile: "/etc/k/client.key"},
			},
			want: "server https://127.0.0.1:6443, TLS verification off, auth: bearer token file /var/run/secrets/token, client certificate file /etc/k/client.crt",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, SafeString(tc.cfg), tc.want)
		})
	}
}

func TestDescribe(t *testing.T) {
	t.Parallel()
	kubeconfig := filepath.Join(t.TempDir(), "config")
	assert.NilError(t, os.WriteFile(kubeconfig, []byte(`apiVersion: v1
kind: Config
clusters:
- name: staging
  cluster: {server: "https://api.staging.example.com:6443"}
users:
- name: staging-admin
  user: {token: SECRET-BEARER-TOKEN, password: SECRET-PASSWORD}
contexts:
- name: staging-eu
  context: {cluster: staging, user: staging-admin}
current-context: staging-eu
`), 0o600))
	c := &clusters.Cluster{Name: "staging-eu", Provider: "kubeconfig", KubeconfigPath: kubeconfig, Context: "staging-eu", REST: plantedConfig()}
	got := Describe(c)
	for _, s := range secrets {
		assert.Assert(t, !strings.Contains(got, s), "%s leaked: %s", s, got)
	}
	assert.Assert(t, is.Contains(got, `kubeconfig cluster "staging-eu", context "staging-eu", kubeconfig `+kubeconfig+`, user "staging-admin", server https://api.staging.example.com:6443/`))
	assert.Equal(t, Describe(nil), "no cluster")
}
