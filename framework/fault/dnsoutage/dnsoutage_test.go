package dnsoutage_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
	"gotest.tools/v3/golden"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/gameday-dev/gameday/clusters"
	"github.com/gameday-dev/gameday/framework/fault"
	"github.com/gameday-dev/gameday/framework/fault/dnsoutage"
)

// Corefiles whose bytes recovery must give back exactly.
var oddCorefiles = map[string]string{
	"tabs, trailing spaces, no final newline": ".:53 {\n\terrors  \n    health {\t\n       lameduck 5s\n    }\n\tready \t\n    forward . /etc/resolv.conf\n}   ",
	"crlf and blank lines":                    ".:53 {\r\n    errors\r\n\r\n\r\n    forward . 8.8.8.8\r\n}\r\n\r\n",
	"markup, quotes, unicode":                 "# <managed by \"ops\" & co> — ñ ✓\n.:53 {\n    template IN A x.test {\n        answer \"{{ .Name }} 60 IN A 127.0.0.1\"\n    }\n    forward . \\\n      1.1.1.1\n}\n",
	"final newline only":                      ".:53 {\n    errors\n}\n",
	"leading whitespace":                      "\n\n   \t.:53 {\n    errors\n}",
}

func kindCorefile(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "Corefile.kind"))
	assert.NilError(t, err)
	return string(b)
}

// world is CoreDNS in a fake clientset, logging API calls.
type world struct {
	log *eventLog
	cs  *fake.Clientset
	env fault.Env
}

func newWorld(objs ...runtime.Object) *world {
	w := &world{log: &eventLog{}}
	w.cs = newClientset(w.log, objs...)
	w.env = fault.Env{
		Cluster: &clusters.Cluster{Name: "gd", Provider: "kind"},
		Client:  w.cs, RunID: "run-1", Step: "dns",
	}
	return w
}

func (w *world) since(n int) []string { return w.log.get()[n:] }

func (w *world) deployment(t *testing.T) *appsv1.Deployment {
	t.Helper()
	d, err := w.cs.AppsV1().Deployments(dnsoutage.Namespace).Get(testContext(t), dnsoutage.Deployment, metav1.GetOptions{})
	assert.NilError(t, err)
	return d
}

func (w *world) configMap(t *testing.T) *corev1.ConfigMap {
	t.Helper()
	cm, err := w.cs.CoreV1().ConfigMaps(dnsoutage.Namespace).Get(testContext(t), dnsoutage.ConfigMap, metav1.GetOptions{})
	assert.NilError(t, err)
	return cm
}

func plan(t *testing.T, w *world, spec dnsoutage.Spec) fault.Record {
	t.Helper()
	inj, err := fault.New(&spec)
	assert.NilError(t, err)
	recs, err := inj.Plan(testContext(t), w.env)
	assert.NilError(t, err)
	assert.Equal(t, len(recs), 1)
	return recs[0]
}

var (
	scaleDown = dnsoutage.Spec{Mode: dnsoutage.ScaleDown}
	servfail  = dnsoutage.Spec{Mode: dnsoutage.Servfail, Names: []string{"example.com", "svc.cluster.local."}}
)

func TestPlanScaleDown(t *testing.T) {
	t.Parallel()
	for _, mode := range []dnsoutage.Mode{dnsoutage.ScaleDown, ""} {
		t.Run("mode="+string(mode), func(t *testing.T) {
			t.Parallel()
			w := newWorld(coreDNSDeployment(3), coreDNSConfigMap("x"))
			rec := plan(t, w, dnsoutage.Spec{Mode: mode})
			assert.Assert(t, !rec.PlannedAt.IsZero())
			rec.PlannedAt = time.Time{}
			assert.DeepEqual(t, rec, fault.Record{
				ID: "run-1/dns/deployment/kube-system/coredns", Kind: "dnsOutage", Mode: "scaleDown",
				RunID: "run-1", Step: "dns", Cluster: "gd", Target: "deployment/kube-system/coredns",
				Restore: map[string]string{"replicas": "3"},
			})
			assert.DeepEqual(t, w.log.get(), []string{"get deployments/scale coredns"})
		})
	}
}

