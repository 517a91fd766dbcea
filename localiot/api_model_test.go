package localiot

import (
	"compress/gzip"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// AWS's own service models, as Debian's python3-botocore ships them, are
// the reference the routes and answers are held to.
const botocoreData = "/usr/lib/python3/dist-packages/botocore/data"

type model struct {
	Operations map[string]struct {
		HTTP struct {
			Method     string `json:"method"`
			RequestURI string `json:"requestUri"`
		} `json:"http"`
		Input  *struct{ Shape string }  `json:"input"`
		Output *struct{ Shape string }  `json:"output"`
		Errors []struct{ Shape string } `json:"errors"`
	} `json:"operations"`
	Shapes map[string]modelShape `json:"shapes"`
}

type modelShape struct {
	Type     string                 `json:"type"`
	Members  map[string]modelMember `json:"members"`
	Required []string               `json:"required"`
	Member   *modelMember           `json:"member"`
	Value    *modelMember           `json:"value"`
	Payload  string                 `json:"payload"`
	Error    *struct {
		HTTPStatusCode int `json:"httpStatusCode"`
	} `json:"error"`
}

type modelMember struct {
	Shape        string `json:"shape"`
	Location     string `json:"location"`
	LocationName string `json:"locationName"`
}

func loadModel(t *testing.T, service string) *model {
	t.Helper()
	versions, _ := filepath.Glob(filepath.Join(botocoreData, service, "*"))
	if len(versions) == 0 {
		t.Fatalf("%s/%s not found: `make deps` installs Debian's python3-botocore", botocoreData, service)
	}
	base := filepath.Join(versions[len(versions)-1], "service-2.json")
	var r io.Reader
	if f, err := os.Open(base); err == nil {
		defer f.Close()
		r = f
	} else if f, err := os.Open(base + ".gz"); err == nil {
		defer f.Close()
		if r, err = gzip.NewReader(f); err != nil {
			t.Fatal(err)
		}
	} else {
		t.Fatalf("%s not found: `make deps` installs Debian's python3-botocore", base)
	}
	var m model
	if err := json.NewDecoder(r).Decode(&m); err != nil {
		t.Fatalf("%s: %v", base, err)
	}
	return &m
}

func models(t *testing.T) map[plane]*model {
	return map[plane]*model{control: loadModel(t, "iot"), data: loadModel(t, "iot-data"), jobsData: loadModel(t, "iot-jobs-data")}
}

// located lists an input shape's members at a location (uri, querystring,
// header) by their wire name, and which of them are required.
func located(m *model, shape, location string) (names, required []string) {
	s := m.Shapes[shape]
	for name, mem := range s.Members {
		if mem.Location == location {
			names = append(names, mem.LocationName)
			if slices.Contains(s.Required, name) {
				required = append(required, mem.LocationName)
			}
		}
	}
	return names, required
}

var labelRE = regexp.MustCompile(`\{(\w+)\+?\}`)

// TestRoutesMatchBotocoreModels: every served operation has the model's
// method and path; its labels, query and header members are the model's,
// and it reads every required one.
func TestRoutesMatchBotocoreModels(t *testing.T) {
	ms := models(t)
	for _, rt := range allRoutes {
		op, ok := ms[rt.plane].Operations[rt.op]
		if !ok {
			t.Errorf("%s is not an operation of the model", rt.op)
			continue
		}
		path := strings.ReplaceAll(rt.path, "+}", "}") // ours also takes unescaped slashes
		if op.HTTP.Method != rt.method || op.HTTP.RequestURI != path {
			t.Errorf("%s: served as %s %s, the model says %s %s", rt.op, rt.method, path, op.HTTP.Method, op.HTTP.RequestURI)
		}
		var labels []string
		for _, m := range labelRE.FindAllStringSubmatch(rt.path, -1) {
			labels = append(labels, m[1])
		}
		uri, _ := located(ms[rt.plane], op.Input.Shape, "uri")
		slices.Sort(labels)
		slices.Sort(uri)
		if !slices.Equal(labels, uri) {
			t.Errorf("%s: path labels %v, model %v", rt.op, labels, uri)
		}
		for location, ours := range map[string][]string{"querystring": rt.query, "header": rt.headers} {
			names, required := located(ms[rt.plane], op.Input.Shape, location)
			for _, n := range ours {
				if !slices.Contains(names, n) {
					t.Errorf("%s reads %s %q, which the model does not have (it has %v)", rt.op, location, n, names)
				}
			}
			for _, n := range required {
				if !slices.Contains(ours, n) {
					t.Errorf("%s does not read the required %s %q", rt.op, location, n)
				}
			}
		}
	}
}

// TestAnswersMatchBotocoreModels runs the SDK flows and holds every answer
// to the model: member names and JSON types of the output shapes, error
// types among the operation's errors with their HTTP status.
func TestAnswersMatchBotocoreModels(t *testing.T) {
	ms := models(t)
	l := newAPILab(t, "", "")
	l.recorder = &recorder{}
	controlFlow(t, l)
	dataFlow(t, l)
	jobsFlow(t, l)
	seen := map[string]bool{}
	for _, ex := range l.recorder.exchanges {
		rt, _, err := match(ex.method, ex.rawPath, ex.service)
		if err != nil {
			t.Errorf("%s %s: %v", ex.method, ex.rawPath, err)
			continue
		}
		m, op := ms[rt.plane], ms[rt.plane].Operations[rt.op]
		if ex.status == 200 {
			seen[rt.op] = true
			if op.Output != nil && m.Shapes[op.Output.Shape].Payload == "" {
				var v any
				if err := json.Unmarshal(ex.body, &v); err != nil {
					t.Errorf("%s answered non-JSON %q", rt.op, ex.body)
				}
				checkShape(t, m, rt.op, op.Output.Shape, v)
			}
			continue
		}
		typ, _, _ := strings.Cut(ex.errorType, ":")
		listed := slices.ContainsFunc(op.Errors, func(e struct{ Shape string }) bool { return e.Shape == typ })
		shape, known := m.Shapes[typ]
		switch {
		case !listed:
			t.Errorf("%s answered %s, which is not among its errors in the model", rt.op, typ)
		case !known || shape.Error == nil || shape.Error.HTTPStatusCode != ex.status:
			t.Errorf("%s answered %s with status %d; the model says %+v", rt.op, typ, ex.status, shape.Error)
		}
		var body map[string]any
		if json.Unmarshal(ex.body, &body) != nil || body["message"] == nil {
			t.Errorf("%s: error body %q has no message", rt.op, ex.body)
		}
		if known {
			checkShape(t, m, rt.op+" "+typ, typ, body)
		}
	}
	for _, rt := range allRoutes {
		if rt.plane == jobsData {
			continue // no Go SDK for iot-jobs-data here: awscli checks them (jobs_test.go)
		}
		if !seen[rt.op] {
			t.Errorf("the flows never got a successful answer from %s", rt.op)
		}
	}
}

// checkShape checks a decoded JSON value against a model shape.
func checkShape(t *testing.T, m *model, where, shape string, v any) {
	t.Helper()
	s := m.Shapes[shape]
	ok := true
	switch s.Type {
	case "structure":
		obj, isObj := v.(map[string]any)
		ok = isObj
		for k, val := range obj {
			mem, has := s.Members[k]
			if !has || mem.Location != "" {
				t.Errorf("%s: member %q is not in the model's %s", where, k, shape)
				continue
			}
			checkShape(t, m, where+"."+k, mem.Shape, val)
		}
	case "list":
		arr, isArr := v.([]any)
		ok = isArr
		for i, val := range arr {
			checkShape(t, m, where+"["+string(rune('0'+i%10))+"]", s.Member.Shape, val)
		}
	case "map":
		obj, isObj := v.(map[string]any)
		ok = isObj
		for k, val := range obj {
			checkShape(t, m, where+"."+k, s.Value.Shape, val)
		}
	case "string", "blob":
		_, ok = v.(string)
	case "boolean":
		_, ok = v.(bool)
	case "integer", "long":
		n, isNum := v.(float64)
		ok = isNum && n == float64(int64(n))
	case "timestamp", "double", "float":
		_, ok = v.(float64)
	default:
		t.Errorf("%s: the test does not know the model type %q", where, s.Type)
	}
	if !ok {
		t.Errorf("%s: %v (%T) is not a %s (%s)", where, v, v, s.Type, shape)
	}
}
