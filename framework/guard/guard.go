// Package guard holds the guard rails a run passes before it changes anything in a
// cluster. Check refuses every cluster that is neither a kind cluster gameday manages
// nor a kubeconfig context allowed explicitly, and any cluster that looks like
// production unless that is allowed separately. The runner calls it right after it
// has a cluster handle, before any API call that writes (the run lease included).
//
// SafeString and Describe name a cluster for messages and logs without any credential.
package guard

import (
	"fmt"
	"net/url"
	"path"
	"slices"
	"strings"
	"unicode"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/gameday-dev/gameday/clusters"
)

// Option loosens Check.
type Option func(*options)

type options struct {
	allowProductionLooking bool
}

// AllowProductionLooking lets Check pass a cluster whose context name or server host
// looks like production (see LooksLikeProduction). It does not replace allowing the
// context: a production-looking kubeconfig context needs both.
func AllowProductionLooking() Option {
	return func(o *options) { o.allowProductionLooking = true }
}

// RefusedError is a cluster Check refused, with every reason at once.
type RefusedError struct {
	// Context is the kubeconfig context and Server the API server URL (without
	// credentials).
	Context, Server string
	// Reasons say what is wrong and how to allow it.
	Reasons []string
}

// Error names the context and server and gives every reason.
func (e *RefusedError) Error() string {
	return fmt.Sprintf("refusing to act on context %q (server %s): %s", e.Context, e.Server, strings.Join(e.Reasons, "; "))
}

// Check decides whether a run may act on c. It may when
//   - c is a kind cluster (Provider "kind" and context "kind-<Name>", as the kind
//     provider makes it), or its context is in allowedContexts. allowedContexts must
//     hold only names a person wrote: the context a scenario names together with
//     `kubeconfig.allow: true`, and each `gameday run --allow-context NAME`; never a
//     kubeconfig's current context, so that an existing cluster is not reached
//     through whatever context happens to be current; and
//   - neither its context name nor its server host looks like production (see
//     LooksLikeProduction), unless AllowProductionLooking is given.
//
// Otherwise it returns a *RefusedError naming the context and server and how to allow
// them (`--allow-context`, `--allow-production-looking`: the flags of `gameday run`).
// Check makes no API call, so a caller that checks before its first request sends
// nothing to a refused cluster.
func Check(c *clusters.Cluster, allowedContexts []string, opts ...Option) error {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	if c == nil {
		return fmt.Errorf("refusing to act on a cluster: no cluster given")
	}
	host := ""
	if c.REST != nil {
		host = c.REST.Host
	}
	refused := &RefusedError{Context: c.Context, Server: safeServer(host)}

	allowed := c.Context != "" && slices.Contains(allowedContexts, c.Context)
	isKind := c.Provider == "kind" && c.Name != "" && c.Context == "kind-"+c.Name
	if !isKind && !allowed {
		how := fmt.Sprintf("set kubeconfig.allow: true beside kubeconfig.context: %s in the scenario, or pass --allow-context %s", c.Context, c.Context)
		switch {
		case c.Context == "":
			refused.Reasons = append(refused.Reasons, "the cluster has no kubeconfig context name, so it cannot be allowed")
		case c.Provider == "kind":
			refused.Reasons = append(refused.Reasons, fmt.Sprintf(
				"it claims to be kind cluster %q but its context is not %q (%s)", c.Name, "kind-"+c.Name, how))
		default:
			refused.Reasons = append(refused.Reasons, fmt.Sprintf(
				"it is not a kind cluster and was not allowed explicitly (%s)", how))
		}
	}
	if !o.allowProductionLooking {
		if why, ok := LooksLikeProduction(c.Context, host); ok {
			refused.Reasons = append(refused.Reasons, fmt.Sprintf(
				"%s looks like production (pass --allow-production-looking if this is really meant)", why))
		}
	}
	if len(refused.Reasons) > 0 {
		return refused
	}
	return nil
}

// productionWords are the words that make a name look like production.
var productionWords = []string{"prod", "prd", "production", "live"}

// LooksLikeProduction is the heuristic Check uses. The context name and the server
// URL's host are cut into words at every character that is not a letter (so digits,
// '-', '_', '.', ':' and '/' separate words) and where a lower-case letter is followed
// by an upper-case one ("myProdCluster"). A name looks like production when one of its
// words, case-insensitively, is "prod", "prd", "production" or "live": "eks-prod-eu",
// "gke_acme-prod_europe-west1_main", "prd01", "api.live.example.com" do;
// "product-catalog", "preprod", "nonprod", "olive" and IP addresses do not. It returns
// a phrase saying what matched, for messages.
func LooksLikeProduction(contextName, serverURL string) (why string, ok bool) {
	if w := productionWord(contextName); w != "" {
		return fmt.Sprintf("its context name (%q in %q)", w, contextName), true
	}
	if u, err := url.Parse(serverURL); err == nil && u.Hostname() != "" {
		if w := productionWord(u.Hostname()); w != "" {
			return fmt.Sprintf("its server host (%q in %q)", w, u.Hostname()), true
		}
	}
	return "", false
}