func TestPlanServfail(t *testing.T) {
	t.Parallel()
	corefiles := map[string]string{"kind": kindCorefile(t)}
	for k, v := range oddCorefiles {
		corefiles[k] = v
	}
	for name, corefile := range corefiles {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(coreDNSDeployment(2), coreDNSConfigMap(corefile))
			rec := plan(t, w, servfail)
			rec.PlannedAt = time.Time{}
			assert.DeepEqual(t, rec, fault.Record{
				ID: "run-1/dns/configmap/kube-system/coredns", Kind: "dnsOutage", Mode: "servfail",
				RunID: "run-1", Step: "dns", Cluster: "gd", Target: "configmap/kube-system/coredns",
				Restore: map[string]string{"corefile": corefile, "names": "example.com,svc.cluster.local."},
			})
			assert.DeepEqual(t, w.log.get(), []string{"get configmaps coredns"})
		})
	}
}

func TestPlanErrors(t *testing.T) {
	t.Parallel()
	marked := coreDNSConfigMap("x")
	marked.Annotations[fault.MarkerAnnotation] = fault.Record{Kind: dnsoutage.Kind, Target: "configmap/kube-system/coredns"}.Marshal()
	noKey := coreDNSConfigMap("x")
	delete(noKey.Data, dnsoutage.CorefileKey)
	tests := []struct {
		name    string
		objs    []runtime.Object
		spec    dnsoutage.Spec
		wantErr string
	}{
		{"zero replicas", []runtime.Object{coreDNSDeployment(0)}, scaleDown, "already has 0 replicas"},
		{"no deployment", []runtime.Object{coreDNSConfigMap("x")}, scaleDown, "reading CoreDNS replicas (kube-system/coredns)"},
		{"already marked", []runtime.Object{coreDNSDeployment(2), marked}, servfail, "already carries a gameday fault"},
		{"no Corefile key", []runtime.Object{coreDNSDeployment(2), noKey}, servfail, "has no Corefile key"},
		{"no configmap", []runtime.Object{coreDNSDeployment(2)}, servfail, "reading the Corefile (kube-system/coredns)"},
		{"unknown mode", []runtime.Object{coreDNSDeployment(2)}, dnsoutage.Spec{Mode: "nxdomain"}, `unknown mode "nxdomain"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(tc.objs...)
			recs, err := (&dnsoutage.Injector{Spec: tc.spec}).Plan(testContext(t), w.env)
			assert.ErrorContains(t, err, tc.wantErr)
			assert.Assert(t, recs == nil)
			for _, e := range w.log.get() {
				assert.Assert(t, strings.HasPrefix(e, "get "), "planning changed something: %s", e)
			}
		})
	}
}

func TestInjectScaleDown(t *testing.T) {
	t.Parallel()
	w := newWorld(coreDNSDeployment(2), coreDNSConfigMap("x"))
	rec := plan(t, w, scaleDown)
	n := len(w.log.get())
	assert.NilError(t, (&dnsoutage.Injector{}).Inject(testContext(t), w.env, rec))

	// The marker goes on before CoreDNS is scaled down.
	assert.DeepEqual(t, w.since(n), []string{"patch deployments coredns", "update deployments/scale coredns"})
	d := w.deployment(t)
	assert.Equal(t, *d.Spec.Replicas, int32(0))
	assert.Equal(t, d.Annotations[fault.MarkerAnnotation], rec.Ref().Marshal())
	assert.Equal(t, d.Annotations["deployment.kubernetes.io/revision"], "1")
	// The ConfigMap is untouched.
	assert.DeepEqual(t, w.configMap(t), coreDNSConfigMap("x"))
}

func TestInjectServfail(t *testing.T) {
	t.Parallel()
	corefile := kindCorefile(t)
	w := newWorld(coreDNSDeployment(2), coreDNSConfigMap(corefile))
	rec := plan(t, w, servfail)
	n := len(w.log.get())
	assert.NilError(t, (&dnsoutage.Injector{}).Inject(testContext(t), w.env, rec))

	// First the marker, then the Corefile.
	assert.DeepEqual(t, w.since(n), []string{"patch configmaps coredns", "patch configmaps coredns"})
	patches := w.cs.Actions()[len(w.cs.Actions())-2:]
	assert.Assert(t, is.Contains(string(patches[0].(k8stesting.PatchAction).GetPatch()), fault.MarkerAnnotation))
	assert.Assert(t, !strings.Contains(string(patches[0].(k8stesting.PatchAction).GetPatch()), `"data"`))
	assert.Assert(t, is.Contains(string(patches[1].(k8stesting.PatchAction).GetPatch()), `"data"`))

	cm := w.configMap(t)
	assert.Equal(t, cm.Data[dnsoutage.CorefileKey], dnsoutage.ServfailCorefile(corefile, []string{"example.com", "svc.cluster.local."}))
	assert.Equal(t, cm.Data["extra"], "kept")
	assert.Equal(t, cm.Annotations[fault.MarkerAnnotation], rec.Ref().Marshal())
	assert.Equal(t, cm.Annotations["owner"], "kubeadm")
	// The Deployment is untouched.
	assert.Equal(t, *w.deployment(t).Spec.Replicas, int32(2))
}

// If the marker cannot be set, DNS is not broken: an unmarked outage could not be
// found by `gameday recover`.
func TestInjectMarkerFailureChangesNothing(t *testing.T) {
	t.Parallel()
	for _, spec := range []dnsoutage.Spec{scaleDown, servfail} {
		t.Run(string(spec.Mode), func(t *testing.T) {
			t.Parallel()
			corefile := kindCorefile(t)
			w := newWorld(coreDNSDeployment(2), coreDNSConfigMap(corefile))
			rec := plan(t, w, spec)
			w.cs.PrependReactor("patch", "*", func(k8stesting.Action) (bool, runtime.Object, error) {
				return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: "x"}, "coredns", errors.New("rbac"))
			})
			err := (&dnsoutage.Injector{}).Inject(testContext(t), w.env, rec)
			assert.Assert(t, apierrors.IsForbidden(err), "%v", err)
			assert.Equal(t, *w.deployment(t).Spec.Replicas, int32(2))
			assert.Equal(t, w.configMap(t).Data[dnsoutage.CorefileKey], corefile)
		})
	}
}

func TestInjectUnknownMode(t *testing.T) {
	t.Parallel()
	w := newWorld(coreDNSDeployment(2), coreDNSConfigMap("x"))
	err := (&dnsoutage.Injector{}).Inject(testContext(t), w.env, fault.Record{Kind: dnsoutage.Kind, Mode: "nxdomain", Target: "x"})
	assert.ErrorContains(t, err, `unknown mode "nxdomain"`)
	assert.Equal(t, len(w.log.get()), 0, "nothing was marked or changed")
}

func TestRecoverScaleDown(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	w := newWorld(coreDNSDeployment(3), coreDNSConfigMap("x"))
	rec := plan(t, w, scaleDown)
	in := &dnsoutage.Injector{}
	assert.NilError(t, in.Inject(ctx, w.env, rec))
	assert.Equal(t, *w.deployment(t).Spec.Replicas, int32(0))

	for i := range 2 { // recovering twice is fine
		n := len(w.log.get())
		assert.NilError(t, in.Recover(ctx, w.env, rec), "recovery %d", i+1)
		// Scale back first, then drop the marker.
		assert.DeepEqual(t, w.since(n), []string{"update deployments/scale coredns", "patch deployments coredns"})
		d := w.deployment(t)
		assert.Equal(t, *d.Spec.Replicas, int32(3))
		_, marked := d.Annotations[fault.MarkerAnnotation]
		assert.Assert(t, !marked)
		assert.Equal(t, d.Annotations["deployment.kubernetes.io/revision"], "1")
	}
}

func TestRecoverServfailByteForByte(t *testing.T) {
	t.Parallel()
	corefiles := map[string]string{"kind": kindCorefile(t)}
	for k, v := range oddCorefiles {
		corefiles[k] = v
	}
	for name, corefile := range corefiles {
		for _, fromMarker := range []bool{false, true} {
			name := name
			if fromMarker {
				name += " (marker checked)"
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				ctx := testContext(t)
				w := newWorld(coreDNSDeployment(2), coreDNSConfigMap(corefile))
				rec := plan(t, w, servfail)
				in := &dnsoutage.Injector{}
				assert.NilError(t, in.Inject(ctx, w.env, rec))
				assert.Assert(t, w.configMap(t).Data[dnsoutage.CorefileKey] != corefile)

				if fromMarker {
					// The marker only refers to the record: the saved Corefile lives in
					// the journal and the cluster's record store, never in an annotation.
					marker := w.configMap(t).Annotations[fault.MarkerAnnotation]
					ref, err := fault.ParseRecord(marker)
					assert.NilError(t, err)
					assert.DeepEqual(t, ref, rec.Ref())
					assert.Assert(t, !strings.Contains(marker, "corefile"), marker)
				}
				for i := range 2 { // recovering twice is fine
					assert.NilError(t, in.Recover(ctx, w.env, rec), "recovery %d", i+1)
					cm := w.configMap(t)
					got := cm.Data[dnsoutage.CorefileKey]
					assert.Assert(t, got == corefile, "Corefile not restored byte for byte:\n got %q\nwant %q", got, corefile)
					_, marked := cm.Annotations[fault.MarkerAnnotation]
					assert.Assert(t, !marked)
					assert.DeepEqual(t, cm.Annotations, map[string]string{"owner": "kubeadm"})
					assert.Equal(t, cm.Data["extra"], "kept")
				}
				assert.NilError(t, in.Verify(ctx, w.env, rec))
			})
		}
	}
}

// Recovery rides out an API server that times out once.
func TestRecoverRetriesTransientErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		spec     dnsoutage.Spec
		verb     string
		resource string
	}{
		{scaleDown, "update", "deployments"},
		{servfail, "patch", "configmaps"},
	} {
		t.Run(string(tc.spec.Mode), func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			w := newWorld(coreDNSDeployment(2), coreDNSConfigMap("orig"))
			rec := plan(t, w, tc.spec)
			in := &dnsoutage.Injector{}
			assert.NilError(t, in.Inject(ctx, w.env, rec))
			failed := false
			w.cs.PrependReactor(tc.verb, tc.resource, func(k8stesting.Action) (bool, runtime.Object, error) {
				if failed {
					return false, nil, nil
				}
				failed = true
				return true, nil, apierrors.NewServerTimeout(schema.GroupResource{Resource: tc.resource}, tc.verb, 1)
			})
			assert.NilError(t, in.Recover(ctx, w.env, rec))
			assert.Assert(t, failed)
			assert.Equal(t, *w.deployment(t).Spec.Replicas, int32(2))
			assert.Equal(t, w.configMap(t).Data[dnsoutage.CorefileKey], "orig")
		})
	}
}

func TestRecoverErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		rec     fault.Record
		wantErr string
	}{
		{"no replicas", fault.Record{ID: "r", Kind: dnsoutage.Kind, Mode: "scaleDown"}, `record r: bad saved replica count ""`},
		{"zero replicas", fault.Record{ID: "r", Kind: dnsoutage.Kind, Mode: "scaleDown", Restore: map[string]string{"replicas": "0"}}, `bad saved replica count "0"`},
		{"garbage replicas", fault.Record{ID: "r", Kind: dnsoutage.Kind, Mode: "scaleDown", Restore: map[string]string{"replicas": "two"}}, `bad saved replica count "two"`},
		{"no corefile", fault.Record{ID: "r", Kind: dnsoutage.Kind, Mode: "servfail", Restore: map[string]string{"names": "a"}}, "record r: no saved Corefile"},
		{"unknown mode", fault.Record{ID: "r", Kind: dnsoutage.Kind, Mode: "nxdomain"}, `unknown mode "nxdomain"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(coreDNSDeployment(2), coreDNSConfigMap("x"))
			err := (&dnsoutage.Injector{}).Recover(testContext(t), w.env, tc.rec)
			assert.ErrorContains(t, err, tc.wantErr)
			assert.Equal(t, len(w.log.get()), 0, "nothing changed: %v", w.log.get())
		})
	}
}

