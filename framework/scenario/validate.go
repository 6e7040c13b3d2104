package scenario

import (
	"fmt"
	"math"
	"reflect"
	"regexp"
	"strings"
	"time"
)

// maxProbeInterval is the longest probe interval: beyond it MTTD and MTTR lose their meaning.
const maxProbeInterval = 5 * time.Second

// Validate reports every problem in a defaulted scenario as an Errors value, or nil.
// Problems carry field paths, and file and line when the scenario was loaded from a file.
func (s *Scenario) Validate() error {
	errs := s.validate()
	for i := range errs {
		errs[i].File = s.File
	}
	errs.sortByLine()
	return errs.orNil()
}

// validator collects problems, locating each by the line its field path was read from.
type validator struct {
	s    *Scenario
	errs Errors
	// slos and steps index the scenario's SLOs and steps by name, for cross-references.
	slos, steps map[string]int
	// anyFault says whether any step injects a fault.
	anyFault bool
}

func (v *validator) errorf(path, format string, args ...any) {
	v.errs = append(v.errs, FieldError{Line: v.s.lineOf(path), Path: path, Message: fmt.Sprintf(format, args...)})
}

// validate returns the problems in field order, with lines but without the file name.
func (s *Scenario) validate() Errors {
	v := &validator{s: s}
	if s.APIVersion != APIVersion {
		v.errorf("apiVersion", "unsupported apiVersion %s; supported: %s", quote(s.APIVersion), APIVersion)
	}
	if s.Kind != Kind {
		v.errorf("kind", "unsupported kind %s; want %s", quote(s.Kind), Kind)
	}
	v.dnsLabel("metadata.name", s.Metadata.Name)
	s.Spec.validate(v, "spec")
	return v.errs
}

func (spec *Spec) validate(v *validator, path string) {
	v.slos, v.steps = map[string]int{}, map[string]int{}
	for i := range spec.SLOs {
		if _, dup := v.slos[spec.SLOs[i].Name]; !dup {
			v.slos[spec.SLOs[i].Name] = i
		}
	}
	for i := range spec.Steps {
		if _, dup := v.steps[spec.Steps[i].Name]; !dup {
			v.steps[spec.Steps[i].Name] = i
		}
		v.anyFault = v.anyFault || isSet(spec.Steps[i].Fault)
	}

	spec.Cluster.validate(v, path+".cluster")

	fixturePaths := map[string]string{}
	for i, f := range spec.Fixtures {
		p := fmt.Sprintf("%s.fixtures[%d]", path, i)
		if f.Path == "" {
			v.errorf(p+".path", "required: a manifest file or kustomize directory")
		} else if first, dup := fixturePaths[f.Path]; dup {
			v.errorf(p+".path", "%s is already applied by %s", quote(f.Path), first)
		} else {
			fixturePaths[f.Path] = p
		}
		if f.Namespace != "" {
			v.dnsLabel(p+".namespace", f.Namespace)
		}
	}

	if len(spec.SLOs) == 0 {
		v.errorf(path+".slos", "at least one SLO is required: a game day measures something")
	}
	sloNames := map[string]string{}
	for i := range spec.SLOs {
		p := fmt.Sprintf("%s.slos[%d]", path, i)
		spec.SLOs[i].validate(v, p, spec.Scoring.HealthyWindow)
		v.unique(sloNames, p+".name", spec.SLOs[i].Name)
	}

	v.positive(path+".scoring.healthyWindow", spec.Scoring.HealthyWindow)

	if len(spec.Steps) == 0 {
		v.errorf(path+".steps", "at least one step is required")
	}
	stepNames := map[string]string{}
	for i := range spec.Steps {
		p := fmt.Sprintf("%s.steps[%d]", path, i)
		spec.Steps[i].validate(v, p)
		v.unique(stepNames, p+".name", spec.Steps[i].Name)
	}

	expectationNames := map[string]string{}
	for i := range spec.Expectations {
		p := fmt.Sprintf("%s.expectations[%d]", path, i)
		if spec.Expectations[i].Name == "" {
			v.errorf(p+".name", "required")
		} else {
			v.unique(expectationNames, p+".name", spec.Expectations[i].Name)
		}
		spec.Expectations[i].validate(v, p, spec)
	}

	spec.Abort.validate(v, path+".abort", spec)
}

