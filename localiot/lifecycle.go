package localiot

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
)

// presence is AWS's lifecycle event payload.
type presence struct {
	ClientID                  string `json:"clientId"`
	Timestamp                 int64  `json:"timestamp"`
	EventType                 string `json:"eventType"`
	SessionIdentifier         string `json:"sessionIdentifier,omitempty"`
	PrincipalIdentifier       string `json:"principalIdentifier,omitempty"`
	IPAddress                 string `json:"ipAddress,omitempty"`
	VersionNumber             int64  `json:"versionNumber"`
	ClientInitiatedDisconnect *bool  `json:"clientInitiatedDisconnect,omitempty"`
	DisconnectReason          string `json:"disconnectReason,omitempty"`
	ConnectFailureReason      string `json:"connectFailureReason,omitempty"`
	// ThingName is for the log line only: AWS's events carry no thingName.
	ThingName string `json:"-"`
}

// lifecycle publishes presence events and writes one log line per event.
type lifecycle struct {
	broker   *mqtt.Server
	log      io.Writer
	mu       sync.Mutex
	versions map[string]int64          // per client id, grows per connection
	open     map[*mqtt.Client]presence // connections announced as connected
	reasons  map[*mqtt.Client]string   // a reason decided before the disconnect
	closing  bool
}

func newLifecycle(b *mqtt.Server, log io.Writer) *lifecycle {
	return &lifecycle{broker: b, log: log, versions: map[string]int64{},
		open: map[*mqtt.Client]presence{}, reasons: map[*mqtt.Client]string{}}
}

func (l *lifecycle) connected(cl *mqtt.Client) {
	id, _ := identityOf(cl)
	l.mu.Lock()
	l.versions[cl.ID]++
	ev := presence{ClientID: cl.ID, EventType: "connected", SessionIdentifier: newUUID(),
		PrincipalIdentifier: principalOf(cl), IPAddress: ipOf(cl),
		VersionNumber: l.versions[cl.ID], ThingName: id.thing}
	l.open[cl] = ev
	l.mu.Unlock()
	l.emit(ev)
}

func (l *lifecycle) disconnected(cl *mqtt.Client, err error) {
	l.mu.Lock()
	ev, wasOpen := l.open[cl]
	reason := l.reasons[cl]
	delete(l.open, cl)
	delete(l.reasons, cl)
	closing := l.closing
	l.mu.Unlock()
	if !wasOpen {
		return
	}
	if reason == "" {
		reason = classify(cl.StopCause(), err, closing)
	}
	clientInitiated := reason == "CLIENT_INITIATED_DISCONNECT"
	ev.EventType, ev.DisconnectReason, ev.ClientInitiatedDisconnect = "disconnected", reason, &clientInitiated
	l.emit(ev)
}

func (l *lifecycle) connectFailed(cl *mqtt.Client, thing string) {
	l.emit(presence{ClientID: cl.ID, EventType: "connect_failed", PrincipalIdentifier: principalOf(cl),
		IPAddress: ipOf(cl), ConnectFailureReason: "AUTHORIZATION_FAILED", ThingName: thing})
}

func (l *lifecycle) setReason(cl *mqtt.Client, reason string) {
	l.mu.Lock()
	if _, set := l.reasons[cl]; !set {
		l.reasons[cl] = reason
	}
	l.mu.Unlock()
}

// stop disconnects a client for reason (AWS's disconnectReason).
func (l *lifecycle) stop(cl *mqtt.Client, reason string) {
	l.setReason(cl, reason)
	cl.Stop(packets.ErrNotAuthorized)
}

// note logs what the emulator did to a client that no lifecycle event
// reports (a refused CONNECT past the policy, throttling).
func (l *lifecycle) note(what, clientID, why string) {
	l.mu.Lock()
	fmt.Fprintf(l.log, "%s %s client=%s: %s\n", time.Now().UTC().Format(time.RFC3339), what, clientID, why)
	l.mu.Unlock()
}

// logf writes one timestamped line to the emulator's log.
func (l *lifecycle) logf(format string, a ...any) {
	l.mu.Lock()
	fmt.Fprintf(l.log, "%s %s\n", time.Now().UTC().Format(time.RFC3339), fmt.Sprintf(format, a...))
	l.mu.Unlock()
}

