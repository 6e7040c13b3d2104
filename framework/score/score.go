// Package score turns the samples of one SLO's probe into game-day numbers:
// availability, disruption intervals, error budget and burn rate over the run,
// and per fault window the time to detect (MTTD) and the time to recover (MTTR).
//
// # The sample model
//
// Samples are ordered by At. A sample stands for the time from its At to the next
// sample's At, so a failing run of samples is a disruption from its first failing
// sample to the first OK sample after it. Three places have no "next sample":
//
//   - The end of the data: a run still failing at the last sample is Open and ends
//     at the last sample's At (nothing says how long it lasted afterwards).
//   - A gap: when consecutive samples are more than GapFactor × Options.Interval
//     apart, the time between them is a NoData interval. It is neither OK nor
//     failing: a disruption that reaches it is Open and ends at its last failing
//     sample, a disruption after it is a new one, and a healthy run never spans it.
//     An Interval of zero turns gap detection off.
//   - So the last failing sample before a gap or at the end adds no time: a lone
//     failing sample there is a zero-length disruption, yet a failed sample.
//
// # Fault windows
//
// Each Window is one fault step. Window k is scored over its attribution range
// [Start, next window's Start), the last one up to the end of the data; End (when
// the fault was reverted) is kept for display and not used in the math, since a
// fault's effect outlives its revert.
//
//   - MTTD: Start to the first failing sample at or after Start inside the range;
//     not detected when there is none.
//   - MTTR: Start to the start of the first healthy run (OK samples, no gap, lasting
//     at least Options.HealthyWindow) that begins after the first failing sample and
//     before the range ends; not recovered when there is none. A run's length is
//     measured to the sample that ends it (the next failing sample, the last OK
//     sample before a gap, or the last sample). So flapping, OK runs shorter than
//     HealthyWindow between failures, does not end the outage; Flaps counts the
//     failing runs that began in the range.
//   - FailingAtStart: the last sample before Start was already failing, so MTTD is
//     about zero and says nothing about how fast the fault was noticed.
//
// Failing samples before the first window (or in a run without windows) are
// pre-existing disruption: those disruptions are marked PreExisting and their
// seconds before the first window are PreExistingSeconds. They still count against
// availability and the error budget: users saw them.
//
// # Run-wide numbers
//
// Availability, error budget and burn rate count samples, not seconds, so a gap
// weighs nothing. A run without samples has Availability 0 and does not pass: it
// proves nothing. An Objective of 1 leaves no budget: ErrorBudgetConsumed and
// BurnRate stay 0 and any failure fails the objective.
package score

import (
	"slices"
	"sort"
	"time"

	"github.com/gameday-dev/gameday/framework/probe"
)

// GapFactor is how many sampling intervals may pass between two samples before
// the time between them counts as "no data".
const GapFactor = 3

// Options are the SLO parameters that scoring needs.
type Options struct {
	// Objective is the target fraction of OK samples, in (0, 1), e.g. 0.99.
	Objective float64 `json:"objective"`
	// HealthyWindow is how long a run of OK samples must last to end an outage.
	HealthyWindow time.Duration `json:"healthyWindowNs"`
	// Interval is the probe's sampling interval; zero turns gap detection off.
	Interval time.Duration `json:"intervalNs"`
}

// Window is the time during which one fault step was active.
type Window struct {
	Name  string    `json:"name"`  // scenario step name
	Start time.Time `json:"start"` // when the fault was injected
	End   time.Time `json:"end"`   // when the fault was reverted
}

// Interval is a span of time [Start, End).
type Interval struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
}

// Duration is the length of the interval.
func (i Interval) Duration() time.Duration { return i.End.Sub(i.Start) }

// Disruption is a contiguous run of failing samples.
type Disruption struct {
	Interval
	// Samples is the number of failing samples in the run.
	Samples int `json:"samples"`
	// Open is true when the data stopped while still failing (end of the run or a
	// no-data gap): End is then the last failing sample.
	Open bool `json:"open,omitempty"`
	// PreExisting is true when the run began before the first fault window.
	PreExisting bool `json:"preExisting,omitempty"`
	// FirstError is the error of the first failing sample.
	FirstError string `json:"firstError,omitempty"`
}