func (c *Cluster) validate(v *validator, path string) {
	switch {
	case c.Kind == nil && c.Kubeconfig == nil:
		v.errorf(path, "must set one of kind or kubeconfig")
	case c.Kind != nil && c.Kubeconfig != nil:
		v.errorf(path, "sets both kind and kubeconfig; set exactly one")
	case c.Kind != nil:
		v.dnsLabel(path+".kind.name", c.Kind.Name)
		if c.Kind.Reuse == nil {
			v.errorf(path+".kind.reuse", "must be true or false")
		}
		if c.Kind.Keep == nil {
			v.errorf(path+".kind.keep", "must be true or false")
		}
	case c.Kubeconfig != nil:
		// Whether the context is allowed (allow: true here, or --allow-context) is the
		// guard's decision at run time; a context must be named either way.
		if c.Kubeconfig.Context == "" {
			v.errorf(path+".kubeconfig.context", "required: name the kubeconfig context to act on; "+
				"gameday never acts on an existing cluster through the kubeconfig's current context")
		}
	}
}

func (slo *SLO) validate(v *validator, path string, healthyWindow time.Duration) {
	v.dnsLabel(path+".name", slo.Name)
	v.fraction(path+".objective", slo.Objective, "e.g. 0.99")
	if v.positive(path+".interval", slo.Interval) {
		if slo.Interval > maxProbeInterval {
			v.errorf(path+".interval", "must be at most %s, got %s", maxProbeInterval, slo.Interval)
		} else if healthyWindow > 0 && slo.Interval > healthyWindow {
			v.errorf(path+".interval", "must not be longer than spec.scoring.healthyWindow (%s), got %s", healthyWindow, slo.Interval)
		}
	}
	v.positive(path+".timeout", slo.Timeout)
	if v.positive(path+".period", slo.Period) && slo.Interval > 0 && slo.Period < slo.Interval {
		v.errorf(path+".period", "must be at least the interval (%s), got %s", slo.Interval, slo.Period)
	}
	if l := slo.Latency; l != nil {
		if v.positive(path+".latency.max", l.Max) && slo.Timeout > 0 && l.Max > slo.Timeout {
			v.errorf(path+".latency.max", "must not be longer than the timeout (%s), got %s: no attempt could be that slow", slo.Timeout, l.Max)
		}
	}
	slo.Probe.validate(v, path+".probe")
}

func (p *Probe) validate(v *validator, path string) {
	set := setFields(p)
	switch {
	case len(set) == 0:
		v.errorf(path, "must set one probe: http, dns, apiServer or workload (apiServer: {} needs no settings)")
		return
	case len(set) > 1:
		v.errorf(path, "sets %s; set exactly one probe", strings.Join(set, " and "))
		return
	}
	switch {
	case p.HTTP != nil:
		h := p.HTTP
		v.namespacedName(path+".http.service", h.Service, "Service")
		if h.Port < 1 || h.Port > 65535 {
			v.errorf(path+".http.port", "must be a port number from 1 to 65535, got %d", h.Port)
		}
		v.urlPath(path+".http.path", h.Path)
		v.oneOf(path+".http.from", string(h.From), string(FromInCluster), string(FromNodeNetwork))
	case p.DNS != nil:
		v.dnsName(path+".dns.name", p.DNS.Name)
		if p.DNS.From != FromInCluster {
			v.errorf(path+".dns.from", "must be %s, got %s (DNS is probed from inside the cluster only)", FromInCluster, quote(string(p.DNS.From)))
		}
	case p.APIServer != nil:
		v.urlPath(path+".apiServer.path", p.APIServer.Path)
	case p.Workload != nil:
		v.namespacedName(path+".workload.deployment", p.Workload.Deployment, "Deployment")
	}
}

func (step *Step) validate(v *validator, path string) {
	v.dnsLabel(path+".name", step.Name)
	set := setFields(step)
	switch {
	case len(set) == 0:
		v.errorf(path, "must set one of steadyState, fault or wait")
	case len(set) > 1:
		v.errorf(path, "sets %s; a step does exactly one of steadyState, fault or wait", strings.Join(set, " and "))
	}
	isFault := isSet(step.Fault)
	switch {
	case isFault && step.Duration == 0:
		v.errorf(path+".duration", "required for a fault step: how long the fault stays before it is reverted")
	case isFault:
		v.positive(path+".duration", step.Duration)
	case step.Duration != 0:
		v.errorf(path+".duration", "only fault steps take a duration; steadyState and wait set their own")
	}
	if step.SteadyState != nil {
		v.positive(path+".steadyState.duration", step.SteadyState.Duration)
	}
	if isFault {
		step.Fault.Validate(&Validator{v: v}, joinPath(path+".fault", step.Fault.FaultKind()))
	}
	if w := step.Wait; w != nil {
		p := path + ".wait"
		switch w.For {
		case WaitForRecovered:
			v.positive(p+".timeout", w.Timeout)
			if w.Duration != 0 {
				v.errorf(p+".duration", "only for: duration takes a duration; for: recovered uses timeout")
			}
		case WaitForDuration:
			v.positive(p+".duration", w.Duration)
			if w.Timeout != 0 {
				v.errorf(p+".timeout", "only for: recovered takes a timeout; for: duration uses duration")
			}
		default:
			v.oneOf(p+".for", string(w.For), string(WaitForRecovered), string(WaitForDuration))
		}
	}
}

