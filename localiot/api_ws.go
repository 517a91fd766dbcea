package localiot

import "net/http"

func (a *api) serveWebSocket(w http.ResponseWriter, r *http.Request) {
	writeError(w, notFound("MQTT over WebSocket is not served yet"))
}
