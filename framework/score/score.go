// Package score turns the samples of one SLO's probe into game-day numbers:
// availability, disruption intervals, error budget consumed over the SLO period
// and burn rate over the run, and per fault window the time to detect (MTTD), the
// time to recover (MTTR) and an explicit Outcome. docs/scoring.md defines every
// figure and lists the edge cases; each row of its table is a test case here.
//
// # The sample model
//
// A sample is one probe attempt. It is one of:
//
//   - good: OK, and not slower than Options.LatencyMax (when that is set);
//   - bad for errors: not OK;
//   - bad for latency: OK but slower than Options.LatencyMax;
//   - no data: a marker for a scheduled attempt that was never made (see IsNoData).
//     It is dropped before scoring: never a failure, never a success.
//
// Attempts are ordered by At. An attempt stands for the time from its At to the
// next attempt's At, so a bad run of attempts is a disruption from its first bad
// attempt to the first good attempt after it. Three places have no "next attempt":
//
//   - The end of the data: a run still bad at the last attempt is Open and ends
//     at the last attempt's At (nothing says how long it lasted afterwards).
//   - A gap: when consecutive attempts are more than GapFactor × Options.Interval +
//     Options.Timeout apart (an attempt may run for Timeout before the next one can
//     start), the time between them is a NoData interval. It is neither good nor
//     bad: a disruption that reaches it is Open and ends at its last bad attempt, a
//     disruption after it is a new one, and a healthy run never spans it. An
//     Interval of zero turns gap detection off.
//   - So the last bad attempt before a gap or at the end adds no time: a lone bad
//     attempt there is a zero-length disruption, yet a bad attempt.
//
// # Fault windows
//
// Each Window is one fault step. Window k is scored over its attribution range
// [Start, next window's Start), the last one up to and including the last attempt.
// End (when the fault was reverted) is kept for display and not used in the math,
// since a fault's effect outlives its revert. Effective is when the fault took
// effect (zero means Start); Effective − Start is the injection time, reported on
// its own and never part of MTTD or MTTR.
//
//   - Outcome failingAtInjection: the last attempt before Start was bad. MTTD and
//     MTTR are not measured: the SLO was not healthy before the fault.
//   - Outcome noData: no attempt at or after Effective in the range, and no bad one.
//   - Outcome notDetected: attempts, but none bad, in the range.
//   - MTTD: Effective to the first bad attempt at or after Start in the range, at
//     least zero.
//   - MTTR: Effective to the start of the sustained healthy run (good attempts, no
//     gap, lasting at least Options.HealthyWindow) that follows the LAST bad attempt
//     in the range and begins inside it: every outage of the range is covered.
//     Outcome recovered when there is one, notRecovered when not.
//
// Bad attempts before the first window (or in a run without windows) are
// pre-existing disruption: those disruptions are marked PreExisting and their
// seconds before the first window are PreExistingSeconds. They still count against
// availability and the error budget: users saw them.
//
// # Run-wide numbers
//
// Availability, error budget and burn rate count attempts, not seconds, so a gap or
// a slow attempt weighs one attempt. A run without attempts has Availability 0 and
// does not pass: it proves nothing. An Objective of 1 leaves no budget:
// ErrorBudgetConsumed and BurnRate stay 0 and any bad attempt fails the objective.
package score

import (
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/gameday-dev/gameday/framework/probe"
)

// GapFactor is how many sampling intervals, beyond one probe timeout, may pass
// between two attempts before the time between them counts as "no data".
const GapFactor = 3

// DefaultPeriod is the SLO period used when Options.Period is zero: 30 days, a
// rolling window as in OpenSLO.
const DefaultPeriod = 30 * 24 * time.Hour

// Options are the SLO parameters that scoring needs.
type Options struct {
	// Objective is the target fraction of good attempts, in (0, 1), e.g. 0.99.
	Objective float64 `json:"objective"`
	// HealthyWindow is how long a run of good attempts must last to end an outage.
	HealthyWindow time.Duration `json:"healthyWindowNs"`
	// Interval is the probe's sampling interval; zero turns gap detection off.
	Interval time.Duration `json:"intervalNs"`
	// Timeout is the probe's attempt timeout; it widens the gap limit.
	Timeout time.Duration `json:"timeoutNs,omitempty"`
	// LatencyMax, when positive, makes an OK attempt slower than it a bad attempt.
	LatencyMax time.Duration `json:"latencyMaxNs,omitempty"`
	// Period is the SLO period the error budget is counted against; zero means
	// DefaultPeriod.
	Period time.Duration `json:"periodNs,omitempty"`
}

