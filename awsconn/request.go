package awsconn

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"

	"github.com/iotwatch/iotwatch/event"
)

// RejectedError is a */rejected answer to a request.
type RejectedError struct {
	Op      string
	Code    int
	Message string
}

func (e *RejectedError) Error() string {
	return fmt.Sprintf("%s rejected: %d %s", e.Op, e.Code, e.Message)
}

// answer is what a request waits for: the rejection, or the accepted
// document as the service sent it.
type answer struct {
	rejected *event.Rejected
	accepted []byte
}

// handle runs on paho's goroutine: decode, answer a waiting request, emit.
func (c *Conn) handle(topic string, payload []byte) {
	at := c.o.Now()
	thing := ""
	if c.shard != nil {
		var keep bool
		if thing, keep = c.shard.route(topic); !keep {
			return
		}
	}
	ev, token, err := decode(topic, payload, at)
	if err != nil {
		c.emit(event.Malformed{At: at, Topic: topic, Err: err.Error(), Payload: truncate(payload)})
		return
	}
	ev = event.WithThing(ev, thing)
	if token != "" {
		c.answer(token, ev, payload)
	}
	if !c.duplicate(ev) {
		c.emit(ev)
	}
}

// duplicate drops a shadow document whose version was already seen for its
// kind (QoS 1 may deliver twice); get answers are always fresh. A deleted
// shadow, or a get older than what was seen (the service lost the shadow),
// starts the versions again, so its new documents are not taken for old.
func (c *Conn) duplicate(ev event.Event) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if d, deleted := ev.(event.Deleted); deleted {
		c.forget(d.Thing)
	}
	doc, ok := ev.(event.ShadowDoc)
	if !ok {
		return false
	}
	if doc.Kind == event.DocGet {
		for k, v := range c.seen {
			if k.thing == doc.Thing && doc.Version < v {
				c.forget(doc.Thing)
				break
			}
		}
		return false
	}
	key := seenKey{doc.Thing, doc.Kind}
	if doc.Version <= c.seen[key] {
		return true
	}
	c.seen[key] = doc.Version
	return false
}

// forget drops the versions seen for thing: its shadow starts again.
func (c *Conn) forget(thing string) {
	for k := range c.seen {
		if k.thing == thing {
			delete(c.seen, k)
		}
	}
}

func (c *Conn) answer(token string, ev event.Event, payload []byte) {
	c.mu.Lock()
	ch, ok := c.waiting[token]
	delete(c.waiting, token)
	c.mu.Unlock()
	if !ok {
		return
	}
	a := answer{accepted: payload}
	if rej, isRej := ev.(event.Rejected); isRej {
		a = answer{rejected: &rej}
	}
	ch <- a // buffered: never blocks
}

// request publishes body to <prefix>/<op> with a fresh clientToken and waits
// for its accepted or rejected answer.
func (c *Conn) request(ctx context.Context, op string, body map[string]any) error {
	_, err := c.requestWithToken(ctx, c.prefix, newToken(), op, body)
	return err
}

// Request sends body to the shadow's op topic (get, update, delete) and
// returns the accepted document as the service sent it, or a
// *RejectedError.
func (c *Conn) Request(ctx context.Context, op string, body map[string]any) ([]byte, error) {
	a, err := c.requestWithToken(ctx, c.prefix, newToken(), op, body)
	return a.accepted, err
}

// requestWithToken publishes to the shadow whose topics start with prefix.
func (c *Conn) requestWithToken(ctx context.Context, prefix, token, op string, body map[string]any) (answer, error) {
	body["clientToken"] = token
	payload, err := json.Marshal(body)
	if err != nil {
		return answer{}, err
	}
	ch := make(chan answer, 1)
	c.mu.Lock()
	c.waiting[token] = ch
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.waiting, token)
		c.mu.Unlock()
	}()
	if err := c.waitToken(ctx, c.client.Publish(prefix+"/"+op, 1, false, payload)); err != nil {
		return answer{}, fmt.Errorf("%s: %w", op, err)
	}
	ctx, cancel := context.WithTimeout(ctx, c.o.RequestTimeout)
	defer cancel()
	select {
	case a := <-ch:
		if a.rejected != nil {
			return a, &RejectedError{Op: op, Code: a.rejected.Code, Message: a.rejected.Message}
		}
		return a, nil
	case <-ctx.Done():
		return answer{}, fmt.Errorf("%s: no answer within %s", op, c.o.RequestTimeout)
	}
}

// Get asks for the whole shadow; the answer arrives as a DocGet event.
func (c *Conn) Get(ctx context.Context) error {
	return c.request(ctx, "get", map[string]any{})
}

// UpdateDesired sends a desired-state patch and records it as pending.
func (c *Conn) UpdateDesired(ctx context.Context, patch map[string]any) (string, error) {
	return c.updateDesired(ctx, "", c.prefix, patch)
}

// updateDesired is UpdateDesired for thing ("" for Options.Thing) at prefix.
func (c *Conn) updateDesired(ctx context.Context, thing, prefix string, patch map[string]any) (string, error) {
	token := newToken()
	c.emit(event.DesiredSent{At: c.o.Now(), Thing: thing, ClientToken: token, Patch: patch})
	_, err := c.requestWithToken(ctx, prefix, token, "update", map[string]any{"state": map[string]any{"desired": patch}})
	return token, err
}

// UpdateReported reports state (what a device does).
func (c *Conn) UpdateReported(ctx context.Context, reported map[string]any) error {
	return c.request(ctx, "update", map[string]any{"state": map[string]any{"reported": reported}})
}

// Update sends a whole update request document (state, optional version).
func (c *Conn) Update(ctx context.Context, doc map[string]any) error {
	return c.request(ctx, "update", doc)
}

// Delete deletes the shadow.
func (c *Conn) Delete(ctx context.Context) error {
	return c.request(ctx, "delete", map[string]any{})
}

// PublishRaw publishes a payload as is to one of the thing's shadow request
// topics (op: get, update, delete); fault injection uses it.
func (c *Conn) PublishRaw(ctx context.Context, op string, payload []byte) error {
	return c.waitToken(ctx, c.client.Publish(c.prefix+"/"+op, 1, false, payload))
}

func newToken() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
