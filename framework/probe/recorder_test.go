package probe_test

import (
	"fmt"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"gotest.tools/v3/assert"

	"github.com/gameday-dev/gameday/framework/probe"
)

func TestRecorderSortsPerProbe(t *testing.T) {
	t.Parallel()
	base := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	at := func(s int) time.Time { return base.Add(time.Duration(s) * time.Second) }
	var rec probe.Recorder
	_, ok := rec.Last("a")
	assert.Assert(t, !ok)
	for _, s := range []probe.Sample{
		{Probe: "a", At: at(2), OK: true},
		{Probe: "b", At: at(1)},
		{Probe: "a", At: at(0), OK: true}, // late arrival, e.g. after an agent log reconnect
		{Probe: "a", At: at(3), Error: "x"},
		{Probe: "a", At: at(1), OK: true},
	} {
		rec.Emit(s)
	}
	assert.DeepEqual(t, rec.Probes(), []string{"a", "b"})
	var times []int
	for _, s := range rec.Samples("a") {
		times = append(times, int(s.At.Sub(base)/time.Second))
	}
	assert.DeepEqual(t, times, []int{0, 1, 2, 3})
	last, ok := rec.Last("a")
	assert.Assert(t, ok)
	assert.Equal(t, last.Error, "x")

	// Returned slices are copies.
	all := rec.All()
	all["a"][0].Probe = "changed"
	assert.Equal(t, rec.Samples("a")[0].Probe, "a")
	assert.Equal(t, len(all["b"]), 1)
}

func TestRecorderConcurrentUse(t *testing.T) {
	t.Parallel()
	var rec probe.Recorder
	const probes, perProbe = 8, 200
	base := time.Now()
	var wg sync.WaitGroup
	for p := range probes {
		wg.Go(func() {
			for i := range perProbe {
				rec.Emit(probe.Sample{Probe: fmt.Sprint("p", p), At: base.Add(time.Duration(perProbe-i) * time.Millisecond)})
				_ = rec.Samples(fmt.Sprint("p", p)) // read while writing, as live progress does
			}
		})
	}
	wg.Wait()
	for name, list := range rec.All() {
		assert.Equal(t, len(list), perProbe, name)
		for i := 1; i < len(list); i++ {
			assert.Assert(t, !list[i].At.Before(list[i-1].At), "%s not sorted at %d", name, i)
		}
	}
}

func TestRecorderShift(t *testing.T) {
	t.Parallel()
	base := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	var rec probe.Recorder
	rec.Emit(probe.Sample{Probe: "agent", At: base, OK: true})
	rec.Emit(probe.Sample{Probe: "agent", At: base.Add(time.Second)})
	rec.Emit(probe.Sample{Probe: "harness", At: base, OK: true})
	rec.Shift("agent", -1500*time.Millisecond)
	rec.Shift("absent", time.Second) // a probe without samples: nothing to do
	assert.DeepEqual(t, rec.Samples("agent"), []probe.Sample{
		{Probe: "agent", At: base.Add(-1500 * time.Millisecond), OK: true},
		{Probe: "agent", At: base.Add(-500 * time.Millisecond)},
	})
	assert.DeepEqual(t, rec.Samples("harness"), []probe.Sample{{Probe: "harness", At: base, OK: true}})
	assert.DeepEqual(t, rec.Probes(), []string{"agent", "harness"})
}

func TestRecorderLastArrival(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		var rec probe.Recorder
		_, ok := rec.LastArrival("a")
		assert.Assert(t, !ok)
		start := time.Now()
		old := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC) // a sample's own time does not matter
		rec.Emit(probe.Sample{Probe: "a", At: old})
		time.Sleep(3 * time.Second)
		rec.Emit(probe.Sample{Probe: "b", At: old})
		got, ok := rec.LastArrival("a")
		assert.Assert(t, ok)
		assert.Equal(t, got, start)
		got, _ = rec.LastArrival("b")
		assert.Equal(t, got, start.Add(3*time.Second))
	})
}