func (e *Expectation) validate(v *validator, path string, spec *Spec) {
	if e.SLO == "" {
		v.errorf(path+".slo", "required: the SLO whose results are checked")
	} else if _, ok := v.slos[e.SLO]; !ok {
		v.errorf(path+".slo", "no SLO named %s in spec.slos", quote(e.SLO))
	}
	var step *Step
	if e.Step != "" {
		if i, ok := v.steps[e.Step]; !ok {
			v.errorf(path+".step", "no step named %s in spec.steps", quote(e.Step))
		} else {
			step = &spec.Steps[i]
		}
	}
	if e.MTTR == nil && e.MTTD == nil && e.Availability == nil {
		v.errorf(path, "must set at least one of mttr, mttd or availability")
	}
	for _, l := range []struct {
		name  string
		limit *DurationLimit
	}{{"mttr", e.MTTR}, {"mttd", e.MTTD}} {
		if l.limit == nil {
			continue
		}
		p := path + "." + l.name
		v.positive(p+".max", l.limit.Max)
		switch {
		case step != nil && !isSet(step.Fault):
			v.errorf(p, "needs a fault step, but step %s does not inject a fault", quote(step.Name))
		case e.Step == "" && !v.anyFault:
			v.errorf(p, "needs a fault step, but spec.steps injects no fault")
		case e.Step == "":
			v.errorf(p, "needs step: %s is measured per fault step; set step to one of %s",
				strings.ToUpper(l.name), strings.Join(faultSteps(spec), ", "))
		}
	}
	switch {
	case e.Detection == "":
	case e.MTTD == nil && e.MTTR == nil:
		v.errorf(path+".detection", "only applies to mttd and mttr")
	default:
		v.oneOf(path+".detection", string(e.Detection), string(DetectionRequired), string(DetectionOptional))
	}
	if e.Availability != nil {
		v.fraction(path+".availability.min", e.Availability.Min, "e.g. 0.95")
	}
}

func (a *Abort) validate(v *validator, path string, spec *Spec) {
	if v.positive(path+".timeout", a.Timeout) {
		if planned := spec.PlannedDuration(); a.Timeout < planned {
			v.errorf(path+".timeout", "%s is shorter than the steps take (%s), so every run would abort", a.Timeout, planned)
		}
	}
	for i, c := range a.Conditions {
		p := fmt.Sprintf("%s.conditions[%d]", path, i)
		if c.SLO == "" {
			v.errorf(p+".slo", "required: the SLO watched")
		} else if _, ok := v.slos[c.SLO]; !ok {
			v.errorf(p+".slo", "no SLO named %s in spec.slos", quote(c.SLO))
		}
		if c.FailingFor == 0 {
			v.errorf(p+".failingFor", "required: how long the SLO must fail before the run aborts")
		} else {
			v.positive(p+".failingFor", c.FailingFor)
		}
	}
}

// faultSteps lists the names of the steps that inject a fault.
func faultSteps(spec *Spec) []string {
	var names []string
	for _, step := range spec.Steps {
		if isSet(step.Fault) {
			names = append(names, step.Name)
		}
	}
	return names
}

// isSet reports whether a fault is set: not nil and not a typed nil pointer.
func isSet(f FaultSpec) bool {
	if f == nil {
		return false
	}
	rv := reflect.ValueOf(f)
	return rv.Kind() != reflect.Pointer || !rv.IsNil()
}