func (l *lifecycle) shutdown() {
	l.mu.Lock()
	l.closing = true
	l.mu.Unlock()
}

// classify maps why mochi stopped a client to AWS's disconnectReason.
func classify(cause, readErr error, closing bool) string {
	var netErr net.Error
	switch {
	case errors.Is(cause, packets.ErrSessionTakenOver):
		return "DUPLICATE_CLIENTID"
	case errors.Is(cause, packets.CodeDisconnect):
		return "CLIENT_INITIATED_DISCONNECT"
	case errors.Is(cause, packets.ErrAdministrativeAction), closing:
		return "SERVER_INITIATED_DISCONNECT"
	case errors.As(cause, &netErr) && netErr.Timeout(), errors.As(readErr, &netErr) && netErr.Timeout():
		return "MQTT_KEEP_ALIVE_TIMEOUT"
	}
	return "CONNECTION_LOST"
}

// emit publishes ev and logs it. While the emulator shuts down it only
// logs: the disconnects it causes are its own outage, and a monitor still
// connected for a moment would count them against the devices.
func (l *lifecycle) emit(ev presence) {
	ev.Timestamp = time.Now().UnixMilli()
	l.mu.Lock()
	closing := l.closing
	l.mu.Unlock()
	if !closing {
		payload, _ := json.Marshal(ev)
		_ = l.broker.Publish("$aws/events/presence/"+ev.EventType+"/"+ev.ClientID, payload, false, 1)
	}
	var line bytes.Buffer
	fmt.Fprintf(&line, "%s %s client=%s", time.UnixMilli(ev.Timestamp).UTC().Format(time.RFC3339), ev.EventType, ev.ClientID)
	for _, kv := range [][2]string{{"thing", ev.ThingName}, {"ip", ev.IPAddress},
		{"reason", ev.DisconnectReason + ev.ConnectFailureReason}} {
		if kv[1] != "" {
			fmt.Fprintf(&line, " %s=%s", kv[0], kv[1])
		}
	}
	line.WriteByte('\n')
	l.mu.Lock()
	l.log.Write(line.Bytes())
	l.mu.Unlock()
}

// lifecycleHook feeds connection events to the lifecycle publisher.
type lifecycleHook struct {
	mqtt.HookBase
	events *lifecycle
}

func (h *lifecycleHook) ID() string { return "iotwatch-lifecycle" }

func (h *lifecycleHook) Provides(b byte) bool {
	return b == mqtt.OnSessionEstablished || b == mqtt.OnDisconnect || b == mqtt.OnSubscribed
}

// OnSubscribed logs each filter the policy refused, as other refusals are
// (filters past AWS's limits reach here emptied: limitsHook logs those).
func (h *lifecycleHook) OnSubscribed(cl *mqtt.Client, pk packets.Packet, codes []byte) {
	for i, code := range codes {
		if i < len(pk.Filters) && code >= packets.ErrUnspecifiedError.Code && mqtt.IsValidFilter(pk.Filters[i].Filter, false) {
			h.events.note("refused", cl.ID, fmt.Sprintf("SUBSCRIBE to %s: its policies do not allow iot:Subscribe on it (SUBACK 0x%02x)", pk.Filters[i].Filter, code))
		}
	}
}

func (h *lifecycleHook) OnSessionEstablished(cl *mqtt.Client, pk packets.Packet) {
	h.events.connected(cl)
}

func (h *lifecycleHook) OnDisconnect(cl *mqtt.Client, err error, expire bool) {
	h.events.disconnected(cl, err)
}

func principalOf(cl *mqtt.Client) string {
	if conn, ok := cl.Net.Conn.(*tls.Conn); ok {
		if certs := conn.ConnectionState().PeerCertificates; len(certs) > 0 {
			sum := sha256.Sum256(certs[0].Raw)
			return hex.EncodeToString(sum[:])
		}
	}
	return ""
}

func ipOf(cl *mqtt.Client) string {
	host, _, err := net.SplitHostPort(cl.Net.Remote)
	if err != nil {
		return cl.Net.Remote
	}
	return host
}

func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
