package gamedaye2e_test

import (
	"time"

	"sigs.k8s.io/e2e-framework/pkg/features"

	gamedaye2e "github.com/gameday-dev/gameday/framework/e2e"
	"github.com/gameday-dev/gameday/framework/probe"

	"github.com/gameday-dev/gameday/framework/fault/dnsoutage"
	_ "github.com/gameday-dev/gameday/framework/fault/dnsoutage"
)

// A DNS outage game day as an e2e-framework feature: an in-cluster agent on the
// control-plane node resolves the workload's name through the cluster DNS Service
// while CoreDNS is scaled to zero for 30s. Run it with testenv.Test(t, feature) in an
// environment set up with gamedaye2e.CreateKindCluster, the workload applied and the
// agent image (probe.DefaultAgentImage) loaded with Provider.LoadImage.
func Example() {
	agent := probe.AgentConfig{
		DNS: []probe.AgentDNSTarget{{
			Name: "dns", Host: "workload.gameday-workload.svc.cluster.local", Server: "10.96.0.10:53",
		}},
		Interval: 250 * time.Millisecond,
	}
	feature := features.New("dns outage").
		Setup(gamedaye2e.StartAgentProbes("gd-e2e-control-plane", agent)).
		Assess("scale CoreDNS to zero", gamedaye2e.InjectFault("dns-down", &dnsoutage.Spec{Mode: dnsoutage.ScaleDown})).
		Assess("lookups failed at once", gamedaye2e.AssertDetectedWithin("dns", 10*time.Second)).
		Assess("hold the outage for 30s", gamedaye2e.HoldFault(30*time.Second)).
		Assess("lookups were mostly answered", gamedaye2e.AssertObjective("dns", 0.5)).
		Teardown(gamedaye2e.RevertFaults()).
		Teardown(gamedaye2e.StopProbes()).
		Feature()
	_ = feature
}