// setFields returns the yaml names of the one-of fields set in a Probe or Step.
func setFields(oneOf any) []string {
	var set []string
	switch o := oneOf.(type) {
	case *Probe:
		for _, f := range []struct {
			name string
			set  bool
		}{{"http", o.HTTP != nil}, {"dns", o.DNS != nil}, {"apiServer", o.APIServer != nil}, {"workload", o.Workload != nil}} {
			if f.set {
				set = append(set, f.name)
			}
		}
	case *Step:
		for _, f := range []struct {
			name string
			set  bool
		}{{"steadyState", o.SteadyState != nil}, {"fault", isSet(o.Fault)}, {"wait", o.Wait != nil}} {
			if f.set {
				set = append(set, f.name)
			}
		}
	}
	return set
}

// positive checks that a duration is greater than zero, and reports whether it is.
func (v *validator) positive(path string, d time.Duration) bool {
	if d <= 0 {
		v.errorf(path, "must be greater than 0, got %s", d)
		return false
	}
	return true
}

// fraction checks that x is strictly between 0 and 1.
func (v *validator) fraction(path string, x float64, example string) {
	if !(x > 0 && x < 1) {
		v.errorf(path, "must be greater than 0 and less than 1 (%s), got %s", example, formatFloat(x))
	}
}

func formatFloat(x float64) string {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return fmt.Sprint(x)
	}
	return fmt.Sprintf("%g", x)
}

// oneOf checks that value is one of the allowed values.
func (v *validator) oneOf(path, value string, allowed ...string) {
	for _, a := range allowed {
		if value == a {
			return
		}
	}
	v.errorf(path, "must be one of %s, got %s", strings.Join(allowed, ", "), quote(value))
}

// unique checks that name was not used before in seen, which maps names to paths.
func (v *validator) unique(seen map[string]string, path, name string) {
	if name == "" {
		return
	}
	if first, dup := seen[name]; dup {
		v.errorf(path, "%s is already used by %s", quote(name), first)
		return
	}
	seen[name] = path
}

var (
	dnsLabelPattern = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)
	dnsNameLabel    = regexp.MustCompile(`^[A-Za-z0-9_]([-A-Za-z0-9_]*[A-Za-z0-9_])?$`)
)

// dnsLabel checks an RFC 1123 label, the form of Kubernetes namespace and object names.
func (v *validator) dnsLabel(path, s string) bool {
	if s == "" {
		v.errorf(path, "required")
		return false
	}
	if len(s) > 63 || !dnsLabelPattern.MatchString(s) {
		v.errorf(path, "must be a DNS label (lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63 characters), got %s", quote(s))
		return false
	}
	return true
}

// dnsSubdomain checks an RFC 1123 subdomain, the form of most Kubernetes object names.
func (v *validator) dnsSubdomain(path, s string) bool {
	if s == "" {
		v.errorf(path, "required")
		return false
	}
	ok := len(s) <= 253 && allLabels(s)
	if !ok {
		v.errorf(path, "must be a DNS subdomain (dot-separated DNS labels, at most 253 characters), got %s", quote(s))
	}
	return ok
}

// dnsName checks a name that can be looked up in DNS; a trailing dot is allowed.
func (v *validator) dnsName(path, s string) bool {
	if s == "" {
		v.errorf(path, "required")
		return false
	}
	name := strings.TrimSuffix(s, ".")
	ok := name != "" && len(name) <= 253
	for label := range strings.SplitSeq(name, ".") {
		ok = ok && dnsNameLabel.MatchString(label) && len(label) <= 63
	}
	if !ok {
		v.errorf(path, "must be a DNS name such as workload.gameday-workload.svc.cluster.local, got %s", quote(s))
	}
	return ok
}

// namespacedName checks a "namespace/name" reference to a Kubernetes object.
func (v *validator) namespacedName(path, s, what string) {
	namespace, name, found := strings.Cut(s, "/")
	if !found || !dnsLabelPattern.MatchString(namespace) || len(namespace) > 63 ||
		len(name) > 253 || !allLabels(name) {
		if s == "" {
			v.errorf(path, "required: the %s as namespace/name", what)
			return
		}
		v.errorf(path, "must be a %s as namespace/name, e.g. gameday-workload/workload, got %s", what, quote(s))
	}
}

// allLabels reports whether name is dot-separated DNS labels.
func allLabels(name string) bool {
	for label := range strings.SplitSeq(name, ".") {
		if len(label) > 63 || !dnsLabelPattern.MatchString(label) {
			return false
		}
	}
	return true
}

// urlPath checks an HTTP request path.
func (v *validator) urlPath(path, p string) {
	if !strings.HasPrefix(p, "/") || strings.ContainsAny(p, " \t\r\n") {
		v.errorf(path, "must be an HTTP path starting with /, got %s", quote(p))
	}
}