// period is Options.Period with its default.
func (o Options) period() time.Duration {
	if o.Period > 0 {
		return o.Period
	}
	return DefaultPeriod
}

// Window is the time during which one fault step was active.
type Window struct {
	Name  string    `json:"name"`  // scenario step name
	Start time.Time `json:"start"` // when injection began
	// Effective is when the fault took effect (injection done); zero means Start.
	Effective time.Time `json:"effective,omitzero"`
	End       time.Time `json:"end"` // when the fault was reverted
}

// effective is Effective, or Start when Effective is zero or before Start.
func (w Window) effective() time.Time {
	if w.Effective.IsZero() || w.Effective.Before(w.Start) {
		return w.Start
	}
	return w.Effective
}

// Interval is a span of time [Start, End).
type Interval struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
}

// Duration is the length of the interval.
func (i Interval) Duration() time.Duration { return i.End.Sub(i.Start) }

// Disruption is a contiguous run of bad attempts.
type Disruption struct {
	Interval
	// Samples is the number of bad attempts in the run.
	Samples int `json:"samples"`
	// Open is true when the data stopped while still bad (end of the run or a
	// no-data gap): End is then the last bad attempt.
	Open bool `json:"open,omitempty"`
	// PreExisting is true when the run began before the first fault window.
	PreExisting bool `json:"preExisting,omitempty"`
	// FirstError is why the first attempt of the run was bad.
	FirstError string `json:"firstError,omitempty"`
}

// Outcome is what scoring concluded about one fault window.
type Outcome string

// The outcomes of a fault window; docs/scoring.md defines each.
const (
	// OutcomeRecovered: detected, then a sustained healthy run ended the disruption.
	OutcomeRecovered Outcome = "recovered"
	// OutcomeNotRecovered: detected, but no sustained healthy run followed inside the range.
	OutcomeNotRecovered Outcome = "notRecovered"
	// OutcomeNotDetected: attempts were made in the range and none was bad.
	OutcomeNotDetected Outcome = "notDetected"
	// OutcomeFailingAtInjection: the attempt before the fault began was already bad.
	OutcomeFailingAtInjection Outcome = "failingAtInjection"
	// OutcomeNoData: no attempt after the fault took effect, and no bad attempt.
	OutcomeNoData Outcome = "noData"
)

// Fault is the score of one fault window.
type Fault struct {
	Window Window `json:"window"`
	// Until is the end of the window's attribution range: the next window's start,
	// or for the last window the last attempt (or Start if none came after it).
	Until time.Time `json:"until"`
	// Outcome says which of the cases below applies.
	Outcome Outcome `json:"outcome"`
	// Injection is how long the injection took: Effective − Start.
	Injection time.Duration `json:"injectionNs"`
	// Detected is true for outcomes recovered and notRecovered; MTTD and
	// DetectedAt (the first bad attempt) are set exactly when it is true.
	Detected   bool           `json:"detected"`
	DetectedAt time.Time      `json:"detectedAt,omitzero"`
	MTTD       *time.Duration `json:"mttdNs,omitempty"`
	// Recovered is true for outcome recovered; MTTR is set exactly when it is true.
	Recovered bool `json:"recovered"`
	// RecoveredAt is the start of the sustained healthy run that ended the
	// disruption: set for outcome recovered, and for failingAtInjection when the
	// disruption ended inside the range.
	RecoveredAt time.Time      `json:"recoveredAt,omitzero"`
	MTTR        *time.Duration `json:"mttrNs,omitempty"`
	// FailingAtStart is true when the probe was already failing before Start.
	FailingAtStart bool `json:"failingAtStart,omitempty"`
	// Samples and Failed count the attempts and bad attempts in the range.
	Samples int `json:"samples"`
	Failed  int `json:"failed"`
	// Flaps is the number of disruptions that began in the range.
	Flaps int `json:"flaps"`
	// DisruptionSeconds is the disrupted time within the range.
	DisruptionSeconds float64 `json:"disruptionSeconds"`
	// BurnRate is the range's error rate divided by the error budget (1 - objective).
	BurnRate float64 `json:"burnRate"`
}

