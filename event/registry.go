package event

import (
	"fmt"
	"time"
)

// Unregistered says the control plane answered that the watched thing is
// not in the registry (DescribeThing: not found): most often a typo in its
// name, which would otherwise look like a device that never reports.
type Unregistered struct {
	At         time.Time
	Thing      string
	Suggestion string // the registry's nearest name, or ""
}

func (e Unregistered) Time() time.Time { return e.At }

// Text says it in one sentence, as watch, soak and doctor show it.
func (e Unregistered) Text() string {
	if e.Suggestion != "" {
		return fmt.Sprintf("thing %s is not in the registry (did you mean %s?)", e.Thing, e.Suggestion)
	}
	return fmt.Sprintf("thing %s is not in the registry: check [thing] name (aws iot list-things)", e.Thing)
}
