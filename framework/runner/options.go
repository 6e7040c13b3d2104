// Package runner runs a game day: it brings up (or connects to) the cluster,
// applies fixtures, starts the probes, then for each step observes, injects and
// reverts faults, waits for recovery, and finally scores the samples and writes the
// report. Every fault is journaled before it is injected and reverted on success,
// failure, cancellation (Ctrl-C) and timeout.
package runner

import (
	"errors"
	"time"

	"github.com/gameday-dev/gameday/reports"
)

// Options tune a run. The zero value is usable.
type Options struct {
	// RunsDir is the parent of run folders (default "runs").
	RunsDir string
	// NodeImage overrides the kind node image.
	NodeImage string
	// AllowContexts lists kubeconfig contexts the run may act on, besides the
	// context a scenario names with `kubeconfig.allow: true` (`gameday run
	// --allow-context`).
	AllowContexts []string
	// AllowProductionLooking lets the run act on a cluster whose context name or
	// server host looks like production (see guard.LooksLikeProduction). It does not
	// allow a context by itself: such a context needs both (`gameday run
	// --allow-production-looking`).
	AllowProductionLooking bool
	// DryRun resolves and prints every target and planned action, touching nothing.
	DryRun bool
	// AgentImage is the in-cluster probe agent's image (default gameday/gameday:dev).
	AgentImage string
	// KeepCluster, when set, overrides the scenario's kind.keep.
	KeepCluster *bool
	// Progress receives what the run is doing (default: discarded).
	Progress Progress
	// RevertTimeout bounds reverting faults after a cancellation (default 3m).
	RevertTimeout time.Duration
}

// Progress receives what a run is doing, for people watching it.
type Progress interface {
	// Phase starts a named phase, e.g. "cluster", "fixtures", "step lose-a-worker".
	Phase(name string)
	// Printf reports one event.
	Printf(format string, args ...any)
	// SLO reports an SLO's probe changing state (healthy to failing or back).
	SLO(name string, ok bool, at time.Time, detail string)
}

// Result is a finished (or aborted) run.
type Result struct {
	// Dir is the run folder holding the report, journal and collected logs.
	Dir string
	// Report is what was written to Dir.
	Report *reports.Report
}

// ErrInvalidInput marks errors caused by the scenario, flags or kubeconfig rather
// than the cluster; nothing was touched when a run returns one.
var ErrInvalidInput = errors.New("invalid input")

// ErrRefused marks a run refused by a guard rail (a context not allowed, the cluster
// busy with another run); nothing was touched.
var ErrRefused = errors.New("refused")

type nopProgress struct{}

func (nopProgress) Phase(string)                        {}
func (nopProgress) Printf(string, ...any)               {}
func (nopProgress) SLO(string, bool, time.Time, string) {}
