// Package dnsoutage implements the dnsOutage fault: cluster DNS (CoreDNS in
// kube-system) stops answering.
//
//   - scaleDown: the CoreDNS Deployment is scaled to zero; recovery restores the
//     saved replica count. Lookups fail within a second or two (endpoints go away).
//   - servfail: the Corefile gets a server block per name that answers SERVFAIL;
//     recovery restores the saved Corefile byte for byte. CoreDNS's reload plugin
//     and the kubelet's ConfigMap sync decide when the change takes effect (often
//     30-90 s): that delay is part of what the game day measures.
//
// The saved state travels in the fault record (the run's journal and a
// gameday-owned Secret in the cluster); the gameday.dev/fault annotation on the
// changed object only refers to it.
package dnsoutage

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/gameday-dev/gameday/framework/fault"
	"github.com/gameday-dev/gameday/framework/scenario"
)

// Kind is the fault kind this package registers.
const Kind = "dnsOutage"

// Where CoreDNS lives in kubeadm (and so kind) clusters.
const (
	Namespace   = "kube-system"
	Deployment  = "coredns"
	ConfigMap   = "coredns"
	CorefileKey = "Corefile"
)

func init() {
	fault.RegisterWithSpec((*Spec)(nil), func(spec scenario.FaultSpec) (fault.Action, error) {
		if spec == nil {
			return &Injector{}, nil
		}
		s, ok := spec.(*Spec)
		if !ok {
			return nil, fmt.Errorf("dnsOutage: unexpected spec %T", spec)
		}
		return &Injector{Spec: *s}, nil
	})
}

// Injector injects and reverts DNS outages.
type Injector struct {
	// Spec is the scenario's dnsOutage configuration (empty for recovery only).
	Spec Spec
}

// Plan reads what recovery must restore: the replica count, or the Corefile.
func (in *Injector) Plan(ctx context.Context, env fault.Env) ([]fault.Record, error) {
	rec := fault.Record{
		Kind: Kind, Mode: string(in.Spec.Mode), RunID: env.RunID, Step: env.Step,
		Cluster: env.Cluster.Name, PlannedAt: time.Now().UTC(), Restore: map[string]string{},
	}
	switch in.Spec.Mode {
	case ScaleDown, "":
		rec.Mode = string(ScaleDown)
		scale, err := env.Client.AppsV1().Deployments(Namespace).GetScale(ctx, Deployment, metav1.GetOptions{})
		if err != nil {
			return nil, fmt.Errorf("reading CoreDNS replicas (%s/%s): %w", Namespace, Deployment, err)
		}
		if scale.Spec.Replicas == 0 {
			return nil, fmt.Errorf("CoreDNS (%s/%s) already has 0 replicas: is another outage in place? (try `gameday recover`)", Namespace, Deployment)
		}
		rec.Target = "deployment/" + Namespace + "/" + Deployment
		rec.Restore["replicas"] = strconv.Itoa(int(scale.Spec.Replicas))
	case Servfail:
		cm, err := env.Client.CoreV1().ConfigMaps(Namespace).Get(ctx, ConfigMap, metav1.GetOptions{})
		if err != nil {
			return nil, fmt.Errorf("reading the Corefile (%s/%s): %w", Namespace, ConfigMap, err)
		}
		corefile, ok := cm.Data[CorefileKey]
		if !ok {
			return nil, fmt.Errorf("ConfigMap %s/%s has no %s key", Namespace, ConfigMap, CorefileKey)
		}
		if _, marked := cm.Annotations[fault.MarkerAnnotation]; marked {
			return nil, fmt.Errorf("the Corefile already carries a gameday fault: run `gameday recover` first")
		}
		rec.Target = "configmap/" + Namespace + "/" + ConfigMap
		rec.Restore["corefile"] = corefile
		rec.Restore["names"] = strings.Join(in.Spec.Names, ",")
	default:
		return nil, fmt.Errorf("dnsOutage: unknown mode %q", in.Spec.Mode)
	}
	rec.ID = fault.RecordID(env.RunID, env.Step, rec.Target)
	return []fault.Record{rec}, nil
}

func deploymentPatcher(env fault.Env) fault.Patcher {
	return func(ctx context.Context, name string, pt types.PatchType, data []byte, opts metav1.PatchOptions, sub ...string) error {
		_, err := env.Client.AppsV1().Deployments(Namespace).Patch(ctx, name, pt, data, opts, sub...)
		return err
	}
}

func configMapPatcher(env fault.Env) fault.Patcher {
	return func(ctx context.Context, name string, pt types.PatchType, data []byte, opts metav1.PatchOptions, sub ...string) error {
		_, err := env.Client.CoreV1().ConfigMaps(Namespace).Patch(ctx, name, pt, data, opts, sub...)
		return err
	}
}

// Inject marks the object, then breaks DNS.
func (in *Injector) Inject(ctx context.Context, env fault.Env, rec fault.Record) error {
	switch Mode(rec.Mode) {
	case ScaleDown:
		if err := fault.SetMarker(ctx, deploymentPatcher(env), Deployment, rec); err != nil {
			return err
		}
		return setReplicas(ctx, env, 0)
	case Servfail:
		if err := fault.SetMarker(ctx, configMapPatcher(env), ConfigMap, rec); err != nil {
			return err
		}
		broken := ServfailCorefile(rec.Restore["corefile"], strings.Split(rec.Restore["names"], ","))
		return setCorefile(ctx, env, broken)
	}
	return fmt.Errorf("dnsOutage: unknown mode %q", rec.Mode)
}