// Result is the score of one SLO's probe over a whole run.
type Result struct {
	// First and Last are the times of the first and last attempts.
	First time.Time `json:"first,omitzero"`
	Last  time.Time `json:"last,omitzero"`
	// Samples counts attempts (no-data markers excluded); Failed the bad ones, of
	// which Errored failed and Slow succeeded slower than the latency objective.
	Samples int `json:"samples"`
	Failed  int `json:"failed"`
	Errored int `json:"errored"`
	Slow    int `json:"slow"`
	// NoDataSamples counts the no-data markers that were dropped.
	NoDataSamples int `json:"noDataSamples"`
	// Availability is the fraction of good attempts; 0 without attempts.
	Availability float64 `json:"availability"`
	// Disruptions are the bad runs in time order.
	Disruptions       []Disruption `json:"disruptions"`
	DisruptionSeconds float64      `json:"disruptionSeconds"`
	// PreExistingSeconds is the disrupted time before the first fault window.
	PreExistingSeconds float64 `json:"preExistingSeconds"`
	// NoData are the sampling gaps (see the package documentation).
	NoData        []Interval `json:"noData"`
	NoDataSeconds float64    `json:"noDataSeconds"`
	// ErrorBudgetAllowed is how many bad attempts the SLO period allows:
	// (1 - objective) × period / interval. Zero without an interval or budget.
	ErrorBudgetAllowed float64 `json:"errorBudgetAllowed"`
	// ErrorBudgetConsumed is Failed / ErrorBudgetAllowed: the share of the period's
	// error budget this run used (1 means all of it). Zero when nothing is allowed.
	ErrorBudgetConsumed float64 `json:"errorBudgetConsumed"`
	// BurnRate is the run's error rate divided by (1 - objective): how many times
	// faster than sustainable the run spent budget.
	BurnRate float64 `json:"burnRate"`
	// Passed is true when there were attempts and Availability met the objective.
	Passed bool `json:"passed"`
	// Faults are the per-window scores, ordered by window start.
	Faults []Fault `json:"faults"`
}

// passTolerance absorbs float rounding when availability equals the objective.
const passTolerance = 1e-12

// IsNoData reports whether a sample is a no-data marker: a scheduled attempt that
// was never made (Error probe.OverranError). Such samples are never failures.
func IsNoData(s probe.Sample) bool { return s.Error == probe.OverranError }

// attempt is one sample as scoring sees it.
type attempt struct {
	at   time.Time
	bad  bool
	slow bool
	why  string // why it was bad
}

// attempts drops no-data markers, classifies the rest and sorts them by time.
func attempts(samples []probe.Sample, latencyMax time.Duration) (out []attempt, noData int) {
	out = make([]attempt, 0, len(samples))
	for _, s := range samples {
		switch {
		case IsNoData(s):
			noData++
		case !s.OK:
			out = append(out, attempt{at: s.At, bad: true, why: s.Error})
		case latencyMax > 0 && s.Latency > latencyMax:
			out = append(out, attempt{at: s.At, bad: true, slow: true,
				why: fmt.Sprintf("slower than %s (%s)", latencyMax, s.Latency)})
		default:
			out = append(out, attempt{at: s.At})
		}
	}
	if !slices.IsSortedFunc(out, byTime) {
		slices.SortStableFunc(out, byTime)
	}
	return out, noData
}

func byTime(a, b attempt) int { return a.at.Compare(b.at) }

