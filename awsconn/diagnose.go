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
		return fmt.Sprintf("the server closed the connection at MQTT CONNECT: its policy does not allow iot:Connect for client id %q with %s (AWS closes the connection when a policy denies it; see docs/policies/)", o.ClientID, certificateName(o))
	}
	return err.Error()
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
