package reports

import (
	"regexp"
	"slices"
)

// Redacted replaces a secret that Redact found.
const Redacted = "[REDACTED]"

// redactions are applied in order; each keeps what names the secret and drops the secret.
var redactions = []struct {
	pattern     *regexp.Regexp
	replacement string
}{
	// PEM blocks: certificates and private keys pasted into an error or a log.
	{regexp.MustCompile(`-----BEGIN [A-Z0-9 ]+-----[\s\S]*?(-----END [A-Z0-9 ]+-----|$)`), Redacted},
	// kubeconfig data fields: client-key-data, client-certificate-data, certificate-authority-data.
	{regexp.MustCompile(`(?i)((?:client-key|client-certificate|certificate-authority)-data["']?\s*[:=]\s*["']?)[A-Za-z0-9+/=_-]+`), "${1}" + Redacted},
	// Authorization headers and bare bearer tokens.
	{regexp.MustCompile(`(?i)(\bbearer\s+)[A-Za-z0-9\-._~+/]+=*`), "${1}" + Redacted},
	// token: / token= / "token": and friends (id-token, refresh-token, access_token), passwords and secrets.
	{regexp.MustCompile(`(?i)(\b[a-z0-9_-]*(?:token|password|passwd|secret)["']?\s*[:=]\s*["']?)[^\s"',;}]+`), "${1}" + Redacted},
	// JSON Web Tokens (service account tokens) wherever they appear.
	{regexp.MustCompile(`\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*`), Redacted},
}

// Redact scrubs credentials from free text such as error messages and log
// excerpts: bearer tokens, "token:" style fields, kubeconfig client-key-data and
// certificate data, PEM blocks and JSON Web Tokens.
func Redact(text string) string {
	for _, r := range redactions {
		text = r.pattern.ReplaceAllString(text, r.replacement)
	}
	return text
}

// redacted returns a copy of r with every free-text field scrubbed by Redact and
// every nil list made empty, so that the JSON matches the schema.
func redacted(r *Report) *Report {
	c := *r
	c.Scenario.Description = Redact(c.Scenario.Description)
	c.AbortReason = Redact(c.AbortReason)
	c.Error = Redact(c.Error)
	c.Cluster.Nodes = nonNil(slices.Clone(c.Cluster.Nodes))
	c.Steps = nonNil(slices.Clone(c.Steps))
	for i := range c.Steps {
		c.Steps[i].Error = Redact(c.Steps[i].Error)
	}
	c.SLOs = nonNil(slices.Clone(c.SLOs))
	for i := range c.SLOs {
		slo := &c.SLOs[i]
		slo.Result.Disruptions = nonNil(slices.Clone(slo.Result.Disruptions))
		for j := range slo.Result.Disruptions {
			slo.Result.Disruptions[j].FirstError = Redact(slo.Result.Disruptions[j].FirstError)
		}
		slo.Result.NoData = nonNil(slo.Result.NoData)
		slo.Result.Faults = nonNil(slo.Result.Faults)
		slo.Samples.Transitions = nonNil(slices.Clone(slo.Samples.Transitions))
		for j := range slo.Samples.Transitions {
			slo.Samples.Transitions[j].Error = Redact(slo.Samples.Transitions[j].Error)
		}
		buckets := &slo.Samples.Buckets
		buckets.Samples, buckets.Failed = nonNil(buckets.Samples), nonNil(buckets.Failed)
		buckets.MeanLatency, buckets.MaxLatency = nonNil(buckets.MeanLatency), nonNil(buckets.MaxLatency)
	}
	c.Expectations = nonNil(slices.Clone(c.Expectations))
	for i := range c.Expectations {
		c.Expectations[i].Message = Redact(c.Expectations[i].Message)
	}
	c.Observations = nonNil(slices.Clone(c.Observations))
	for i := range c.Observations {
		c.Observations[i].Detail = Redact(c.Observations[i].Detail)
	}
	c.Figures = slices.Clone(c.Figures) // left nil when empty: the field is optional
	for i := range c.Figures {
		c.Figures[i].Detail = Redact(c.Figures[i].Detail)
	}
	c.Logs = nonNil(c.Logs)
	return &c
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
