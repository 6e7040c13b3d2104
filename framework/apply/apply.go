// Package apply loads manifests (a YAML file, a directory of YAML files, or a
// kustomize directory) and applies them to a cluster with server-side apply, then
// waits until the workloads among them are ready. Scenario fixtures go through it.
package apply

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/go-logr/logr"

	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/wait"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	crlog "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// FieldManager is the server-side apply field manager gameday applies as.
const FieldManager = "gameday"

// Load reads the objects at path: a kustomize directory (with a kustomization.yaml),
// a directory of *.yaml/*.yml files (in name order), or one file. If namespace is
// set, namespaced objects without one get it.
func Load(path, namespace string) ([]*unstructured.Unstructured, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("fixture: %w", err)
	}
	var docs []byte
	switch {
	case info.IsDir() && isKustomization(path):
		docs, err = kustomize(path)
	case info.IsDir():
		docs, err = readDir(path)
	default:
		docs, err = os.ReadFile(path)
	}
	if err != nil {
		return nil, fmt.Errorf("fixture %s: %w", path, err)
	}
	objs, err := Decode(docs)
	if err != nil {
		return nil, fmt.Errorf("fixture %s: %w", path, err)
	}
	if namespace != "" {
		for _, o := range objs {
			if o.GetNamespace() == "" && o.GetKind() != "Namespace" && !clusterScoped(o.GetKind()) {
				o.SetNamespace(namespace)
			}
		}
	}
	return objs, nil
}

func isKustomization(dir string) bool {
	for _, n := range []string{"kustomization.yaml", "kustomization.yml", "Kustomization"} {
		if _, err := os.Stat(filepath.Join(dir, n)); err == nil {
			return true
		}
	}
	return false
}

func kustomize(dir string) ([]byte, error) {
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	res, err := k.Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		return nil, err
	}
	return res.AsYaml()
}

func readDir(dir string) ([]byte, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	for _, e := range entries {
		ext := filepath.Ext(e.Name())
		if e.IsDir() || (ext != ".yaml" && ext != ".yml") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		buf.WriteString("\n---\n")
		buf.Write(b)
	}
	return buf.Bytes(), nil
}

// Decode splits a multi-document YAML stream into objects, skipping empty documents.
func Decode(docs []byte) ([]*unstructured.Unstructured, error) {
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(docs), 4096)
	var objs []*unstructured.Unstructured
	for i := 1; ; i++ {
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			if errors.Is(err, io.EOF) {
				return objs, nil
			}
			return nil, fmt.Errorf("document %d: %w", i, err)
		}
		if len(m) == 0 {
			continue
		}
		u := &unstructured.Unstructured{Object: m}
		if u.GetAPIVersion() == "" || u.GetKind() == "" || u.GetName() == "" {
			return nil, fmt.Errorf("document %d: apiVersion, kind and metadata.name are required", i)
		}
		objs = append(objs, u)
	}
}

// clusterScoped names the cluster-scoped kinds fixtures commonly hold; the API
// server decides in the end, this only keeps a namespace off them.
func clusterScoped(kind string) bool {
	switch kind {
	case "Namespace", "ClusterRole", "ClusterRoleBinding", "StorageClass", "PersistentVolume",
		"CustomResourceDefinition", "PriorityClass", "ValidatingWebhookConfiguration",
		"MutatingWebhookConfiguration", "RuntimeClass":
		return true
	}
	return false
}

// Applier applies objects with server-side apply.
type Applier struct {
	c client.Client
}

// quietControllerRuntime gives controller-runtime a logger once: without one it
// prints a stack trace complaining about it on first use.
var quietControllerRuntime sync.Once

// NewApplier connects to a cluster.
func NewApplier(cfg *rest.Config) (*Applier, error) {
	quietControllerRuntime.Do(func() { crlog.SetLogger(logr.Discard()) })
	c, err := client.New(cfg, client.Options{})
	if err != nil {
		return nil, fmt.Errorf("connecting to the API server: %w", err)
	}
	return &Applier{c: c}, nil
}

// Apply applies the objects in order, Namespaces first (forcing ownership of
// conflicting fields, as `kubectl apply --server-side --force-conflicts` does).
func (a *Applier) Apply(ctx context.Context, objs []*unstructured.Unstructured) error {
	ordered := append([]*unstructured.Unstructured(nil), objs...)
	sort.SliceStable(ordered, func(i, j int) bool {
		return ordered[i].GetKind() == "Namespace" && ordered[j].GetKind() != "Namespace"
	})
	for _, o := range ordered {
		err := a.c.Apply(ctx, client.ApplyConfigurationFromUnstructured(o.DeepCopy()),
			client.FieldOwner(FieldManager), client.ForceOwnership)
		if err != nil {
			return fmt.Errorf("applying %s: %w", describe(o), err)
		}
	}
	return nil
}

