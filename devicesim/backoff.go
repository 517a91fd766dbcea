package devicesim

import (
	"math/rand/v2"
	"time"
)

// Jitter is the simulator's reconnect backoff, full jitter as AWS advises
// devices, with a floor: before the n-th attempt in a row, a random wait
// between base/2 and base·2^(n-1) (capped at limit). Never no wait (a
// reconnect storm), never a schedule that repeats (devices dropped together
// do not come back in lockstep), and spread wide enough, even at the cap,
// that no run of waits looks constant.
func Jitter(base, limit time.Duration) func(n int) time.Duration {
	return func(n int) time.Duration {
		top := min(limit, base<<min(max(n-1, 0), 30))
		floor := min(base/2, top)
		return floor + rand.N(top-floor+1)
	}
}
