package nodeloss

import "time"

// SetAgentTiming paces the node agent path of in for a test and returns in.
func SetAgentTiming(in *Injector, poll, stopTimeout, leaseStale, recoverGrace time.Duration) *Injector {
	in.timing = agentTiming{poll: poll, stopTimeout: stopTimeout, leaseStale: leaseStale, recoverGrace: recoverGrace}
	return in
}