// Compute scores the samples of one SLO's probe against the fault windows.
// Samples and windows may come in any order; the caller's slices are not changed.
// See the package documentation and docs/scoring.md for the definitions.
func Compute(samples []probe.Sample, faults []Window, opts Options) Result {
	as, noData := attempts(samples, opts.LatencyMax)
	gap := gapLimit(opts)
	res, runs := scan(as, gap)
	res.NoDataSamples = noData
	windows := slices.Clone(faults)
	slices.SortStableFunc(windows, func(a, b Window) int { return a.Start.Compare(b.Start) })

	for i := range res.Disruptions {
		d := &res.Disruptions[i]
		res.DisruptionSeconds += d.Duration().Seconds()
		end := d.End
		if len(windows) > 0 {
			d.PreExisting = d.Start.Before(windows[0].Start)
			end = minTime(end, windows[0].Start)
		} else {
			d.PreExisting = true
		}
		if d.PreExisting {
			res.PreExistingSeconds += end.Sub(d.Start).Seconds()
		}
	}
	for _, g := range res.NoData {
		res.NoDataSeconds += g.Duration().Seconds()
	}

	budget := 1 - opts.Objective
	if budget > 0 && opts.Interval > 0 {
		res.ErrorBudgetAllowed = budget * float64(opts.period()) / float64(opts.Interval)
	}
	if res.Samples > 0 {
		errorRate := float64(res.Failed) / float64(res.Samples)
		res.Availability = 1 - errorRate
		res.Passed = res.Availability >= opts.Objective-passTolerance
		if budget > 0 {
			res.BurnRate = errorRate / budget
		}
		if res.ErrorBudgetAllowed > 0 {
			res.ErrorBudgetConsumed = float64(res.Failed) / res.ErrorBudgetAllowed
		}
	}

	for k, w := range windows {
		f := Fault{Window: w, Until: maxTime(res.Last, w.Start), Injection: w.effective().Sub(w.Start)}
		last := k+1 == len(windows)
		if !last {
			f.Until = windows[k+1].Start
		}
		scoreFault(&f, as, res.Disruptions, runs, last, gap, opts)
		res.Faults = append(res.Faults, f)
	}
	return res
}

// CountRange counts the attempts in [from, to) as Compute would: Samples,
// Failed, Errored, Slow, NoDataSamples and Availability are set, nothing else.
// It is the availability of a step that is not a fault step.
func CountRange(samples []probe.Sample, from, to time.Time, opts Options) Result {
	var in []probe.Sample
	for _, s := range samples {
		if !s.At.Before(from) && s.At.Before(to) {
			in = append(in, s)
		}
	}
	as, noData := attempts(in, opts.LatencyMax)
	res := Result{Samples: len(as), NoDataSamples: noData}
	for _, a := range as {
		count(&res, a)
	}
	if res.Samples > 0 {
		res.Availability = 1 - float64(res.Failed)/float64(res.Samples)
		res.Passed = res.Availability >= opts.Objective-passTolerance
	}
	return res
}

func count(res *Result, a attempt) {
	switch {
	case a.slow:
		res.Failed++
		res.Slow++
	case a.bad:
		res.Failed++
		res.Errored++
	}
}

// failingRun is a disruption as attempt indices: as[first..last] were all bad.
type failingRun struct{ first, last int }

// gapLimit is the longest time between two attempts that is not "no data"; zero
// turns gap detection off.
func gapLimit(opts Options) time.Duration {
	if opts.Interval <= 0 {
		return 0
	}
	return GapFactor*opts.Interval + max(opts.Timeout, 0)
}

// isGap reports whether the time between two consecutive attempts is "no data".
func isGap(prev, next time.Time, limit time.Duration) bool {
	return limit > 0 && next.Sub(prev) > limit
}

// scan counts attempts and finds disruptions and no-data intervals in one pass.
func scan(as []attempt, gap time.Duration) (res Result, runs []failingRun) {
	res = Result{Samples: len(as), Disruptions: []Disruption{}, NoData: []Interval{}, Faults: []Fault{}}
	if len(as) == 0 {
		return res, nil
	}
	res.First, res.Last = as[0].at, as[len(as)-1].at
	failing := false
	closeRun := func(lastBad int, end time.Time, open bool) {
		d := &res.Disruptions[len(res.Disruptions)-1]
		d.End, d.Open = end, open
		runs = append(runs, failingRun{first: lastBad - d.Samples + 1, last: lastBad})
		failing = false
	}
	for i, a := range as {
		if i > 0 {
			prev := as[i-1].at
			if isGap(prev, a.at, gap) {
				if failing {
					closeRun(i-1, prev, true)
				}
				res.NoData = append(res.NoData, Interval{Start: prev, End: a.at})
			}
		}
		count(&res, a)
		switch {
		case a.bad:
			if !failing {
				res.Disruptions = append(res.Disruptions, Disruption{Interval: Interval{Start: a.at}, FirstError: a.why})
				failing = true
			}
			res.Disruptions[len(res.Disruptions)-1].Samples++
		case failing:
			closeRun(i-1, a.at, false)
		}
	}
	if failing {
		closeRun(len(as)-1, res.Last, true)
	}
	return res, runs
}

