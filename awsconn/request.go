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

type answer struct{ rejected *event.Rejected }

// handle runs on paho's goroutine: decode, answer a waiting request, emit.
func (c *Conn) handle(topic string, payload []byte) {
	at := c.o.Now()
	ev, token, err := decode(topic, payload, at)
	if err != nil {
		c.emit(event.Malformed{At: at, Topic: topic, Err: err.Error(), Payload: truncate(payload)})
		return
	}
	if token != "" {
		c.answer(token, ev)
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
	if _, deleted := ev.(event.Deleted); deleted {
		c.seen = map[event.DocKind]int64{}
	}
	doc, ok := ev.(event.ShadowDoc)
	if !ok {
		return false
	}
	if doc.Kind == event.DocGet {
		for _, v := range c.seen {
			if doc.Version < v {
				c.seen = map[event.DocKind]int64{}
				break
			}
		}
		return false
	}
	if doc.Version <= c.seen[doc.Kind] {
		return true
	}
	c.seen[doc.Kind] = doc.Version
	return false
}

func (c *Conn) answer(token string, ev event.Event) {
	c.mu.Lock()
	ch, ok := c.waiting[token]
	delete(c.waiting, token)
	c.mu.Unlock()
	if !ok {
		return
	}
	a := answer{}
	if rej, isRej := ev.(event.Rejected); isRej {
		a.rejected = &rej
	}
	ch <- a // buffered: never blocks
}

// request publishes body to <prefix>/<op> with a fresh clientToken and waits
// for its accepted or rejected answer.
func (c *Conn) request(ctx context.Context, op string, body map[string]any) (string, error) {
	return c.requestWithToken(ctx, newToken(), op, body)
}

func (c *Conn) requestWithToken(ctx context.Context, token, op string, body map[string]any) (string, error) {
	body["clientToken"] = token
	payload, err := json.Marshal(body)
	if err != nil {
		return "", err
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
	if err := c.waitToken(ctx, c.client.Publish(c.prefix+"/"+op, 1, false, payload)); err != nil {
		return token, fmt.Errorf("%s: %w", op, err)
	}
	ctx, cancel := context.WithTimeout(ctx, c.o.RequestTimeout)
	defer cancel()
	select {
	case a := <-ch:
		if a.rejected != nil {
			return token, &RejectedError{Op: op, Code: a.rejected.Code, Message: a.rejected.Message}
		}
		return token, nil
	case <-ctx.Done():
		return token, fmt.Errorf("%s: no answer within %s", op, c.o.RequestTimeout)
	}
}

// Get asks for the whole shadow; the answer arrives as a DocGet event.
func (c *Conn) Get(ctx context.Context) error {
	_, err := c.request(ctx, "get", map[string]any{})
	return err
}

// UpdateDesired sends a desired-state patch and records it as pending.
func (c *Conn) UpdateDesired(ctx context.Context, patch map[string]any) (string, error) {
	token := newToken()
	c.emit(event.DesiredSent{At: c.o.Now(), ClientToken: token, Patch: patch})
	return c.requestWithToken(ctx, token, "update", map[string]any{"state": map[string]any{"desired": patch}})
}

// UpdateReported reports state (what a device does).
func (c *Conn) UpdateReported(ctx context.Context, reported map[string]any) error {
	_, err := c.request(ctx, "update", map[string]any{"state": map[string]any{"reported": reported}})
	return err
}

// Update sends a whole update request document (state, optional version).
func (c *Conn) Update(ctx context.Context, doc map[string]any) error {
	_, err := c.request(ctx, "update", doc)
	return err
}

// Delete deletes the shadow.
func (c *Conn) Delete(ctx context.Context) error {
	_, err := c.request(ctx, "delete", map[string]any{})
	return err
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
