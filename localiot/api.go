package localiot

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/iotwatch/iotwatch/localiot/policy"
	"github.com/iotwatch/iotwatch/localiot/sigv4"
	"github.com/iotwatch/iotwatch/pki"
)

// The HTTPS APIs are shaped like moto's emulators: the registry and the
// shadow service are the backends, api_control.go and api_data.go the thin
// wire layer, and routes below the one table from method and path to a
// handler. Every request is SigV4-verified against the credentials in the
// PKI directory; the signer (an IAM principal) may do everything unless
// --iam-policy gives it a policy.

// maxBody bounds a request body: the largest is a 128 KiB publish.
const maxBody = maxPayload + 1024

// route is one operation: its signing plane, name, method and path
// template as AWS's model gives them ({label}; {label+} may also span
// unescaped slashes), and the query and header members it reads (only
// those reach the handler; api_model_test.go holds them to the model).
type route struct {
	plane   plane
	op      string
	method  string
	path    string
	query   []string
	headers []string
	handler func(*api, *call) (any, error)
}

func q(names ...string) []string { return names }

type plane int

const (
	control plane = iota
	data
	jobsData
)

// signingNames are the services a request may be signed for: the Go SDK
// signs the control plane as iot, botocore's model (the AWS CLI) as
// execute-api; the data plane is iotdata, and AWS's docs sign shadow REST
// calls as iotdevicegateway.
var signingNames = map[plane][]string{control: {"iot", "execute-api"}, data: {"iotdata", "iotdevicegateway"},
	jobsData: {"iot-jobs-data"}}

var routes = []route{
	{control, "CreateThing", "POST", "/things/{thingName}", nil, nil, (*api).createThing},
	{control, "DescribeThing", "GET", "/things/{thingName}", nil, nil, (*api).describeThing},
	{control, "ListThings", "GET", "/things", q("nextToken", "maxResults", "attributeName", "attributeValue", "thingTypeName", "usePrefixAttributeValue"), nil, (*api).listThings},
	{control, "DeleteThing", "DELETE", "/things/{thingName}", q("expectedVersion"), nil, (*api).deleteThing},
	{control, "CreateKeysAndCertificate", "POST", "/keys-and-certificate", q("setAsActive"), nil, (*api).createKeysAndCertificate},
	{control, "DescribeCertificate", "GET", "/certificates/{certificateId}", nil, nil, (*api).describeCertificate},
	{control, "UpdateCertificate", "PUT", "/certificates/{certificateId}", q("newStatus"), nil, (*api).updateCertificate},
	{control, "DeleteCertificate", "DELETE", "/certificates/{certificateId}", q("forceDelete"), nil, (*api).deleteCertificate},
	{control, "CreatePolicy", "POST", "/policies/{policyName}", nil, nil, (*api).createPolicy},
	{control, "GetPolicy", "GET", "/policies/{policyName}", nil, nil, (*api).getPolicy},
	{control, "DeletePolicy", "DELETE", "/policies/{policyName}", nil, nil, (*api).deletePolicy},
	{control, "AttachPolicy", "PUT", "/target-policies/{policyName}", nil, nil, (*api).attachPolicy},
	{control, "DetachPolicy", "POST", "/target-policies/{policyName}", nil, nil, (*api).detachPolicy},
	{control, "ListAttachedPolicies", "POST", "/attached-policies/{target}", q("marker", "pageSize"), nil, (*api).listAttachedPolicies},
	{control, "AttachThingPrincipal", "PUT", "/things/{thingName}/principals", nil, q("x-amzn-principal"), (*api).attachThingPrincipal},
	{control, "DetachThingPrincipal", "DELETE", "/things/{thingName}/principals", nil, q("x-amzn-principal"), (*api).detachThingPrincipal},
	{control, "ListThingPrincipals", "GET", "/things/{thingName}/principals", q("nextToken", "maxResults"), nil, (*api).listThingPrincipals},
	{control, "DescribeEndpoint", "GET", "/endpoint", q("endpointType"), nil, (*api).describeEndpoint},
	{data, "GetThingShadow", "GET", "/things/{thingName}/shadow", q("name"), nil, (*api).getThingShadow},
	{data, "UpdateThingShadow", "POST", "/things/{thingName}/shadow", q("name"), nil, (*api).updateThingShadow},
	{data, "DeleteThingShadow", "DELETE", "/things/{thingName}/shadow", q("name"), nil, (*api).deleteThingShadow},
	{data, "ListNamedShadowsForThing", "GET", "/api/things/shadow/ListNamedShadowsForThing/{thingName}", q("nextToken", "pageSize"), nil, (*api).listNamedShadows},
	{data, "Publish", "POST", "/topics/{topic+}", q("qos", "retain"), nil, (*api).publish},
	{data, "GetRetainedMessage", "GET", "/retainedMessage/{topic+}", nil, nil, (*api).getRetainedMessage},
	{data, "ListRetainedMessages", "GET", "/retainedMessage", q("nextToken", "maxResults"), nil, (*api).listRetainedMessages},
}

