package devicesim

import (
	"testing"
	"time"
)

// TestJitterBounds: each wait lies in [base/2, top] of its attempt's
// capped exponential, and a thousand draws are not all alike.
func TestJitterBounds(t *testing.T) {
	j := Jitter(time.Second, 30*time.Second)
	for n := 1; n <= 10; n++ {
		top := min(30*time.Second, time.Second<<(n-1))
		seen := map[time.Duration]bool{}
		for range 1000 {
			d := j(n)
			if d < 500*time.Millisecond || d > top {
				t.Fatalf("attempt %d: wait %s outside [0.5s, %s]", n, d, top)
			}
			seen[d] = true
		}
		if len(seen) < 900 {
			t.Errorf("attempt %d: only %d distinct waits in 1000: no jitter", n, len(seen))
		}
	}
}