// WaitReady waits until every Deployment, StatefulSet and DaemonSet among objs has
// all its replicas updated and ready.
func (a *Applier) WaitReady(ctx context.Context, objs []*unstructured.Unstructured, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for _, o := range objs {
		var last string
		err := wait.PollUntilContextCancel(ctx, 500*time.Millisecond, true, func(ctx context.Context) (bool, error) {
			ready, why, err := a.ready(ctx, o)
			last = why
			if apierrors.IsNotFound(err) {
				return false, nil
			}
			return ready, err
		})
		if err != nil {
			return fmt.Errorf("%s not ready after %s: %s", describe(o), timeout, last)
		}
	}
	return nil
}

func (a *Applier) ready(ctx context.Context, o *unstructured.Unstructured) (bool, string, error) {
	key := client.ObjectKey{Namespace: o.GetNamespace(), Name: o.GetName()}
	switch o.GetKind() {
	case "Deployment":
		var d appsv1.Deployment
		if err := a.c.Get(ctx, key, &d); err != nil {
			return false, err.Error(), err
		}
		want := replicas(d.Spec.Replicas)
		why := fmt.Sprintf("%d/%d ready, %d updated", d.Status.ReadyReplicas, want, d.Status.UpdatedReplicas)
		return d.Status.ObservedGeneration >= d.Generation && d.Status.UpdatedReplicas == want &&
			d.Status.ReadyReplicas == want && d.Status.AvailableReplicas == want, why, nil
	case "StatefulSet":
		var s appsv1.StatefulSet
		if err := a.c.Get(ctx, key, &s); err != nil {
			return false, err.Error(), err
		}
		want := replicas(s.Spec.Replicas)
		why := fmt.Sprintf("%d/%d ready", s.Status.ReadyReplicas, want)
		return s.Status.ObservedGeneration >= s.Generation && s.Status.ReadyReplicas == want, why, nil
	case "DaemonSet":
		var d appsv1.DaemonSet
		if err := a.c.Get(ctx, key, &d); err != nil {
			return false, err.Error(), err
		}
		why := fmt.Sprintf("%d/%d ready", d.Status.NumberReady, d.Status.DesiredNumberScheduled)
		return d.Status.ObservedGeneration >= d.Generation && d.Status.DesiredNumberScheduled > 0 &&
			d.Status.NumberReady == d.Status.DesiredNumberScheduled, why, nil
	}
	return true, "", nil
}

func replicas(p *int32) int32 {
	if p == nil {
		return 1
	}
	return *p
}

// Delete deletes the objects (in reverse order) and does not wait; missing objects
// and kinds the cluster does not know are not errors.
func (a *Applier) Delete(ctx context.Context, objs []*unstructured.Unstructured) error {
	var errs []error
	for i := len(objs) - 1; i >= 0; i-- {
		err := a.c.Delete(ctx, objs[i].DeepCopy())
		if err != nil && !apierrors.IsNotFound(err) && !meta.IsNoMatchError(err) {
			errs = append(errs, fmt.Errorf("deleting %s: %w", describe(objs[i]), err))
		}
	}
	return errors.Join(errs...)
}

func describe(o *unstructured.Unstructured) string {
	name := o.GetName()
	if ns := o.GetNamespace(); ns != "" {
		name = ns + "/" + name
	}
	return strings.ToLower(o.GetKind()) + " " + name
}

// Reset deletes the objects, waits until they are gone, then applies them again and
// waits for them to be ready: workloads start from a fresh, evenly spread
// placement (a node-loss drill leaves pods packed on the surviving nodes).
func (a *Applier) Reset(ctx context.Context, objs []*unstructured.Unstructured, timeout time.Duration) error {
	if err := a.Delete(ctx, objs); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for _, o := range objs {
		err := wait.PollUntilContextCancel(ctx, time.Second, true, func(ctx context.Context) (bool, error) {
			u := &unstructured.Unstructured{}
			u.SetGroupVersionKind(o.GroupVersionKind())
			err := a.c.Get(ctx, client.ObjectKeyFromObject(o), u)
			return apierrors.IsNotFound(err) || meta.IsNoMatchError(err), nil
		})
		if err != nil {
			return fmt.Errorf("%s still there after %s", describe(o), timeout)
		}
	}
	if err := a.Apply(ctx, objs); err != nil {
		return err
	}
	return a.WaitReady(ctx, objs, timeout)
}