func TestVerify(t *testing.T) {
	t.Parallel()
	scaleRec := fault.Record{ID: "a", Kind: dnsoutage.Kind, Mode: "scaleDown", Target: "deployment/kube-system/coredns", Restore: map[string]string{"replicas": "2"}}
	const corefile = ".:53 {\n\terrors \n}"
	failRec := fault.Record{ID: "b", Kind: dnsoutage.Kind, Mode: "servfail", Target: "configmap/kube-system/coredns", Restore: map[string]string{"corefile": corefile, "names": "a"}}
	dep := func(mutate func(d *appsv1.Deployment)) *appsv1.Deployment {
		d := coreDNSDeployment(2)
		if mutate != nil {
			mutate(d)
		}
		return d
	}
	cm := func(corefile string, marked bool) *corev1.ConfigMap {
		c := coreDNSConfigMap(corefile)
		if marked {
			c.Annotations[fault.MarkerAnnotation] = failRec.Marshal()
		}
		return c
	}
	tests := []struct {
		name    string
		objs    []runtime.Object
		rec     fault.Record
		wantErr string // "" passes
	}{
		{name: "scaled back and available", objs: []runtime.Object{dep(nil)}, rec: scaleRec},
		{name: "still at zero", objs: []runtime.Object{dep(func(d *appsv1.Deployment) { *d.Spec.Replicas = 0 })}, rec: scaleRec, wantErr: "saved count was 2"},
		{name: "nil replicas", objs: []runtime.Object{dep(func(d *appsv1.Deployment) { d.Spec.Replicas = nil })}, rec: scaleRec, wantErr: "saved count was 2"},
		{name: "not all available", objs: []runtime.Object{dep(func(d *appsv1.Deployment) { d.Status.AvailableReplicas = 1 })}, rec: scaleRec, wantErr: "CoreDNS has 1 of 2 replicas available"},
		{
			name: "deployment still marked", rec: scaleRec, wantErr: "CoreDNS still carries a fault marker",
			objs: []runtime.Object{dep(func(d *appsv1.Deployment) { d.Annotations[fault.MarkerAnnotation] = scaleRec.Marshal() })},
		},
		{name: "no deployment", rec: scaleRec, wantErr: "reading CoreDNS"},
		{name: "Corefile restored", objs: []runtime.Object{cm(corefile, false)}, rec: failRec},
		{name: "Corefile differs by a space", objs: []runtime.Object{cm(".:53 {\n\terrors\n}", false)}, rec: failRec, wantErr: "the Corefile differs"},
		{name: "Corefile differs by a final newline", objs: []runtime.Object{cm(corefile+"\n", false)}, rec: failRec, wantErr: "the Corefile differs"},
		{name: "configmap still marked", objs: []runtime.Object{cm(corefile, true)}, rec: failRec, wantErr: "still carries a fault marker"},
		{name: "no configmap", rec: failRec, wantErr: "reading the Corefile"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(tc.objs...)
			var v fault.Verifier = &dnsoutage.Injector{}
			err := v.Verify(testContext(t), w.env, tc.rec)
			if tc.wantErr == "" {
				assert.NilError(t, err)
				return
			}
			assert.ErrorContains(t, err, tc.wantErr)
		})
	}
}