// Fault is the score of one fault window.
type Fault struct {
	Window Window `json:"window"`
	// Until is the end of the window's attribution range: the next window's start,
	// or for the last window the last sample (or Start if no sample came after it).
	Until time.Time `json:"until"`
	// Detected reports whether a failing sample was seen in the range; MTTD and
	// DetectedAt are set exactly when it is true.
	Detected   bool           `json:"detected"`
	DetectedAt time.Time      `json:"detectedAt,omitzero"`
	MTTD       *time.Duration `json:"mttdNs,omitempty"`
	// Recovered reports whether a healthy run began after the first failure; MTTR
	// and RecoveredAt (the start of that healthy run) are set exactly when it is true.
	Recovered   bool           `json:"recovered"`
	RecoveredAt time.Time      `json:"recoveredAt,omitzero"`
	MTTR        *time.Duration `json:"mttrNs,omitempty"`
	// FailingAtStart is true when the probe was already failing before Start.
	FailingAtStart bool `json:"failingAtStart,omitempty"`
	// Samples and Failed count the samples in the range.
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
	// First and Last are the times of the first and last samples.
	First time.Time `json:"first,omitzero"`
	Last  time.Time `json:"last,omitzero"`
	// Samples and Failed count all samples and the failing ones.
	Samples int `json:"samples"`
	Failed  int `json:"failed"`
	// Availability is the fraction of OK samples; 0 without samples.
	Availability float64 `json:"availability"`
	// Disruptions are the failing runs in time order.
	Disruptions       []Disruption `json:"disruptions"`
	DisruptionSeconds float64      `json:"disruptionSeconds"`
	// PreExistingSeconds is the disrupted time before the first fault window.
	PreExistingSeconds float64 `json:"preExistingSeconds"`
	// NoData are the sampling gaps longer than GapFactor intervals.
	NoData        []Interval `json:"noData"`
	NoDataSeconds float64    `json:"noDataSeconds"`
	// ErrorBudgetConsumed is the fraction of the run's error budget (1 - objective)
	// that failures used: 1 means all of it. Zero when the objective is 1 (no budget).
	ErrorBudgetConsumed float64 `json:"errorBudgetConsumed"`
	// BurnRate is the run's error rate divided by the error budget. Over the whole
	// run it equals ErrorBudgetConsumed (the budget period is the run); compare it
	// with Fault.BurnRate to see how fast each fault burned.
	BurnRate float64 `json:"burnRate"`
	// Passed is true when there were samples and Availability met the objective.
	Passed bool `json:"passed"`
	// Faults are the per-window scores, ordered by window start.
	Faults []Fault `json:"faults"`
}

// passTolerance absorbs float rounding when availability equals the objective.
const passTolerance = 1e-12

// Compute scores the samples of one SLO's probe against the fault windows.
// Samples should be ordered by At; they are sorted (on a copy) when they are not.
// Windows may come in any order. See the package documentation for the edge cases.
func Compute(samples []probe.Sample, faults []Window, opts Options) Result {
	res, runs, sorted := scan(samples, opts.Interval)
	if !sorted {
		samples = slices.Clone(samples)
		slices.SortStableFunc(samples, func(a, b probe.Sample) int { return a.At.Compare(b.At) })
		res, runs, _ = scan(samples, opts.Interval)
	}
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
	for _, gap := range res.NoData {
		res.NoDataSeconds += gap.Duration().Seconds()
	}

	budget := 1 - opts.Objective
	if res.Samples > 0 {
		errorRate := float64(res.Failed) / float64(res.Samples)
		res.Availability = 1 - errorRate
		res.Passed = res.Availability >= opts.Objective-passTolerance
		if budget > 0 {
			res.ErrorBudgetConsumed = errorRate / budget
			res.BurnRate = errorRate / budget
		}
	}

	for k, w := range windows {
		f := Fault{Window: w, Until: maxTime(res.Last, w.Start)}
		last := k+1 == len(windows)
		if !last {
			f.Until = windows[k+1].Start
		}
		scoreFault(&f, samples, res.Disruptions, runs, last, opts)
		res.Faults = append(res.Faults, f)
	}
	return res
}

