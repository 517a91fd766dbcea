// Package monitor is the watch pipeline without UI or IO: Apply(event) keeps
// the thing's shadow state, history, pending desired changes, dropouts and
// soak statistics. It imports only the standard library, event and shadow,
// takes time from its events and never starts goroutines.
package monitor
