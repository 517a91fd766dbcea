package awsconn

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/iot"

	"github.com/iotwatch/iotwatch/event"
	"github.com/iotwatch/iotwatch/shadow"
)

// MaxSubscriptionsPerConnection is AWS IoT Core's limit of subscriptions
// on one MQTT connection.
const MaxSubscriptionsPerConnection = 50

// FleetOptions configures a Fleet.
type FleetOptions struct {
	// Conn is the connection of every shard. Its ClientID is the prefix of
	// theirs (<id>-0, <id>-1, …); Thing, DeviceClientID and Role are
	// ignored: a fleet monitors, and each thing's client id is its name.
	Conn   Options
	Things []string // watched from the start
	// Match accepts the other things that belong to the fleet; nil: only
	// Things.
	Match func(thing string) bool
	// Discover subscribes to the update/accepted of every thing (the
	// wildcard $aws/things/+/shadow/update/accepted) to find things Match
	// accepts as they report. The policy must allow that filter; when it
	// refuses, the fleet says so once in the log and goes on without it.
	Discover bool
	// List is the registry's things (ListThings, see RegistryThings); those
	// Match accepts are added at start. Nil: none.
	List func(ctx context.Context) ([]string, error)
	// MaxSubscriptions per connection; default MaxSubscriptionsPerConnection.
	MaxSubscriptions int
}

// Fleet watches many things: each thing's exact subscriptions on one of as
// few connections as the per-connection limit allows, every event carrying
// its thing, on one channel.
type Fleet struct {
	o        FleetOptions
	perConn  int
	discover string // the wildcard filter, on the first connection
	events   chan event.Event
	done     chan struct{}
	forward  sync.WaitGroup
	mu       sync.Mutex
	shards   []*Conn
	owner    map[string]*Conn
	closed   bool
}

// shard is the part of a Fleet one Conn serves. Its things are guarded by
// the Fleet's mutex.
type shard struct {
	fleet  *Fleet
	index  int
	things []string
}

// thingFilters are the exact filters a fleet follows per thing: the full
// documents after each update, the get answers (the re-get after a
// reconnect), update rejections and the device's lifecycle. Six per thing,
// so that eight things fit one connection under AWS's 50.
func thingFilters(thing, shadowName string) []string {
	p := shadow.Prefix(thing, shadowName)
	return []string{p + "/update/documents", p + "/get/accepted", p + "/get/rejected", p + "/update/rejected",
		"$aws/events/presence/connected/" + thing, "$aws/events/presence/disconnected/" + thing}
}

// ThingsPerConnection is how many things share a connection under max
// subscriptions, one of them kept for the discovery wildcard.
func ThingsPerConnection(maxSubscriptions int) int {
	return max(1, (maxSubscriptions-1)/len(thingFilters("x", "")))
}

// DialFleet starts connecting for the given things and returns at once;
// things found later (List, Discover) are added as they are found.
func DialFleet(o FleetOptions) (*Fleet, error) {
	if o.Conn.Host == "" || o.Conn.Port == 0 || o.Conn.ClientID == "" || (o.Conn.TLS == nil && o.Conn.SigV4 == nil) {
		return nil, fmt.Errorf("awsconn: host, port, client id and TLS or SigV4 are required")
	}
	if len(o.Things) == 0 && o.Match == nil {
		return nil, fmt.Errorf("awsconn: a fleet needs things or a match")
	}
	if len(o.Conn.ClientID) > 120 {
		return nil, fmt.Errorf("awsconn: client id %q leaves no room for the connection number within 128 bytes", o.Conn.ClientID)
	}
	for _, t := range o.Things {
		if !shadow.ValidThingName(t) {
			return nil, fmt.Errorf("awsconn: %q is not a thing name", t)
		}
	}
	if o.MaxSubscriptions == 0 {
		o.MaxSubscriptions = MaxSubscriptionsPerConnection
	}
	o.Conn = withDefaults(o.Conn)
	f := &Fleet{o: o, perConn: ThingsPerConnection(o.MaxSubscriptions), events: make(chan event.Event, o.Conn.Buffer),
		done: make(chan struct{}), owner: map[string]*Conn{}}
	if o.Discover && o.Match != nil {
		f.discover = shadow.Prefix("+", o.Conn.Shadow) + "/update/accepted"
	}
	f.mu.Lock()
	for _, plan := range planShards(o.Things, f.perConn) {
		f.openShard(plan)
	}
	if len(f.shards) == 0 && f.discover != "" {
		f.openShard(nil) // the discovery wildcard needs a connection
	}
	f.mu.Unlock()
	if o.List != nil && o.Match != nil {
		go f.addListed()
	}
	return f, nil
}

