// Package scenario is the scenario file API: the versioned types of a game-day scenario
// (apiVersion gameday.dev/v1alpha1, kind Scenario), a strict loader, defaults and validation.
//
// Loading follows kind's config loader: read apiVersion and kind first, decode strictly
// (unknown and duplicate fields are errors), apply defaults (defaults.go), then validate
// (validate.go). Every problem found on the way is collected and returned at once as an
// [Errors] value, sorted by line, each naming the file, line and field path:
//
//	scenarios/x.yaml:23: spec.steps[2].fault.nodeLoss.target.count: must be at least 1
//
// A Go user can build a [Scenario] in code instead, call [Scenario.Default] and then
// [Scenario.Validate]; errors then carry field paths without file and line.
//
// Decoding rules beyond plain YAML: durations are Go duration strings ("250ms", "5m") and
// must be greater than zero; a field given an explicit null is treated as unset, except a
// section such as "apiServer:" or "nodeLoss:" whose null value selects it with all defaults.
// Anchors, aliases and merge keys (<<) work, within a budget that stops alias bombs.
//
// The fault a step injects is a one-of over the registered fault kinds (see [FaultSpec]).
// Adding a fault kind is one struct implementing FaultSpec plus one entry in faultKinds.
package scenario
