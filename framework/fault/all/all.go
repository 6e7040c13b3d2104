// Package all registers every action kind gameday ships. Import it for its side
// effect; adding an action kind is its own package plus one line here.
package all

import (
	_ "github.com/gameday-dev/gameday/framework/fault/dnsoutage" // dnsOutage
	_ "github.com/gameday-dev/gameday/framework/fault/nodeloss"  // nodeLoss
)
