package localiot

import (
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/iotwatch/iotwatch/localiot/sigv4"
)

// wsListener names WebSocket clients' listener in the broker.
const wsListener = "wss"

// upgrader accepts both subprotocol names AWS's SDKs send: mqtt (aws-crt)
// and mqttv3.1 (the v1 JavaScript SDK).
var upgrader = websocket.Upgrader{Subprotocols: []string{"mqtt", "mqttv3.1"},
	CheckOrigin: func(*http.Request) bool { return true }} // browsers too, as AWS

// serveWebSocket is AWS IoT's MQTT over WebSocket: a SigV4-presigned URL
// (service iotdevicegateway) authenticates the IAM principal, then the
// connection is one more client of the same broker and hooks.
func (a *api) serveWebSocket(w http.ResponseWriter, r *http.Request) {
	if err := a.verifier.VerifyPresigned(r, "iotdevicegateway", "iotdata"); err != nil {
		var se *sigv4.Error
		if !errors.As(err, &se) || se.Status == http.StatusBadRequest {
			writeError(w, err)
			return
		}
		// AWS answers every other signature failure of the upgrade so.
		writeError(w, errorf(http.StatusForbidden, "ForbiddenException", "%s", se.Message))
		return
	}
	c, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return // the upgrader has answered
	}
	defer c.Close()
	// The same write budget as a TLS client's (budget.go): a WebSocket
	// client that stops reading is disconnected, not queued for.
	a.srv.broker.EstablishConnection(wsListener, newBudgetConn(&wsConn{Conn: c.UnderlyingConn(), ws: c}))
}

// wsConn is an MQTT byte stream over WebSocket binary messages.
type wsConn struct {
	net.Conn // the underlying connection, for addresses and deadlines
	ws       *websocket.Conn
	r        io.Reader
	wmu      sync.Mutex
}

func (c *wsConn) Read(p []byte) (int, error) {
	for {
		if c.r == nil {
			kind, r, err := c.ws.NextReader()
			if err != nil {
				return 0, err
			}
			if kind != websocket.BinaryMessage {
				return 0, errors.New("MQTT over WebSocket takes binary messages only")
			}
			c.r = r
		}
		n, err := c.r.Read(p)
		if err == io.EOF {
			c.r = nil
			if n == 0 {
				continue
			}
			err = nil
		}
		return n, err
	}
}

func (c *wsConn) Write(p []byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if err := c.ws.WriteMessage(websocket.BinaryMessage, p); err != nil {
		return 0, err
	}
	return len(p), nil
}

func (c *wsConn) Close() error { return c.ws.Close() }

// SetWriteDeadline reaches the WebSocket's writes (it sets its own deadline
// on the connection before each frame), so budgetConn's linger bounds them.
func (c *wsConn) SetWriteDeadline(t time.Time) error { return c.ws.SetWriteDeadline(t) }
