package reports

import (
	"slices"
	"time"

	"github.com/gameday-dev/gameday/framework/probe"
	"github.com/gameday-dev/gameday/framework/score"
)

// MaxBuckets is how many buckets CompactSamples keeps at most: 360 makes a 1h run
// at any rate ten-second buckets, enough to draw and small to store.
const MaxBuckets = 360

// MaxTransitions caps the transitions kept for a probe that flaps on every sample.
const MaxTransitions = 1000

// bucketWidths are the widths CompactSamples chooses from: the smallest that keeps
// the run within MaxBuckets.
var bucketWidths = []time.Duration{
	100 * time.Millisecond, 250 * time.Millisecond, 500 * time.Millisecond,
	time.Second, 2 * time.Second, 5 * time.Second, 10 * time.Second, 15 * time.Second, 30 * time.Second,
	time.Minute, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute, 15 * time.Minute, 30 * time.Minute,
	time.Hour, 2 * time.Hour, 6 * time.Hour, 12 * time.Hour, 24 * time.Hour,
}

// SampleSeries is a probe's samples compacted two ways: exact state changes
// (Transitions) and a downsampled series (Buckets) for charts.
type SampleSeries struct {
	Count int `json:"count"` // samples compacted
	// Transitions are the runs of equal state: each starts where the state changed.
	Transitions []Transition `json:"transitions"`
	// TransitionsTruncated is true when runs after the first MaxTransitions were dropped.
	TransitionsTruncated bool    `json:"transitionsTruncated,omitempty"`
	Buckets              Buckets `json:"buckets"`
}

// Transition is a run of samples with the same state.
type Transition struct {
	At      time.Time `json:"at"` // first sample of the run
	OK      bool      `json:"ok"`
	Samples int       `json:"samples"`
	Error   string    `json:"error,omitempty"` // error of the first sample
}

// Buckets is the downsampled series, stored by column: bucket i holds the samples
// that started within [Start + i×Width, Start + (i+1)×Width). A bucket with no
// samples is a gap in the data.
type Buckets struct {
	Start       time.Time       `json:"start"`
	Width       time.Duration   `json:"widthNs"`
	Samples     []int           `json:"samples"`
	Failed      []int           `json:"failed"`
	MeanLatency []time.Duration `json:"meanLatencyNs"`
	MaxLatency  []time.Duration `json:"maxLatencyNs"`
}

// Len is the number of buckets.
func (b Buckets) Len() int { return len(b.Samples) }

// At is the start of bucket i.
func (b Buckets) At(i int) time.Time { return b.Start.Add(time.Duration(i) * b.Width) }

// SuccessRatio is the fraction of OK samples in bucket i, 0 when it is empty.
func (b Buckets) SuccessRatio(i int) float64 {
	if b.Samples[i] == 0 {
		return 0
	}
	return float64(b.Samples[i]-b.Failed[i]) / float64(b.Samples[i])
}

// CompactSamples compacts one probe's samples for the report, so a 1h run at 4 Hz
// (14,400 samples, about 1.5 MB of JSON) takes about 10 kB. No-data markers
// (score.IsNoData) are left out: a skipped slot is neither a success nor a failure.
func CompactSamples(samples []probe.Sample) SampleSeries {
	if slices.ContainsFunc(samples, score.IsNoData) {
		samples = slices.DeleteFunc(slices.Clone(samples), score.IsNoData)
	}
	series := SampleSeries{Count: len(samples), Transitions: []Transition{}, Buckets: Buckets{
		Samples: []int{}, Failed: []int{}, MeanLatency: []time.Duration{}, MaxLatency: []time.Duration{},
	}}
	if len(samples) == 0 {
		return series
	}
	if !slices.IsSortedFunc(samples, func(a, b probe.Sample) int { return a.At.Compare(b.At) }) {
		samples = slices.Clone(samples)
		slices.SortStableFunc(samples, func(a, b probe.Sample) int { return a.At.Compare(b.At) })
	}
	b := &series.Buckets
	b.Start = samples[0].At
	span := samples[len(samples)-1].At.Sub(b.Start)
	b.Width = bucketWidths[len(bucketWidths)-1]
	for _, width := range bucketWidths {
		if span/width < MaxBuckets {
			b.Width = width
			break
		}
	}
	n := int(span/b.Width) + 1
	b.Samples, b.Failed = make([]int, n), make([]int, n)
	b.MeanLatency, b.MaxLatency = make([]time.Duration, n), make([]time.Duration, n)

	latencySums := make([]time.Duration, n)
	for i, s := range samples {
		if i == 0 || s.OK != samples[i-1].OK {
			if len(series.Transitions) < MaxTransitions {
				series.Transitions = append(series.Transitions, Transition{At: s.At, OK: s.OK, Error: s.Error})
			} else {
				series.TransitionsTruncated = true
			}
		}
		if !series.TransitionsTruncated {
			series.Transitions[len(series.Transitions)-1].Samples++
		}

		k := int(s.At.Sub(b.Start) / b.Width)
		b.Samples[k]++
		if !s.OK {
			b.Failed[k]++
		}
		latencySums[k] += s.Latency
		b.MaxLatency[k] = max(b.MaxLatency[k], s.Latency)
	}
	for k, sum := range latencySums {
		if b.Samples[k] > 0 {
			b.MeanLatency[k] = sum / time.Duration(b.Samples[k])
		}
	}
	return series
}