// planShards splits things into groups of at most perConn, in order,
// without duplicates.
func planShards(things []string, perConn int) [][]string {
	var plan [][]string
	seen := map[string]bool{}
	for _, t := range things {
		if seen[t] {
			continue
		}
		seen[t] = true
		if len(plan) == 0 || len(plan[len(plan)-1]) == perConn {
			plan = append(plan, nil)
		}
		plan[len(plan)-1] = append(plan[len(plan)-1], t)
	}
	return plan
}

// openShard dials one more connection for things; f.mu is held.
func (f *Fleet) openShard(things []string) *Conn {
	sh := &shard{fleet: f, index: len(f.shards), things: things}
	o := f.o.Conn
	o.ClientID = o.ClientID + "-" + strconv.Itoa(sh.index)
	o.Thing, o.Role = "", Monitor
	c := dial(o, sh)
	f.shards = append(f.shards, c)
	for _, t := range things {
		f.owner[t] = c
	}
	f.forward.Add(1)
	go f.forwardFrom(c, sh)
	return c
}

// forwardFrom moves a shard's events to the fleet's channel; a Link event
// names the things whose link it is.
func (f *Fleet) forwardFrom(c *Conn, sh *shard) {
	defer f.forward.Done()
	for ev := range c.Events() {
		if l, ok := ev.(event.Link); ok {
			f.mu.Lock()
			l.Things = slices.Clone(sh.things)
			f.mu.Unlock()
			ev = l
		}
		select {
		case f.events <- ev:
		case <-f.done:
			return
		}
	}
}

// Events is the stream of every thing's events; closed after Close.
func (f *Fleet) Events() <-chan event.Event { return f.events }

// Things are the fleet's things so far, sorted.
func (f *Fleet) Things() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]string, 0, len(f.owner))
	for t := range f.owner {
		out = append(out, t)
	}
	slices.Sort(out)
	return out
}

// Connections is how many MQTT connections the fleet holds.
func (f *Fleet) Connections() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.shards)
}

// Add follows one more thing: on the last connection while it has room,
// else on a new one. Adding a thing already followed does nothing.
func (f *Fleet) Add(thing string) error {
	if !shadow.ValidThingName(thing) {
		return fmt.Errorf("awsconn: %q is not a thing name", thing)
	}
	f.mu.Lock()
	if f.closed || f.owner[thing] != nil {
		f.mu.Unlock()
		return nil
	}
	var c *Conn
	if n := len(f.shards); n > 0 && len(f.shards[n-1].shard.things) < f.perConn {
		c = f.shards[n-1]
		c.shard.things = append(c.shard.things, thing)
		f.owner[thing] = c
	} else {
		f.openShard([]string{thing}) // its onConnect subscribes and gets
		f.mu.Unlock()
		return nil
	}
	f.mu.Unlock()
	if !c.client.IsConnectionOpen() {
		return nil // onConnect will subscribe it with the others
	}
	if err := c.subscribe(thingFilters(thing, f.o.Conn.Shadow)); err != nil {
		return fmt.Errorf("%s: %w", thing, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), f.o.Conn.RequestTimeout)
	defer cancel()
	return f.Get(ctx, thing)
}

// addListed adds the registry's things that Match accepts.
func (f *Fleet) addListed() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	names, err := f.o.List(ctx)
	if err != nil {
		fmt.Fprintf(f.o.Conn.Log, "fleet: listing the registry's things failed (%v): matching things are found as they report\n", err)
		return
	}
	for _, n := range names {
		if f.o.Match(n) {
			if err := f.Add(n); err != nil {
				fmt.Fprintf(f.o.Conn.Log, "fleet: %v\n", err)
			}
		}
	}
}