// After an injected servfail fault, Verify fails until recovery and passes after.
func TestVerifyAroundRecovery(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	w := newWorld(coreDNSDeployment(2), coreDNSConfigMap(kindCorefile(t)))
	rec := plan(t, w, servfail)
	in := &dnsoutage.Injector{}
	assert.NilError(t, in.Inject(ctx, w.env, rec))
	assert.ErrorContains(t, in.Verify(ctx, w.env, rec), "the Corefile differs")
	assert.NilError(t, in.Recover(ctx, w.env, rec))
	assert.NilError(t, in.Verify(ctx, w.env, rec))
}

func TestServfailCorefileGolden(t *testing.T) {
	t.Parallel()
	got := dnsoutage.ServfailCorefile(kindCorefile(t), []string{"example.com", " svc.cluster.local. ", "", "gameday-workload.svc.cluster.local"})
	// Regenerate with: go test ./framework/fault/dnsoutage -run Golden -update
	golden.Assert(t, got, "servfail.golden")
}

func TestServfailCorefile(t *testing.T) {
	t.Parallel()
	const header = "# gameday dnsOutage: the blocks below answer SERVFAIL until the fault is reverted\n"
	block := func(zone string) string {
		return zone + ":53 {\n    errors\n    template ANY ANY {\n        rcode SERVFAIL\n    }\n}\n"
	}
	tests := []struct {
		name     string
		corefile string
		names    []string
		want     string
	}{
		{"no names", "orig", nil, header + "orig"},
		{"only blanks", "orig", []string{"", " ", "."}, header + "orig"},
		{"one name", "orig", []string{"example.com"}, header + block("example.com") + "orig"},
		{"trailing dot and spaces trimmed", "orig", []string{"  example.com.\t"}, header + block("example.com") + "orig"},
		{"order kept", "orig", []string{"b.test", "a.test"}, header + block("b.test") + block("a.test") + "orig"},
		{"original bytes kept", "\t.:53 {}  \r\n", []string{"x"}, header + block("x") + "\t.:53 {}  \r\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := dnsoutage.ServfailCorefile(tc.corefile, tc.names)
			assert.Equal(t, got, tc.want)
			assert.Assert(t, strings.HasSuffix(got, tc.corefile))
		})
	}
}

func TestDescribe(t *testing.T) {
	t.Parallel()
	in := &dnsoutage.Injector{}
	assert.Equal(t, in.Describe(fault.Record{Mode: "scaleDown", Restore: map[string]string{"replicas": "2"}}),
		"scale CoreDNS from 2 replicas to 0")
	assert.Equal(t, in.Describe(fault.Record{Mode: "servfail", Restore: map[string]string{"names": "example.com,svc.cluster.local"}}),
		"make CoreDNS answer SERVFAIL for example.com,svc.cluster.local")
}

// testContext bounds a test's calls, so a recovery that would retry forever fails
// the test instead of hanging it.
func testContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}
