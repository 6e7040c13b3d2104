package dnsoutage_test

import (
	"fmt"
	"sync"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/gameday-dev/gameday/framework/fault/dnsoutage"
)

// eventLog keeps the API calls a test made, in order, as
// "<verb> <resource>[/<subresource>] <name>".
type eventLog struct {
	mu     sync.Mutex
	events []string
}

func (l *eventLog) add(e string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, e)
}

func (l *eventLog) get() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.events...)
}

var deploymentsGVR = appsv1.SchemeGroupVersion.WithResource("deployments")

func coreDNSDeployment(replicas int32) *appsv1.Deployment {
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{
			Name: dnsoutage.Deployment, Namespace: dnsoutage.Namespace,
			Labels:      map[string]string{"k8s-app": "kube-dns"},
			Annotations: map[string]string{"deployment.kubernetes.io/revision": "1"},
		},
		Spec:   appsv1.DeploymentSpec{Replicas: &replicas},
		Status: appsv1.DeploymentStatus{Replicas: replicas, ReadyReplicas: replicas, AvailableReplicas: replicas},
	}
}

func coreDNSConfigMap(corefile string) *corev1.ConfigMap {
	return &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{
			Name: dnsoutage.ConfigMap, Namespace: dnsoutage.Namespace,
			Annotations: map[string]string{"owner": "kubeadm"},
		},
		Data: map[string]string{dnsoutage.CorefileKey: corefile, "extra": "kept"},
	}
}

// newClientset is a fake clientset holding objs that serves the deployments/scale
// subresource from the Deployment (the fake's object tracker cannot) and logs every
// API call to log.
func newClientset(log *eventLog, objs ...runtime.Object) *fake.Clientset {
	cs := fake.NewClientset(objs...)
	cs.PrependReactor("get", "deployments", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if a.GetSubresource() != "scale" {
			return false, nil, nil
		}
		obj, err := cs.Tracker().Get(deploymentsGVR, a.GetNamespace(), a.(k8stesting.GetAction).GetName())
		if err != nil {
			return true, nil, err
		}
		d := obj.(*appsv1.Deployment)
		return true, &autoscalingv1.Scale{
			ObjectMeta: metav1.ObjectMeta{Name: d.Name, Namespace: d.Namespace},
			Spec:       autoscalingv1.ScaleSpec{Replicas: *d.Spec.Replicas},
			Status:     autoscalingv1.ScaleStatus{Replicas: d.Status.Replicas},
		}, nil
	})
	cs.PrependReactor("update", "deployments", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if a.GetSubresource() != "scale" {
			return false, nil, nil
		}
		scale, ok := a.(k8stesting.UpdateAction).GetObject().(*autoscalingv1.Scale)
		if !ok {
			return true, nil, fmt.Errorf("scale update with %T", a.(k8stesting.UpdateAction).GetObject())
		}
		obj, err := cs.Tracker().Get(deploymentsGVR, a.GetNamespace(), scale.Name)
		if err != nil {
			return true, nil, err
		}
		d := obj.(*appsv1.Deployment).DeepCopy()
		replicas := scale.Spec.Replicas
		d.Spec.Replicas = &replicas
		if err := cs.Tracker().Update(deploymentsGVR, d, a.GetNamespace()); err != nil {
			return true, nil, err
		}
		return true, scale.DeepCopy(), nil
	})
	cs.PrependReactor("*", "*", func(a k8stesting.Action) (bool, runtime.Object, error) {
		res := a.GetResource().Resource
		if a.GetSubresource() != "" {
			res += "/" + a.GetSubresource()
		}
		name := ""
		switch a := a.(type) {
		case k8stesting.GetAction:
			name = a.GetName()
		case k8stesting.PatchAction:
			name = a.GetName()
		case k8stesting.UpdateAction:
			if m, err := metaName(a.GetObject()); err == nil {
				name = m
			}
		}
		log.add(a.GetVerb() + " " + res + " " + name)
		return false, nil, nil
	})
	return cs
}

func metaName(obj runtime.Object) (string, error) {
	m, ok := obj.(metav1.Object)
	if !ok {
		return "", fmt.Errorf("%T has no metadata", obj)
	}
	return m.GetName(), nil
}
