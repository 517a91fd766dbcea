package shadow

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// updateGolden rewrites the expected answers from the current code; review the diff before committing.
var updateGolden = flag.Bool("update-golden", false, "rewrite shadow/testdata/golden.json answers")

// goldenStep is one request and its exact answers; the format is documented in testdata/README.md.
type goldenStep struct {
	Op        string  `json:"op"`
	Name      string  `json:"name,omitempty"`
	Now       int64   `json:"now"`
	Payload   string  `json:"payload"`
	Accepted  *string `json:"accepted"`
	Rejected  *string `json:"rejected"`
	Delta     *string `json:"delta"`
	Documents *string `json:"documents"`
}

type goldenCase struct {
	Name  string       `json:"name"`
	Steps []goldenStep `json:"steps"`
}

func runStep(cur Shadow, s goldenStep) Result {
	now := time.Unix(s.Now, 0)
	switch s.Op {
	case "update":
		return Update(cur, []byte(s.Payload), now)
	case "get":
		return Get(cur, []byte(s.Payload), s.Name, now)
	case "delete":
		return Delete(cur, []byte(s.Payload), s.Name, now)
	}
	return Result{}
}

func optional(b []byte) *string {
	if b == nil {
		return nil
	}
	s := string(b)
	return &s
}

func TestGolden(t *testing.T) {
	path := filepath.Join("testdata", "golden.json")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var cases []goldenCase
	if err := json.Unmarshal(data, &cases); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	for ci := range cases {
		c := &cases[ci]
		var cur Shadow
		for i := range c.Steps {
			s := &c.Steps[i]
			if s.Op != "update" && s.Op != "get" && s.Op != "delete" {
				t.Fatalf("%s step %d: op %q must be update, get or delete", c.Name, i, s.Op)
			}
			res := runStep(cur, *s)
			cur = res.Next
			got := goldenStep{Op: s.Op, Name: s.Name, Now: s.Now, Payload: s.Payload,
				Accepted: optional(res.Accepted), Rejected: optional(res.Rejected),
				Delta: optional(res.Delta), Documents: optional(res.Documents)}
			if *updateGolden {
				*s = got
				continue
			}
			want, _ := json.Marshal(s)
			have, _ := json.Marshal(got)
			if !bytes.Equal(want, have) {
				t.Errorf("%s step %d (%s):\n got %s\nwant %s", c.Name, i, s.Op, have, want)
			}
		}
	}
	if *updateGolden {
		out, err := json.MarshalIndent(cases, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, append(out, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