// discovered is a report of thing seen on the wildcard.
func (f *Fleet) discovered(thing string) {
	f.mu.Lock()
	known := f.owner[thing] != nil
	f.mu.Unlock()
	if !known && f.o.Match(thing) {
		go func() {
			if err := f.Add(thing); err != nil {
				fmt.Fprintf(f.o.Conn.Log, "fleet: %v\n", err)
			}
		}()
	}
}

// conn is the connection that follows thing.
func (f *Fleet) conn(thing string) (*Conn, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if c := f.owner[thing]; c != nil {
		return c, nil
	}
	return nil, fmt.Errorf("thing %s is not in the fleet", thing)
}

// Get asks for thing's whole shadow; the answer arrives as a DocGet event.
func (f *Fleet) Get(ctx context.Context, thing string) error {
	c, err := f.conn(thing)
	if err != nil {
		return err
	}
	_, err = c.requestWithToken(ctx, shadow.Prefix(thing, f.o.Conn.Shadow), newToken(), "get", map[string]any{})
	return err
}

// UpdateDesired sends a desired-state patch to thing and records it as
// pending.
func (f *Fleet) UpdateDesired(ctx context.Context, thing string, patch map[string]any) (string, error) {
	c, err := f.conn(thing)
	if err != nil {
		return "", err
	}
	return c.updateDesired(ctx, thing, shadow.Prefix(thing, f.o.Conn.Shadow), patch)
}

// Close disconnects every connection and closes the events channel.
func (f *Fleet) Close() {
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return
	}
	f.closed = true
	shards := slices.Clone(f.shards)
	f.mu.Unlock()
	close(f.done)
	var wg sync.WaitGroup
	for _, c := range shards {
		wg.Add(1)
		go func() { defer wg.Done(); c.Close() }()
	}
	wg.Wait()
	f.forward.Wait()
	close(f.events)
}

// filters are the exact filters of the shard's things.
func (sh *shard) filters(c *Conn) []string {
	sh.fleet.mu.Lock()
	things := slices.Clone(sh.things)
	sh.fleet.mu.Unlock()
	var out []string
	for _, t := range things {
		out = append(out, thingFilters(t, c.o.Shadow)...)
	}
	return out
}

// onConnect follows (re)connecting: the discovery wildcard on the first
// connection, then a get of every thing to catch up.
func (sh *shard) onConnect(c *Conn) {
	f := sh.fleet
	if sh.index == 0 && f.discover != "" {
		if err := c.subscribe([]string{f.discover}); err != nil {
			fmt.Fprintf(c.o.Log, "fleet: discovery by %s refused (%v): things are found from the registry only\n", f.discover, err)
		}
	}
	f.mu.Lock()
	things := slices.Clone(sh.things)
	f.mu.Unlock()
	var wg sync.WaitGroup
	for _, t := range things {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), c.o.RequestTimeout)
			defer cancel()
			_, _ = c.requestWithToken(ctx, shadow.Prefix(t, c.o.Shadow), newToken(), "get", map[string]any{})
		}()
	}
	wg.Wait()
}

// route names the thing of a message (event.TopicThing); false drops it:
// an update/accepted comes only from the discovery wildcard, for discovery
// alone.
func (sh *shard) route(topic string) (thing string, keep bool) {
	thing, _, op, rest, ok := shadow.ParseTopic(topic)
	if ok && op == "update" && rest == "accepted" {
		sh.fleet.discovered(thing)
		return "", false
	}
	return event.TopicThing(topic), true
}

// RegistryThings lists every thing of the registry with the control
// plane's ListThings, page by page.
func RegistryThings(client *iot.Client) func(ctx context.Context) ([]string, error) {
	return func(ctx context.Context) ([]string, error) {
		var names []string
		pages := iot.NewListThingsPaginator(client, &iot.ListThingsInput{})
		for pages.HasMorePages() {
			page, err := pages.NextPage(ctx)
			if err != nil {
				return names, fmt.Errorf("ListThings: %w", err)
			}
			for _, t := range page.Things {
				if t.ThingName != nil {
					names = append(names, *t.ThingName)
				}
			}
		}
		return names, nil
	}
}
