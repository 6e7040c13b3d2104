package fault_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/gameday-dev/gameday/framework/fault"
	"github.com/gameday-dev/gameday/framework/fault/dnsoutage"
	"github.com/gameday-dev/gameday/framework/fault/nodeloss"
	"github.com/gameday-dev/gameday/framework/scenario"
)

func TestRecordRoundTrip(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		rec  fault.Record
	}{
		{
			name: "minimal",
			rec:  fault.Record{Kind: "nodeLoss", Target: "node/gd-worker"},
		},
		{
			name: "full",
			rec: fault.Record{
				ID: "run-1/kill-dns/configmap/kube-system/coredns", Kind: "dnsOutage", Mode: "servfail",
				RunID: "run-1", Step: "kill-dns", Cluster: "gameday", Target: "configmap/kube-system/coredns",
				Restore: map[string]string{
					"corefile": ".:53 {\n\terrors   \r\n    forward . /etc/resolv.conf <&> \"quoted\" \\ \u00e9\n}",
					"names":    "example.com,svc.cluster.local",
				},
				PlannedAt: time.Date(2026, 3, 4, 5, 6, 7, 89, time.UTC),
			},
		},
		{
			name: "empty restore value",
			rec:  fault.Record{Kind: "k", Target: "t", Restore: map[string]string{"x": ""}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := fault.ParseRecord(tc.rec.Marshal())
			assert.NilError(t, err)
			assert.DeepEqual(t, got, tc.rec)
		})
	}
}

func TestParseRecordRejectsBadMarkers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, marker, wantErr string
	}{
		{"empty", "", "reading fault marker"},
		{"not json", "gameday was here", "reading fault marker"},
		{"truncated", `{"kind":"nodeLoss","target":"node/a"`, "reading fault marker"},
		{"array", `["nodeLoss"]`, "reading fault marker"},
		{"wrong type", `{"kind":3,"target":"node/a"}`, "reading fault marker"},
		{"null", "null", "without kind or target"},
		{"empty object", "{}", "without kind or target"},
		{"no target", `{"kind":"nodeLoss"}`, "without kind or target"},
		{"no kind", `{"target":"node/a"}`, "without kind or target"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := fault.ParseRecord(tc.marker)
			assert.ErrorContains(t, err, tc.wantErr)
		})
	}
}

func TestRecordID(t *testing.T) {
	t.Parallel()
	assert.Equal(t, fault.RecordID("run-1", "step", "node/gd-worker"), "run-1/step/node/gd-worker")
}

// nopInjector is a registrable injector for the registry tests.
type nopInjector struct {
	fault.Action
	spec scenario.FaultSpec
}

func TestRegisterTwicePanics(t *testing.T) {
	t.Parallel()
	const kind = "test-register-twice"
	factory := func(spec scenario.FaultSpec) (fault.Action, error) { return nopInjector{spec: spec}, nil }
	fault.Register(kind, factory)

	var recovered any
	func() {
		defer func() { recovered = recover() }()
		fault.Register(kind, factory)
	}()
	assert.Assert(t, recovered != nil, "registering a kind twice must panic")
	assert.Assert(t, is.Contains(fmt.Sprint(recovered), kind))

	// The first registration still stands.
	inj, err := fault.ForKind(kind)
	assert.NilError(t, err)
	assert.Assert(t, inj.(nopInjector).spec == nil)
}

func TestBuiltinKindsRegistered(t *testing.T) {
	t.Parallel()
	kinds := fault.Kinds()
	assert.Assert(t, is.Contains(kinds, nodeloss.Kind))
	assert.Assert(t, is.Contains(kinds, dnsoutage.Kind))
	for i := 1; i < len(kinds); i++ {
		assert.Assert(t, kinds[i-1] < kinds[i], "Kinds() not sorted: %v", kinds)
	}
	// Every fault kind a scenario can name has an injector.
	for _, k := range scenario.KnownFaultKinds() {
		assert.Assert(t, is.Contains(kinds, k))
	}
}

// strangeSpec is a FaultSpec of a kind nobody registered.
type strangeSpec struct{ scenario.FaultSpec }

func (strangeSpec) FaultKind() string { return "strange" }

func TestUnknownKind(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		get  func() (fault.Action, error)
	}{
		{"ForKind", func() (fault.Action, error) { return fault.ForKind("strange") }},
		{"ForKind empty", func() (fault.Action, error) { return fault.ForKind("") }},
		{"New", func() (fault.Action, error) { return fault.New(strangeSpec{}) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			inj, err := tc.get()
			assert.Assert(t, inj == nil)
			assert.ErrorContains(t, err, "no action registered for kind")
			assert.ErrorContains(t, err, "(registered: ")
			// The message lists the registered kinds, sorted.
			_, list, _ := strings.Cut(err.Error(), "(registered: ")
			assert.Assert(t, is.Contains(list, "dnsOutage, "))
			assert.Assert(t, strings.Index(list, dnsoutage.Kind) < strings.Index(list, nodeloss.Kind), list)
		})
	}
}

func TestNewPassesSpecToFactory(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		spec  scenario.FaultSpec
		check func(t *testing.T, inj fault.Injector)
	}{
		{
			name: "nodeLoss",
			spec: &nodeloss.Spec{Mode: nodeloss.Pause, Target: nodeloss.Target{Names: []string{"a"}}},
			check: func(t *testing.T, inj fault.Injector) {
				nl, ok := inj.(*nodeloss.Injector)
				assert.Assert(t, ok, "%T", inj)
				assert.Equal(t, nl.Spec.Mode, nodeloss.Pause)
				assert.DeepEqual(t, nl.Spec.Target.Names, []string{"a"})
			},
		},
		{
			name: "dnsOutage",
			spec: &dnsoutage.Spec{Mode: dnsoutage.Servfail, Names: []string{"example.com"}},
			check: func(t *testing.T, inj fault.Injector) {
				d, ok := inj.(*dnsoutage.Injector)
				assert.Assert(t, ok, "%T", inj)
				assert.Equal(t, d.Spec.Mode, dnsoutage.Servfail)
				assert.DeepEqual(t, d.Spec.Names, []string{"example.com"})
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			act, err := fault.New(tc.spec)
			assert.NilError(t, err)
			inj, ok := act.(fault.Injector)
			assert.Assert(t, ok, "%T is a fault", act)
			tc.check(t, inj)

			// ForKind gives a recovery-only injector with an empty spec.
			rec, err := fault.ForKind(tc.spec.FaultKind())
			assert.NilError(t, err)
			assert.Assert(t, rec != nil)
		})
	}
}

func TestForKindRecoveryOnly(t *testing.T) {
	t.Parallel()
	inj, err := fault.ForKind(nodeloss.Kind)
	assert.NilError(t, err)
	assert.DeepEqual(t, inj.(*nodeloss.Injector).Spec, nodeloss.Spec{})
	inj, err = fault.ForKind(dnsoutage.Kind)
	assert.NilError(t, err)
	assert.DeepEqual(t, inj.(*dnsoutage.Injector).Spec, dnsoutage.Spec{})
}
