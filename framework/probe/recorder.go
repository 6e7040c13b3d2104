package probe

import (
	"slices"
	"sync"
	"time"
)

// Recorder collects the samples of many probes. It is safe for concurrent use, so its Emit
// can be handed to several probes (or RunAll) at once, and it can be read while they run to
// show live progress. The zero value is ready to use.
type Recorder struct {
	mu      sync.Mutex
	byProbe map[string][]Sample  // each slice kept sorted by At
	arrived map[string]time.Time // harness time of each probe's latest Emit
}

// Emit records s. Pass it as the emit function of a probe: probe.Run(ctx, rec.Emit).
func (r *Recorder) Emit(s Sample) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.byProbe == nil {
		r.byProbe = make(map[string][]Sample)
		r.arrived = make(map[string]time.Time)
	}
	r.arrived[s.Probe] = time.Now()
	list := r.byProbe[s.Probe]
	// Samples almost always arrive in order: search back from the end.
	i := len(list)
	for i > 0 && list[i-1].At.After(s.At) {
		i--
	}
	r.byProbe[s.Probe] = slices.Insert(list, i, s)
}

// Probes returns the names of the probes that have samples, sorted.
func (r *Recorder) Probes() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	names := make([]string, 0, len(r.byProbe))
	for name := range r.byProbe {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// Samples returns a copy of one probe's samples sorted by At.
func (r *Recorder) Samples(probe string) []Sample {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.byProbe[probe])
}

// All returns a copy of every probe's samples, each sorted by At.
func (r *Recorder) All() map[string][]Sample {
	r.mu.Lock()
	defer r.mu.Unlock()
	all := make(map[string][]Sample, len(r.byProbe))
	for name, list := range r.byProbe {
		all[name] = slices.Clone(list)
	}
	return all
}

// Last returns the latest sample of one probe, and false when it has none yet.
func (r *Recorder) Last(probe string) (Sample, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	list := r.byProbe[probe]
	if len(list) == 0 {
		return Sample{}, false
	}
	return list[len(list)-1], true
}

// Shift moves every sample of one probe by d, for example from the agent's clock to the
// harness clock (see ClockEstimate). The order is unchanged.
func (r *Recorder) Shift(probe string, d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := range r.byProbe[probe] {
		r.byProbe[probe][i].At = r.byProbe[probe][i].At.Add(d)
	}
}

// LastArrival returns when, by the harness clock, the latest sample of one probe was
// recorded (whatever its own time says), and false when it has none yet. A stream that
// has stalled shows as an old LastArrival however recent its samples' times are.
func (r *Recorder) LastArrival(probe string) (time.Time, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	t, ok := r.arrived[probe]
	return t, ok
}
