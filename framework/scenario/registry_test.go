package scenario_test

// The scenario package knows no action kind by name: its tests load scenarios that
// use the shipped ones, registered as a run registers them.
import _ "github.com/gameday-dev/gameday/framework/fault/all"
