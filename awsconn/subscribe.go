package awsconn

import (
	"context"
	"fmt"
	"time"

	"github.com/iotwatch/iotwatch/event"
)

// maxFiltersPerSubscribe is AWS's limit on filters in one SUBSCRIBE.
const maxFiltersPerSubscribe = 8

// filters are the exact topics the role needs; never a '#'.
func (c *Conn) filters() []string {
	if c.shard != nil {
		return c.shard.filters(c)
	}
	answers := []string{"/update/delta", "/get/accepted", "/get/rejected", "/update/accepted", "/update/rejected"}
	if c.o.Role == Monitor {
		answers = append(answers, "/update/documents", "/delete/accepted", "/delete/rejected")
	}
	var out []string
	for _, a := range answers {
		out = append(out, c.prefix+a)
	}
	if c.o.Role == Monitor {
		for _, kind := range []string{"connected", "disconnected"} {
			out = append(out, "$aws/events/presence/"+kind+"/"+c.o.DeviceClientID)
		}
	}
	return out
}

// onConnect runs after every (re)connect, in its own goroutine: the clean
// session lost the subscriptions, so subscribe again, then get the shadow to
// catch up on what happened while the link was down.
func (c *Conn) onConnect() {
	if err := c.subscribeAll(); err != nil {
		c.emit(event.Link{At: c.o.Now(), State: event.LinkDown,
			Err: retrying(err.Error(), c.o.SubscribeRetry)})
		time.AfterFunc(c.o.SubscribeRetry, c.resubscribe)
		return
	}
	c.mu.Lock()
	c.attempt = 0
	c.seen = map[seenKey]int64{}
	c.mu.Unlock()
	c.resubscribeRaw() // before the link is up, so nothing sent after that is missed
	c.emit(event.Link{At: c.o.Now(), State: event.LinkUp})
	if c.shard != nil {
		c.shard.onConnect(c)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.o.RequestTimeout)
	defer cancel()
	_ = c.Get(ctx)
}

// resubscribe tries the subscriptions again on the same connection, so that
// fixing the policy is enough; after a reconnect onConnect has done it.
func (c *Conn) resubscribe() {
	c.mu.Lock()
	closed := c.closed
	c.mu.Unlock()
	if !closed && c.client.IsConnectionOpen() {
		c.onConnect()
	}
}

func (c *Conn) subscribeAll() error { return c.subscribe(c.filters()) }

// subscribe subscribes to filters, at most maxFiltersPerSubscribe in one
// SUBSCRIBE; a refused filter is an error naming it.
func (c *Conn) subscribe(all []string) error {
	for start := 0; start < len(all); start += maxFiltersPerSubscribe {
		batch := map[string]byte{}
		for _, f := range all[start:min(start+maxFiltersPerSubscribe, len(all))] {
			batch[f] = 1
		}
		tok := c.client.SubscribeMultiple(batch, nil)
		if !tok.WaitTimeout(c.o.RequestTimeout) {
			return fmt.Errorf("subscribe timed out after %s", c.o.RequestTimeout)
		}
		if tok.Error() != nil {
			return fmt.Errorf("subscribe: %w", tok.Error())
		}
		if res, ok := tok.(interface{ Result() map[string]byte }); ok {
			for f, code := range res.Result() {
				if code > 1 {
					return fmt.Errorf("subscription to %s refused (code %#x): check the policy allows iot:Subscribe on it", f, code)
				}
			}
		}
	}
	return nil
}

// waitToken waits for a paho token within the request timeout.
func (c *Conn) waitToken(ctx context.Context, tok interface {
	Done() <-chan struct{}
	Error() error
}) error {
	timer := time.NewTimer(c.o.RequestTimeout)
	defer timer.Stop()
	select {
	case <-tok.Done():
		return tok.Error()
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return fmt.Errorf("publish not acknowledged within %s", c.o.RequestTimeout)
	}
}
