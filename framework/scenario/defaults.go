package scenario

import "time"

// Defaults for fields left unset. Every default of the scenario API is applied here.
const (
	defaultKindClusterName = "gameday"
	defaultProbeInterval   = 250 * time.Millisecond
	defaultProbeTimeout    = time.Second
	defaultHTTPPath        = "/"
	defaultAPIServerPath   = "/readyz"
	defaultHealthyWindow   = 10 * time.Second
	defaultRecoveryTimeout = 5 * time.Minute
	defaultAbortTimeout    = time.Hour
	defaultSLOPeriod       = 30 * 24 * time.Hour
)

// Default fills in every unset field that has a default. It is idempotent, and Load calls
// it before validating; call it on a scenario built in code before Validate.
func (s *Scenario) Default() {
	if s.APIVersion == "" {
		s.APIVersion = APIVersion
	}
	if s.Kind == "" {
		s.Kind = Kind
	}
	s.Spec.Cluster.setDefaults()
	for i := range s.Spec.SLOs {
		s.Spec.SLOs[i].setDefaults()
	}
	if s.Spec.Scoring.HealthyWindow == 0 {
		s.Spec.Scoring.HealthyWindow = defaultHealthyWindow
	}
	for i := range s.Spec.Steps {
		s.Spec.Steps[i].setDefaults()
	}
	for i := range s.Spec.Expectations {
		e := &s.Spec.Expectations[i]
		if e.Detection == "" && (e.MTTD != nil || e.MTTR != nil) {
			e.Detection = DetectionRequired
		}
	}
	if s.Spec.Abort.Timeout == 0 {
		s.Spec.Abort.Timeout = defaultAbortTimeout
	}
}

func (c *Cluster) setDefaults() {
	if c.Kind == nil && c.Kubeconfig == nil {
		c.Kind = &KindCluster{}
	}
	if k := c.Kind; k != nil {
		if k.Name == "" {
			k.Name = defaultKindClusterName
		}
		if k.Reuse == nil {
			k.Reuse = new(true)
		}
		if k.Keep == nil {
			k.Keep = new(true)
		}
	}
}

func (slo *SLO) setDefaults() {
	if slo.Interval == 0 {
		slo.Interval = defaultProbeInterval
	}
	if slo.Timeout == 0 {
		slo.Timeout = defaultProbeTimeout
	}
	if slo.Period == 0 {
		slo.Period = defaultSLOPeriod
	}
	if p := slo.Probe.HTTP; p != nil {
		if p.Path == "" {
			p.Path = defaultHTTPPath
		}
		if p.From == "" {
			p.From = FromInCluster
		}
	}
	if p := slo.Probe.DNS; p != nil && p.From == "" {
		p.From = FromInCluster
	}
	if p := slo.Probe.APIServer; p != nil && p.Path == "" {
		p.Path = defaultAPIServerPath
	}
}

func (step *Step) setDefaults() {
	if isSet(step.Fault) {
		step.Fault.SetDefaults()
	}
	if w := step.Wait; w != nil {
		if w.For == "" {
			w.For = WaitForRecovered
			if w.Duration != 0 {
				w.For = WaitForDuration
			}
		}
		if w.For == WaitForRecovered && w.Timeout == 0 {
			w.Timeout = defaultRecoveryTimeout
		}
	}
}
