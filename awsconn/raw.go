package awsconn

import (
	"context"
	"fmt"
	"slices"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/iotwatch/iotwatch/event"
)

// SubscribeRaw subscribes to any topic filter (wildcards too) the policy
// allows; its messages arrive on Events as event.Raw. A refused filter is
// an error naming it. The subscription is made again after a reconnect.
func (c *Conn) SubscribeRaw(filter string) error {
	if err := c.subscribeRaw(filter); err != nil {
		return err
	}
	c.mu.Lock()
	if !slices.Contains(c.raw, filter) {
		c.raw = append(c.raw, filter)
	}
	c.mu.Unlock()
	return nil
}

// UnsubscribeRaw ends a SubscribeRaw.
func (c *Conn) UnsubscribeRaw(filter string) error {
	c.mu.Lock()
	c.raw = slices.DeleteFunc(c.raw, func(f string) bool { return f == filter })
	c.mu.Unlock()
	tok := c.client.Unsubscribe(filter)
	if !tok.WaitTimeout(c.o.RequestTimeout) {
		return fmt.Errorf("unsubscribe %s: no answer within %s", filter, c.o.RequestTimeout)
	}
	return tok.Error()
}

func (c *Conn) subscribeRaw(filter string) error {
	tok := c.client.Subscribe(filter, 0, func(_ paho.Client, m paho.Message) { c.handleRaw(filter, m.Topic(), m.Payload()) })
	if !tok.WaitTimeout(c.o.RequestTimeout) {
		return fmt.Errorf("subscribe %s: no answer within %s", filter, c.o.RequestTimeout)
	}
	if tok.Error() != nil {
		return fmt.Errorf("subscribe %s: %w", filter, tok.Error())
	}
	if res, ok := tok.(interface{ Result() map[string]byte }); ok {
		if code := res.Result()[filter]; code > 1 {
			return fmt.Errorf("subscription to %s refused (code %#x): the policy does not allow iot:Subscribe on it, or the filter is invalid", filter, code)
		}
	}
	return nil
}

// handleRaw emits a raw message. paho gives a message to the handlers of
// every matching route and to the default handler only when none matched,
// so a raw filter that covers the connection's own topics passes their
// messages on to handle as well.
func (c *Conn) handleRaw(filter, topic string, payload []byte) {
	c.emit(event.Raw{At: c.o.Now(), Filter: filter, Topic: topic, Payload: append([]byte(nil), payload...)})
	if slices.Contains(c.filters(), topic) {
		c.handle(topic, payload)
	}
}

// resubscribeRaw makes the raw subscriptions again on a new session.
func (c *Conn) resubscribeRaw() {
	c.mu.Lock()
	filters := slices.Clone(c.raw)
	c.mu.Unlock()
	for _, f := range filters {
		if err := c.subscribeRaw(f); err != nil {
			fmt.Fprintf(c.o.Log, "awsconn: %v\n", err)
		}
	}
}

// Publish sends payload to any topic the policy allows, at QoS 1 (the
// simulator's Jobs requests); it returns when the server acknowledged it.
func (c *Conn) Publish(ctx context.Context, topic string, payload []byte) error {
	return c.waitToken(ctx, c.client.Publish(topic, 1, false, payload))
}
