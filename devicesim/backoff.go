package devicesim

import (
	"math/rand/v2"
	"time"
)

// Jitter is the simulator's reconnect backoff, "equal jitter" as AWS
// advises devices: before the n-th attempt in a row, half of base·2^(n-1)
// (capped at limit) plus a random share of the other half. Never no wait
// (a reconnect storm), never the same schedule twice (devices dropped
// together do not come back in lockstep).
func Jitter(base, limit time.Duration) func(n int) time.Duration {
	return func(n int) time.Duration {
		top := min(limit, base<<min(max(n-1, 0), 30))
		return top/2 + rand.N(top/2+1)
	}
}