// scoreFault scores one window over its attribution range [Start, Until), which
// for the last window also includes Until (the last attempt).
func scoreFault(f *Fault, as []attempt, disruptions []Disruption, runs []failingRun, last bool, gap time.Duration, opts Options) {
	inRange := func(t time.Time) bool { return t.Before(f.Until) || last && t.Equal(f.Until) }
	begin := sort.Search(len(as), func(i int) bool { return !as[i].at.Before(f.Window.Start) })
	end := sort.Search(len(as), func(i int) bool { return !inRange(as[i].at) })
	end = max(begin, end)
	f.Samples = end - begin
	f.FailingAtStart = begin > 0 && as[begin-1].bad

	firstBad, lastBad := -1, -1
	for r, run := range runs {
		from, to := max(run.first, begin), min(run.last+1, end)
		if from < to {
			f.Failed += to - from
			if firstBad < 0 {
				firstBad = from
			}
			lastBad = to - 1
		}
		if run.first >= begin && run.first < end {
			f.Flaps++
		}
		d := disruptions[r]
		start, stop := maxTime(d.Start, f.Window.Start), minTime(d.End, f.Until)
		if stop.After(start) {
			f.DisruptionSeconds += stop.Sub(start).Seconds()
		}
	}
	if f.Samples > 0 {
		if budget := 1 - opts.Objective; budget > 0 {
			f.BurnRate = float64(f.Failed) / float64(f.Samples) / budget
		}
	}

	zero := f.Window.effective()
	switch {
	case f.FailingAtStart:
		f.Outcome = OutcomeFailingAtInjection
		if healthy, ok := healthyRunAfter(as, begin-1, lastBad, f.Until, last, gap, opts.HealthyWindow); ok {
			f.RecoveredAt = healthy
		}
		return
	case firstBad < 0:
		after := sort.Search(len(as), func(i int) bool { return !as[i].at.Before(zero) })
		if after < end {
			f.Outcome = OutcomeNotDetected
		} else {
			f.Outcome = OutcomeNoData
		}
		return
	}
	f.Detected, f.DetectedAt = true, as[firstBad].at
	mttd := max(f.DetectedAt.Sub(zero), 0)
	f.MTTD = &mttd
	f.Outcome = OutcomeNotRecovered
	if healthy, ok := healthyRunAfter(as, firstBad, lastBad, f.Until, last, gap, opts.HealthyWindow); ok {
		f.Outcome, f.Recovered, f.RecoveredAt = OutcomeRecovered, true, healthy
		mttr := max(healthy.Sub(zero), 0)
		f.MTTR = &mttr
	}
}

// healthyRunAfter finds the start of the first run of good attempts after index
// lastBad (or after firstBad when there is no bad attempt in the range) that
// lasts at least healthy and begins inside the range (before until, or at it for
// the last window).
func healthyRunAfter(as []attempt, firstBad, lastBad int, until time.Time, last bool, gap, healthy time.Duration) (time.Time, bool) {
	from := max(firstBad, lastBad)
	runStart := -1
	for i := from + 1; i < len(as); i++ {
		a := as[i]
		if isGap(as[i-1].at, a.at, gap) {
			runStart = -1
		}
		if a.bad {
			if runStart >= 0 && a.at.Sub(as[runStart].at) >= healthy {
				return as[runStart].at, true
			}
			runStart = -1
			continue
		}
		if runStart < 0 {
			if a.at.After(until) || !last && a.at.Equal(until) {
				return time.Time{}, false
			}
			runStart = i
		}
		if a.at.Sub(as[runStart].at) >= healthy {
			return as[runStart].at, true
		}
	}
	return time.Time{}, false
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
