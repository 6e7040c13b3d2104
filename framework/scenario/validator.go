package scenario

import (
	"time"
)

// Validator is what an action kind's FaultSpec.Validate reports its problems
// through: every problem is collected with its field path and the line it was read
// from, and the scenario's load or Validate returns them all at once.
type Validator struct{ v *validator }

// Errorf reports a problem at a field path, e.g. "spec.steps[2].fault.nodeLoss.mode".
func (v *Validator) Errorf(path, format string, args ...any) { v.v.errorf(path, format, args...) }

// OneOf reports value unless it is one of allowed.
func (v *Validator) OneOf(path, value string, allowed ...string) { v.v.oneOf(path, value, allowed...) }

// Positive reports a duration that is not positive; it returns whether d was.
func (v *Validator) Positive(path string, d time.Duration) bool { return v.v.positive(path, d) }

// DNSSubdomain reports a name that is not a DNS subdomain (a Kubernetes object
// name); it returns whether s was one.
func (v *Validator) DNSSubdomain(path, s string) bool { return v.v.dnsSubdomain(path, s) }

// DNSName reports a name that cannot be looked up in DNS (a trailing dot is
// allowed); it returns whether s can.
func (v *Validator) DNSName(path, s string) bool { return v.v.dnsName(path, s) }

// Unique reports name when seen already holds it (at another path), and records it.
func (v *Validator) Unique(seen map[string]string, path, name string) { v.v.unique(seen, path, name) }

// ExistingCluster reports whether the scenario runs against an existing cluster
// (spec.cluster.kubeconfig) rather than a kind cluster gameday manages.
func (v *Validator) ExistingCluster() bool { return v.v.s.Spec.Cluster.Kubeconfig != nil }