func productionWord(name string) string {
	for _, w := range words(name) {
		if slices.Contains(productionWords, strings.ToLower(w)) {
			return w
		}
	}
	return ""
}

// words cuts a name at non-letters and at lower-to-upper case changes.
func words(name string) []string {
	var out []string
	var cur []rune
	flush := func() {
		if len(cur) > 0 {
			out = append(out, string(cur))
			cur = cur[:0]
		}
	}
	var prev rune
	for _, r := range name {
		switch {
		case !unicode.IsLetter(r):
			flush()
		case unicode.IsUpper(r) && unicode.IsLower(prev):
			flush()
			cur = append(cur, r)
		default:
			cur = append(cur, r)
		}
		prev = r
	}
	flush()
	return out
}

// SafeString describes a client configuration without any credential: the server URL
// (with any user:password in it removed), the kinds of credentials it carries (never
// their values), the basic-auth and impersonated user names, and the exec plugin's
// command name (not its arguments or environment, which may hold secrets).
func SafeString(cfg *rest.Config) string {
	if cfg == nil {
		return "no client configuration"
	}
	parts := []string{"server " + safeServer(cfg.Host)}
	if cfg.TLSClientConfig.Insecure {
		parts = append(parts, "TLS verification off")
	}
	var auth []string
	if cfg.BearerToken != "" {
		auth = append(auth, "bearer token")
	}
	if cfg.BearerTokenFile != "" {
		auth = append(auth, "bearer token file "+cfg.BearerTokenFile)
	}
	switch {
	case cfg.TLSClientConfig.CertFile != "":
		auth = append(auth, "client certificate file "+cfg.TLSClientConfig.CertFile)
	case len(cfg.TLSClientConfig.CertData) > 0 || len(cfg.TLSClientConfig.KeyData) > 0 || cfg.TLSClientConfig.KeyFile != "":
		auth = append(auth, "client certificate")
	}
	if cfg.Username != "" || cfg.Password != "" {
		auth = append(auth, fmt.Sprintf("basic auth as %q", cfg.Username))
	}
	if cfg.ExecProvider != nil {
		auth = append(auth, fmt.Sprintf("exec plugin %q", path.Base(cfg.ExecProvider.Command)))
	}
	if cfg.AuthProvider != nil {
		auth = append(auth, fmt.Sprintf("auth provider %q", cfg.AuthProvider.Name))
	}
	if len(auth) == 0 {
		auth = append(auth, "none")
	}
	parts = append(parts, "auth: "+strings.Join(auth, ", "))
	if cfg.Impersonate.UserName != "" {
		parts = append(parts, fmt.Sprintf("impersonating %q", cfg.Impersonate.UserName))
	}
	return strings.Join(parts, ", ")
}

// safeServer is a server URL without user information, query or fragment.
func safeServer(host string) string {
	if host == "" {
		return "(unknown)"
	}
	u, err := url.Parse(host)
	if err != nil {
		return "(unparsable server URL)"
	}
	u.User = nil
	u.RawQuery, u.Fragment, u.RawFragment = "", "", ""
	return u.String()
}

// Describe names a cluster for messages: provider, context, kubeconfig file and the
// kubeconfig user entry's name, then SafeString of its client configuration. It holds
// no credential.
func Describe(c *clusters.Cluster) string {
	if c == nil {
		return "no cluster"
	}
	parts := []string{fmt.Sprintf("%s cluster %q", c.Provider, c.Name), fmt.Sprintf("context %q", c.Context)}
	if c.KubeconfigPath != "" {
		parts = append(parts, "kubeconfig "+c.KubeconfigPath)
		if user := kubeconfigUser(c.KubeconfigPath, c.Context); user != "" {
			parts = append(parts, fmt.Sprintf("user %q", user))
		}
	}
	return strings.Join(parts, ", ") + ", " + SafeString(c.REST)
}

// kubeconfigUser is the name of the user entry a context uses, or "".
func kubeconfigUser(kubeconfigPath, contextName string) string {
	cfg, err := clientcmd.LoadFromFile(kubeconfigPath)
	if err != nil {
		return ""
	}
	if ctx, ok := cfg.Contexts[contextName]; ok {
		return ctx.AuthInfo
	}
	return ""
}
