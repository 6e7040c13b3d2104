package main

import (
	"testing"

	"gotest.tools/v3/assert"
)

func TestTracker(t *testing.T) {
	t.Parallel()
	const (
		u = stateUnknown
		h = stateHealthy
		x = stateUnhealthy
	)
	cases := []struct {
		name               string
		healthy, unhealthy int
		results            []bool
		want               []healthState // state after each result
	}{
		{"kind: healthy after 1, unhealthy after 2", 1, 2,
			[]bool{true, false, true, false, false, false, true},
			[]healthState{h, h, h, h, x, x, h}},
		{"starts unknown until a threshold is reached", 2, 3,
			[]bool{true, false, false, true, true},
			[]healthState{u, u, u, u, h}},
		{"unknown turns unhealthy after the failure threshold", 2, 2,
			[]bool{false, false, true, true},
			[]healthState{u, x, x, h}},
		{"interleaved results never reach a threshold", 2, 2,
			[]bool{true, false, true, false, true},
			[]healthState{u, u, u, u, u}},
		{"healthy needs consecutive successes to come back", 3, 1,
			[]bool{true, true, true, false, true, true, false, true, true, true},
			[]healthState{u, u, h, x, x, x, x, x, x, h}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tr := tracker{healthyThreshold: tc.healthy, unhealthyThreshold: tc.unhealthy}
			for i, ok := range tc.results {
				before := tr.state
				changed := tr.observe(ok)
				assert.Equal(t, tr.state, tc.want[i], "after result %d (%v)", i, ok)
				assert.Equal(t, changed, before != tr.state, "after result %d", i)
			}
		})
	}
}