// Recover restores the saved replica count or Corefile, then removes the marker.
func (in *Injector) Recover(ctx context.Context, env fault.Env, rec fault.Record) error {
	switch Mode(rec.Mode) {
	case ScaleDown:
		n, err := strconv.Atoi(rec.Restore["replicas"])
		if err != nil || n < 1 {
			return fmt.Errorf("dnsOutage record %s: bad saved replica count %q", rec.ID, rec.Restore["replicas"])
		}
		if err := fault.RetryAPI(ctx, func(ctx context.Context) error { return setReplicas(ctx, env, int32(n)) }); err != nil {
			return err
		}
		return fault.ClearMarker(ctx, deploymentPatcher(env), Deployment)
	case Servfail:
		saved, ok := rec.Restore["corefile"]
		if !ok {
			return fmt.Errorf("dnsOutage record %s: no saved Corefile", rec.ID)
		}
		if err := fault.RetryAPI(ctx, func(ctx context.Context) error { return setCorefile(ctx, env, saved) }); err != nil {
			return err
		}
		return fault.ClearMarker(ctx, configMapPatcher(env), ConfigMap)
	}
	return fmt.Errorf("dnsOutage: unknown mode %q", rec.Mode)
}

func setReplicas(ctx context.Context, env fault.Env, n int32) error {
	scale := &autoscalingv1.Scale{
		ObjectMeta: metav1.ObjectMeta{Name: Deployment, Namespace: Namespace},
		Spec:       autoscalingv1.ScaleSpec{Replicas: n},
	}
	if _, err := env.Client.AppsV1().Deployments(Namespace).UpdateScale(ctx, Deployment, scale, metav1.UpdateOptions{FieldManager: "gameday"}); err != nil {
		return fmt.Errorf("scaling CoreDNS to %d: %w", n, err)
	}
	return nil
}

func setCorefile(ctx context.Context, env fault.Env, corefile string) error {
	body, _ := json.Marshal(map[string]any{"data": map[string]string{CorefileKey: corefile}})
	_, err := env.Client.CoreV1().ConfigMaps(Namespace).Patch(ctx, ConfigMap, types.MergePatchType, body, metav1.PatchOptions{FieldManager: "gameday"})
	if err != nil {
		return fmt.Errorf("writing the Corefile: %w", err)
	}
	return nil
}

// ServfailCorefile returns corefile with one server block in front per name that
// answers every query for that name (and below it) with SERVFAIL. CoreDNS sends a
// query to the most specific zone's block, so the rest of DNS keeps working.
func ServfailCorefile(corefile string, names []string) string {
	var b strings.Builder
	b.WriteString("# gameday dnsOutage: the blocks below answer SERVFAIL until the fault is reverted\n")
	for _, n := range names {
		n = strings.TrimSuffix(strings.TrimSpace(n), ".")
		if n == "" {
			continue
		}
		fmt.Fprintf(&b, "%s:53 {\n    errors\n    template ANY ANY {\n        rcode SERVFAIL\n    }\n}\n", n)
	}
	b.WriteString(corefile)
	return b.String()
}

// Describe says what the fault does.
func (in *Injector) Describe(rec fault.Record) string {
	if rec.Mode == string(Servfail) {
		return "make CoreDNS answer SERVFAIL for " + rec.Restore["names"]
	}
	return "scale CoreDNS from " + rec.Restore["replicas"] + " replicas to 0"
}

// Verify reports whether CoreDNS is back: the saved replica count all available, or
// the Corefile identical to the saved one, and no marker left.
func (in *Injector) Verify(ctx context.Context, env fault.Env, rec fault.Record) error {
	switch Mode(rec.Mode) {
	case ScaleDown:
		dep, err := env.Client.AppsV1().Deployments(Namespace).Get(ctx, Deployment, metav1.GetOptions{})
		if err != nil {
			return fmt.Errorf("reading CoreDNS: %w", err)
		}
		want := rec.Restore["replicas"]
		if dep.Spec.Replicas == nil || strconv.Itoa(int(*dep.Spec.Replicas)) != want {
			return fmt.Errorf("CoreDNS wants %v replicas, saved count was %s", dep.Spec.Replicas, want)
		}
		if strconv.Itoa(int(dep.Status.AvailableReplicas)) != want {
			return fmt.Errorf("CoreDNS has %d of %s replicas available", dep.Status.AvailableReplicas, want)
		}
		if _, marked := dep.Annotations[fault.MarkerAnnotation]; marked {
			return fmt.Errorf("CoreDNS still carries a fault marker")
		}
	case Servfail:
		cm, err := env.Client.CoreV1().ConfigMaps(Namespace).Get(ctx, ConfigMap, metav1.GetOptions{})
		if err != nil {
			return fmt.Errorf("reading the Corefile: %w", err)
		}
		if cm.Data[CorefileKey] != rec.Restore["corefile"] {
			return fmt.Errorf("the Corefile differs from the one saved before the fault")
		}
		if _, marked := cm.Annotations[fault.MarkerAnnotation]; marked {
			return fmt.Errorf("the Corefile ConfigMap still carries a fault marker")
		}
	}
	return nil
}