// allRoutes is every operation the HTTPS API serves.
var allRoutes = slices.Concat(routes, jobRoutes)

// call is one request, read.
type call struct {
	r       *http.Request
	body    []byte
	labels  map[string]string
	query   url.Values // the route's query members only
	headers http.Header
}

func (c *call) label(name string) string { return c.labels[name] }

// only keeps the values of the names a route declares.
func only[V any](all map[string]V, names []string, canon func(string) string) map[string]V {
	out := map[string]V{}
	for _, n := range names {
		if v, ok := all[canon(n)]; ok {
			out[canon(n)] = v
		}
	}
	return out
}

// decode reads a JSON body; an empty body is an empty object.
func (c *call) decode(v any) error {
	if len(c.body) == 0 {
		return nil
	}
	if err := json.Unmarshal(c.body, v); err != nil {
		return invalid("request body is not the JSON this operation takes: %v", err)
	}
	return nil
}

// api serves the control plane, the data plane and /mqtt.
type api struct {
	srv      *Server
	verifier *sigv4.Verifier
	iam      []*policy.Document // nil: the signer may do everything
	http     *http.Server
	ln       net.Listener
}

func newAPI(s *Server, addr string, tlsConf *tls.Config, v *sigv4.Verifier, iam []*policy.Document, logOut io.Writer) (*api, error) {
	raw, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, &APIListenError{Addr: addr, Err: explainListen(addr, err)}
	}
	conf := tlsConf.Clone()
	conf.ClientAuth, conf.ClientCAs, conf.NextProtos = tls.NoClientCert, nil, []string{"http/1.1"}
	conf.VerifyConnection = nil
	a := &api{srv: s, verifier: v, iam: iam, ln: tls.NewListener(raw, conf)}
	// net/http's own complaints (failed TLS handshakes) go to the
	// emulator's log, not to the standard logger.
	a.http = &http.Server{Handler: a, ReadHeaderTimeout: connectWithin, ErrorLog: log.New(logOut, "api: ", log.LstdFlags)}
	return a, nil
}

// APIListenError is a failure to bind Options.APIListen, so that serve can
// go on without the HTTPS API when it was not asked for by name.
type APIListenError struct {
	Addr string
	Err  error
}

func (e *APIListenError) Error() string { return "HTTPS API: " + e.Err.Error() }
func (e *APIListenError) Unwrap() error { return e.Err }

func (a *api) start() { go a.http.Serve(a.ln) }

func (a *api) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	a.http.Shutdown(ctx)
	a.ln.Close() // Shutdown closes it only once Serve has run
}

func (a *api) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path, _, _ := strings.Cut(r.RequestURI, "?")
	if path == "/mqtt" {
		a.serveWebSocket(w, r)
		return
	}
	if name, ok := strings.CutPrefix(path, "/files/"); ok {
		a.serveFile(w, r, name)
		return
	}
	rt, labels, err := match(r.Method, path, signedService(r))
	if err != nil {
		writeError(w, err)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil || len(body) > maxBody {
		writeError(w, errorf(http.StatusRequestEntityTooLarge, "RequestEntityTooLargeException", "the request body is larger than %d bytes", maxBody))
		return
	}
	if err := a.verifier.Verify(r, body, signingNames[rt.plane]...); err != nil {
		writeError(w, err)
		return
	}
	same := func(s string) string { return s }
	c := &call{r: r, body: body, labels: labels, query: only(r.URL.Query(), rt.query, same),
		headers: only(r.Header, rt.headers, http.CanonicalHeaderKey)}
	if err := a.authorize(rt, c); err != nil {
		writeError(w, err)
		return
	}
	out, err := rt.handler(a, c)
	if err != nil {
		writeError(w, err)
		return
	}
	writeAnswer(w, out)
}

