package localiot

import (
	"crypto/tls"
	"crypto/x509"
	"net"
	"slices"

	mqtt "github.com/mochi-mqtt/server/v2"
)

// Hooks let a caller change how the emulator treats a device, as iotwatch
// qualify does to play AWS Device Advisor's misbehaving server: a listener
// around the TLS one (to present other server certificates and see each
// handshake's outcome) and mochi hooks that run before the emulator's own
// (to record packets and withhold answers).
type Hooks struct {
	// Listener, when set, replaces the TLS listener: raw accepts TCP
	// connections (under the emulator's write budget and connect deadline)
	// and conf is the emulator's server configuration. Accept must return
	// *tls.Conn connections: authorization reads their peer certificates.
	Listener func(raw net.Listener, conf *tls.Config) net.Listener
	// MQTT hooks run first, in order, before authorization and the limits.
	MQTT []mqtt.Hook
}

// listen wraps raw in TLS with conf, or hands both to Hooks.Listener.
func (h *Hooks) listen(raw net.Listener, conf *tls.Config) net.Listener {
	if h == nil || h.Listener == nil {
		return tls.NewListener(raw, conf)
	}
	return h.Listener(raw, conf)
}

// mqttHooks are the caller's hooks, none without Hooks.
func (h *Hooks) mqttHooks() []mqtt.Hook {
	if h == nil {
		return nil
	}
	return slices.Clip(h.MQTT) // the emulator's hooks are appended: never into the caller's array
}

// Broker is the mochi server, for hooks that publish to, inspect or
// disconnect clients.
func (s *Server) Broker() *mqtt.Server { return s.broker }

// UpdateShadow runs a shadow update as if thing's shadow/update topic had
// received payload ("" names the classic shadow); the answers (accepted or
// rejected, delta, documents) are published as for any request.
func (s *Server) UpdateShadow(thing, name string, payload []byte) {
	s.shadows.handle(thing, name, "update", payload)
}

// CertificatePolicies returns the documents of the IoT policies attached to
// a registered certificate, by policy name.
func (s *Server) CertificatePolicies(cert *x509.Certificate) (map[string]string, error) {
	c, err := s.registry.DescribeCertificate(certificateID(cert.Raw))
	if err != nil {
		return nil, err
	}
	docs := map[string]string{}
	for _, name := range c.Policies {
		p, err := s.registry.GetPolicy(name)
		if err != nil {
			return nil, err
		}
		docs[name] = p.Document
	}
	return docs, nil
}
