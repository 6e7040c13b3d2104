package probe

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// WorkloadConfig configures a workload readiness probe.
type WorkloadConfig struct {
	Name       string               // probe name, carried by every Sample
	Client     kubernetes.Interface // see NewClientset for one that never waits on a rate limiter
	Namespace  string
	Deployment string
	Interval   time.Duration // time between attempt starts; 0 means DefaultInterval
	Timeout    time.Duration // limit for one GET; 0 means DefaultTimeout
}

// Workload is a probe that reads a Deployment and is OK when status.readyReplicas equals
// spec.replicas; otherwise the error says how many are ready ("2/3 replicas ready").
//
// PATH: harness → API server → etcd (a quorum read) for the Deployment's status, which the
// deployment controller in kube-controller-manager derives from pod readiness reported by
// each pod's kubelet. It measures what the control plane believes, not what clients get: it
// fails during an API server or etcd outage even while the pods serve, and lags a node loss
// until the node is marked NotReady. Pair it with an HTTP probe for the data path.
type Workload struct {
	cfg WorkloadConfig
}

// NewWorkload validates cfg and returns the probe.
func NewWorkload(cfg WorkloadConfig) (*Workload, error) {
	var errs []error
	if cfg.Name == "" {
		errs = append(errs, errors.New("name is required"))
	}
	if cfg.Client == nil {
		errs = append(errs, errors.New("client is required"))
	}
	if cfg.Namespace == "" {
		errs = append(errs, errors.New("namespace is required"))
	}
	if cfg.Deployment == "" {
		errs = append(errs, errors.New("deployment is required"))
	}
	if err := validateTiming(cfg.Interval, cfg.Timeout); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("workload probe %q: %w", cfg.Name, err)
	}
	cfg.Interval, cfg.Timeout = withDefaults(cfg.Interval, cfg.Timeout)
	return &Workload{cfg: cfg}, nil
}

// Name returns the probe's name.
func (p *Workload) Name() string { return p.cfg.Name }

// Run reads the Deployment every interval until ctx ends; see Probe.
func (p *Workload) Run(ctx context.Context, emit func(Sample)) error {
	return runSchedule(ctx, p.cfg.Name, p.cfg.Interval, p.cfg.Timeout, p.attempt, emit)
}

func (p *Workload) attempt(ctx context.Context) error {
	d, err := p.cfg.Client.AppsV1().Deployments(p.cfg.Namespace).Get(ctx, p.cfg.Deployment, metav1.GetOptions{})
	if err != nil {
		var netErr net.Error
		if ctx.Err() != nil || apierrors.IsTimeout(err) || (errors.As(err, &netErr) && netErr.Timeout()) {
			return timeoutError(p.cfg.Timeout, "reading deployment "+p.cfg.Namespace+"/"+p.cfg.Deployment)
		}
		return fmt.Errorf("get deployment %s/%s: %w", p.cfg.Namespace, p.cfg.Deployment, err)
	}
	want := int32(1)
	if d.Spec.Replicas != nil {
		want = *d.Spec.Replicas
	}
	if d.Status.ReadyReplicas != want {
		return fmt.Errorf("%d/%d replicas ready", d.Status.ReadyReplicas, want)
	}
	return nil
}

// NewClientset returns a clientset for harness-side probes: a copy of restConfig with
// client-side rate limiting off and a transport of its own, so probe requests never wait
// behind the harness's other requests or share their connections.
func NewClientset(restConfig *rest.Config) (*kubernetes.Clientset, error) {
	cfg := rest.CopyConfig(restConfig)
	cfg.QPS = -1 // negative disables client-go's token bucket
	cfg.RateLimiter = nil
	if cfg.Dial == nil {
		// A custom dialer keeps client-go from sharing a cached transport with other clients.
		cfg.Dial = (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("probe clientset: %w", err)
	}
	return cs, nil
}

// Timing returns the interval and timeout the probe runs at, defaults applied.
func (p *Workload) Timing() Timing { return Timing{Interval: p.cfg.Interval, Timeout: p.cfg.Timeout} }