// match finds the route of a raw (still escaped) path; labels come out
// unescaped, so an ARN's %3A and a topic's %2F are what they stand for.
// Where two planes share a method and path (DescribeJobExecution), the
// service the request is signed for decides.
func match(method, rawPath, service string) (route, map[string]string, error) {
	segs := strings.Split(strings.TrimPrefix(rawPath, "/"), "/")
	pathFound := false
	var first *route
	var firstLabels map[string]string
	for _, rt := range allRoutes {
		labels, ok := matchPath(strings.Split(strings.TrimPrefix(rt.path, "/"), "/"), segs)
		if !ok {
			continue
		}
		pathFound = true
		if rt.method != method {
			continue
		}
		if slices.Contains(signingNames[rt.plane], service) {
			return rt, labels, nil
		}
		if first == nil {
			first, firstLabels = &rt, labels
		}
	}
	if first != nil {
		return *first, firstLabels, nil
	}
	if pathFound {
		return route{}, nil, errorf(http.StatusMethodNotAllowed, "MethodNotAllowedException", "%s is not allowed on %s", method, rawPath)
	}
	return route{}, nil, notFound("no AWS IoT operation has the path %s (the emulator serves the operations listed in its README)", rawPath)
}

func matchPath(pattern, segs []string) (map[string]string, bool) {
	labels := map[string]string{}
	for i, p := range pattern {
		if strings.HasPrefix(p, "{") && strings.HasSuffix(p, "+}") && i == len(pattern)-1 && i < len(segs) {
			v, err := url.PathUnescape(strings.Join(segs[i:], "/"))
			labels[p[1:len(p)-2]] = v
			return labels, err == nil && v != ""
		}
		if i >= len(segs) {
			return nil, false
		}
		if strings.HasPrefix(p, "{") {
			v, err := url.PathUnescape(segs[i])
			if err != nil || v == "" {
				return nil, false
			}
			labels[p[1:len(p)-1]] = v
		} else if p != segs[i] {
			return nil, false
		}
	}
	return labels, len(pattern) == len(segs)
}

// authorize applies --iam-policy, when given, to the signer: the action is
// iot:<Operation>, the resource the thing or topic it names, else *.
func (a *api) authorize(rt route, c *call) error {
	if a.iam == nil {
		return nil
	}
	res := "*"
	reg := a.srv.registry
	switch {
	case c.label("topic") != "":
		res = reg.arn("topic", c.label("topic"))
	case c.label("thingName") != "" && c.query.Get("name") != "":
		res = reg.arn("thing", c.label("thingName")+"/"+c.query.Get("name"))
	case c.label("thingName") != "":
		res = reg.arn("thing", c.label("thingName"))
	}
	if policy.Evaluate(a.iam, policy.Request{Action: "iot:" + rt.op, Resource: res}) == policy.Allowed {
		return nil
	}
	// The data plane's model has ForbiddenException; the control plane
	// answers an IAM denial as AWS's other REST services do.
	msg := fmt.Sprintf("User: arn:aws:iam::%s:user/%s is not authorized to perform: iot:%s on resource: %s (--iam-policy)", Account, pki.AWSProfile, rt.op, res)
	if rt.plane == data {
		return errorf(http.StatusForbidden, "ForbiddenException", "%s", msg)
	}
	return errorf(http.StatusForbidden, "AccessDeniedException", "%s", msg)
}

// rawJSON is an answer written as it is (a shadow document).
type rawJSON []byte

func writeAnswer(w http.ResponseWriter, out any) {
	w.Header().Set("Content-Type", "application/json")
	switch v := out.(type) {
	case nil:
		w.Write([]byte("{}"))
	case rawJSON:
		w.Write(v)
	default:
		json.NewEncoder(w).Encode(v)
	}
}

// writeError answers as AWS does: the type in x-amzn-ErrorType (which
// AWS's SDKs read first) and a JSON body with the message.
func writeError(w http.ResponseWriter, err error) {
	status, typ, msg, extra := http.StatusInternalServerError, "InternalFailureException", err.Error(), map[string]string(nil)
	var ae *apiError
	var se *sigv4.Error
	switch {
	case errors.As(err, &ae):
		status, typ, msg, extra = ae.Status, ae.Type, ae.Message, ae.Extra
	case errors.As(err, &se):
		status, typ, msg = se.Status, se.Type, se.Message
	}
	body := map[string]string{"message": msg}
	for k, v := range extra {
		body[k] = v
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("x-amzn-ErrorType", typ+":")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(body)
}