// failingRun is a disruption as sample indices: samples[first..last] all failed.
type failingRun struct{ first, last int }

// isGap reports whether the time between two consecutive samples is "no data".
func isGap(prev, next time.Time, interval time.Duration) bool {
	return interval > 0 && next.Sub(prev) > GapFactor*interval
}

// scan counts samples and finds disruptions and no-data intervals in one pass.
// It stops early and reports sorted=false when the samples are out of order.
func scan(samples []probe.Sample, interval time.Duration) (res Result, runs []failingRun, sorted bool) {
	res = Result{Samples: len(samples), Disruptions: []Disruption{}, NoData: []Interval{}, Faults: []Fault{}}
	if len(samples) == 0 {
		return res, nil, true
	}
	res.First, res.Last = samples[0].At, samples[len(samples)-1].At
	failing := false
	closeRun := func(lastFailing int, end time.Time, open bool) {
		d := &res.Disruptions[len(res.Disruptions)-1]
		d.End, d.Open = end, open
		runs = append(runs, failingRun{first: lastFailing - d.Samples + 1, last: lastFailing})
		failing = false
	}
	for i, s := range samples {
		if i > 0 {
			prev := samples[i-1].At
			if s.At.Before(prev) {
				return res, nil, false
			}
			if isGap(prev, s.At, interval) {
				if failing {
					closeRun(i-1, prev, true)
				}
				res.NoData = append(res.NoData, Interval{Start: prev, End: s.At})
			}
		}
		switch {
		case !s.OK:
			res.Failed++
			if !failing {
				res.Disruptions = append(res.Disruptions, Disruption{Interval: Interval{Start: s.At}, FirstError: s.Error})
				failing = true
			}
			res.Disruptions[len(res.Disruptions)-1].Samples++
		case failing:
			closeRun(i-1, s.At, false)
		}
	}
	if failing {
		closeRun(len(samples)-1, res.Last, true)
	}
	return res, runs, true
}

// scoreFault scores one window over its attribution range [Start, Until), which
// for the last window also includes Until (the last sample).
func scoreFault(f *Fault, samples []probe.Sample, disruptions []Disruption, runs []failingRun, last bool, opts Options) {
	begin := sort.Search(len(samples), func(i int) bool { return !samples[i].At.Before(f.Window.Start) })
	end := sort.Search(len(samples), func(i int) bool {
		if last {
			return samples[i].At.After(f.Until)
		}
		return !samples[i].At.Before(f.Until)
	})
	end = max(begin, end)
	f.Samples = end - begin
	f.FailingAtStart = begin > 0 && !samples[begin-1].OK

	firstFailure := -1
	for r, run := range runs {
		from, to := max(run.first, begin), min(run.last+1, end)
		if from < to {
			f.Failed += to - from
			if firstFailure < 0 {
				firstFailure = from
			}
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
	if firstFailure < 0 {
		return
	}
	f.Detected, f.DetectedAt = true, samples[firstFailure].At
	mttd := f.DetectedAt.Sub(f.Window.Start)
	f.MTTD = &mttd

	if healthy, ok := firstHealthyRun(samples, firstFailure, f.Until, last, opts); ok {
		f.Recovered, f.RecoveredAt = true, healthy
		mttr := healthy.Sub(f.Window.Start)
		f.MTTR = &mttr
	}
}

// firstHealthyRun finds the start of the first run of OK samples after index
// failure that lasts at least opts.HealthyWindow and begins before until.
func firstHealthyRun(samples []probe.Sample, failure int, until time.Time, last bool, opts Options) (time.Time, bool) {
	runStart := -1
	for i := failure + 1; i < len(samples); i++ {
		s := samples[i]
		if isGap(samples[i-1].At, s.At, opts.Interval) {
			runStart = -1
		}
		if !s.OK {
			if runStart >= 0 && s.At.Sub(samples[runStart].At) >= opts.HealthyWindow {
				return samples[runStart].At, true
			}
			runStart = -1
			continue
		}
		if runStart < 0 {
			if s.At.After(until) || !last && s.At.Equal(until) {
				return time.Time{}, false
			}
			runStart = i
		}
		if s.At.Sub(samples[runStart].At) >= opts.HealthyWindow {
			return samples[runStart].At, true
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
