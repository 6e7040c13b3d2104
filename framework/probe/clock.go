package probe

import (
	"sync"
	"time"
)

// AgentClock estimates how far the in-cluster agent's clock is from the harness clock. The
// agent timestamps its samples with its node's clock and the harness its own with the
// harness clock; scoring one against fault windows timed by the harness needs them on one
// clock.
//
// Every line the agent writes carries an agent time it was written at or after (a
// heartbeat's time; a sample's start plus its latency), and the harness notes when the line
// arrived. A line cannot arrive before it was written, so each line bounds the offset from
// above: offset <= received - written. The line that travelled fastest gives the tightest
// bound, and that bound is the estimate (the NTP minimum-delay filter): it is off by that
// line's own delay, which is unknown but never negative. From below, the agent wrote nothing
// before the harness created its pod, so offset >= notBefore - earliest agent time. The
// true offset lies between the two bounds; Estimate reports the upper one and their
// distance as the uncertainty.
//
// An AgentClock is safe for concurrent use.
type AgentClock struct {
	mu         sync.Mutex
	notBefore  time.Time
	minDiff    time.Duration // min over lines of received - written
	earliest   time.Time     // earliest agent time written
	heartbeats int
	lines      int
}

// NewAgentClock returns an estimator for an agent whose pod the harness created after
// notBefore (a harness time taken before the create request). A zero notBefore gives no
// lower bound: the estimate's Uncertainty is then unknown (negative).
func NewAgentClock(notBefore time.Time) *AgentClock {
	return &AgentClock{notBefore: notBefore}
}

// Observe records one agent line written at agent time written and received at harness time
// received; heartbeat says whether it was a heartbeat line. FollowAgentWithClock calls it
// for every line it reads.
func (c *AgentClock) Observe(written, received time.Time, heartbeat bool) {
	if written.IsZero() || received.IsZero() {
		return
	}
	diff := received.Sub(written)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.lines == 0 || diff < c.minDiff {
		c.minDiff = diff
	}
	if c.earliest.IsZero() || written.Before(c.earliest) {
		c.earliest = written
	}
	c.lines++
	if heartbeat {
		c.heartbeats++
	}
}

// ClockEstimate is an estimate of the agent clock's offset from the harness clock.
type ClockEstimate struct {
	// Offset turns an agent time into a harness time: harness = agent + Offset.
	Offset time.Duration
	// Uncertainty bounds the estimate's error: the true offset lies between
	// Offset - Uncertainty and Offset. Negative when no lower bound was known.
	Uncertainty time.Duration
	Heartbeats  int // heartbeat lines observed
	Lines       int // lines observed, heartbeats included
}

// Estimate returns the current estimate, and false before any line was observed.
func (c *AgentClock) Estimate() (ClockEstimate, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.lines == 0 {
		return ClockEstimate{}, false
	}
	e := ClockEstimate{Offset: c.minDiff, Uncertainty: -1, Heartbeats: c.heartbeats, Lines: c.lines}
	if !c.notBefore.IsZero() {
		lower := c.notBefore.Sub(c.earliest)
		// Bounds that cross mean notBefore was taken too late; the upper bound still holds.
		e.Uncertainty = max(e.Offset-lower, 0)
	}
	return e, true
}

// Correct returns s with its start time moved from the agent clock to the harness clock.
func (e ClockEstimate) Correct(s Sample) Sample {
	s.At = s.At.Add(e.Offset)
	return s
}
