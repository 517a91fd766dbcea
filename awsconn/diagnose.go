package awsconn

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/iotwatch/iotwatch/pki"
	"github.com/iotwatch/iotwatch/shadow"
)

// Diagnose explains why a connection to host:port failed, in plain words
// with the fix. doctor, the TUI's header and event log, sim and soak all
// show these same words.
func Diagnose(err error, o Options) string {
	addr := net.JoinHostPort(o.Host, fmt.Sprint(o.Port))
	var (
		dnsErr     *net.DNSError
		unknownCA  x509.UnknownAuthorityError
		hostErr    x509.HostnameError
		invalidErr x509.CertificateInvalidError
		alert      tls.AlertError
	)
	switch {
	case errors.Is(err, ErrHTTPS):
		return fmt.Sprintf("port %d of %s answers HTTPS, not MQTT: use port 8883 (MQTT over TLS; AWS also serves it on 443 with ALPN), as [aws] port or --port", o.Port, o.Host)
	case strings.Contains(err.Error(), "non-CONNACK first packet"):
		return fmt.Sprintf("%s answered the MQTT CONNECT with something that is not MQTT: is port %d the HTTPS port (8443)? MQTT over TLS is on 8883 (AWS also serves it on 443 with ALPN)", addr, o.Port)
	case strings.Contains(err.Error(), "no AWS credentials"):
		_, what, _ := strings.Cut(err.Error(), "no AWS credentials")
		return "no AWS credentials" + what // without paho's "network Error : AWS credentials: "
	case errors.As(err, &dnsErr):
		return fmt.Sprintf("%s: the endpoint %q does not resolve: check [aws] endpoint (aws iot describe-endpoint --endpoint-type iot:Data-ATS; localhost for iotwatch serve)", err, o.Host)
	case errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Sprintf("nothing accepts connections on %s: check [aws] endpoint and port, and that the broker (iotwatch serve) is running", addr)
	case errors.Is(err, os.ErrDeadlineExceeded) || isTimeout(err):
		return fmt.Sprintf("no answer from %s within the connect timeout: is the port blocked by a firewall? (AWS also serves MQTT on port 443)", addr)
	case errors.As(err, &unknownCA):
		return "the server's certificate is not signed by [aws] ca: use AmazonRootCA1.pem for AWS, the lab's ca.pem for iotwatch serve"
	case errors.As(err, &hostErr):
		return fmt.Sprintf("the server's certificate is not valid for %q: connect by a name it holds, or for iotwatch serve add it with 'iotwatch certs init --host %s' (%v)", o.Host, o.Host, err)
	case errors.As(err, &invalidErr):
		return fmt.Sprintf("the server's certificate is not valid now (%v): check this computer's clock", err)
	case errors.As(err, &alert) || strings.Contains(err.Error(), "remote error: tls:"):
		return fmt.Sprintf("the server refused this client certificate (%v): it must be registered and active and signed by a CA the server trusts (for iotwatch serve: made by 'iotwatch certs init' with the same ca.pem)", err)
	case strings.Contains(err.Error(), "websocket: bad handshake"):
		return "the server refused the WebSocket upgrade signed with SigV4: the credentials' secret key, their region or this computer's clock is wrong ('iotwatch doctor' shows the server's answer)"
	case errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) || strings.Contains(err.Error(), "not Authorized") || strings.Contains(err.Error(), "bad user name or password"):
		// MQTT 3.1.1 gives no reason: AWS closes the connection without a
		// CONNACK for both, so both are named.
		return fmt.Sprintf("the server closed the connection at MQTT CONNECT without an answer, for one of two reasons: its policy does not allow iot:Connect for client id %q with %s (see docs/policies/), or another client connected with client id %q less than a second before (AWS allows 1 CONNECT per second per client id: is another program using it?)", o.ClientID, certificateName(o), o.ClientID)
	}
	return err.Error()
}

// retrying is a failure the connection retries by itself after wait.
func retrying(failure string, wait time.Duration) string {
	return failure + retryNote + wait.String()
}

const retryNote = "; trying again in "

// Final is a Link error without retrying's note, for a one-shot command
// that gives up at the first failure instead of waiting for the retry.
func Final(linkErr string) string {
	failure, _, _ := strings.Cut(linkErr, retryNote)
	return failure
}

// certificateName names the client certificate and, for a device
// certificate of iotwatch's lab (CN = its thing), the thing it belongs to.
func certificateName(o Options) string {
	if o.TLS == nil || len(o.TLS.Certificates) == 0 || o.TLS.Certificates[0].Leaf == nil {
		return "this certificate"
	}
	leaf := o.TLS.Certificates[0].Leaf
	if thing, monitor := pki.Role(leaf); !monitor && shadow.ValidThingName(thing) && thing != o.Thing {
		return fmt.Sprintf("the certificate %q, which is the device certificate of thing %q, not of [thing] name %q (watch with the monitor certificate, or the thing's own)", leaf.Subject.CommonName, thing, o.Thing)
	}
	return fmt.Sprintf("the certificate %q", leaf.Subject.CommonName)
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
