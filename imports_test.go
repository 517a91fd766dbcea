package main

import (
	"encoding/json"
	"io"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/iotwatch/iotwatch"

// allowedImports is the architecture of docs/ARCHITECTURE.md: for each
// package, the iotwatch packages it may import. Pure packages (pure true)
// import nothing outside the standard library either.
var allowedImports = map[string]struct {
	pure bool
	may  []string
}{
	"shadow":           {true, nil},
	"event":            {true, nil},
	"jobs":             {true, nil},
	"monitor":          {true, []string{"event", "shadow"}},
	"report":           {true, []string{"monitor", "event", "shadow"}},
	"eventlog":         {false, []string{"event"}},
	"pki":              {false, nil},
	"config":           {false, []string{"pki", "shadow"}},
	"awsconn":          {false, []string{"event", "shadow", "pki"}},
	"devicesim":        {false, []string{"awsconn", "event", "shadow", "provision"}},
	"alert":            {false, []string{"config", "monitor"}},
	"bench/fleetload":  {false, []string{"pki"}},
	"localiot":         {false, []string{"shadow", "jobs", "pki", "localiot/"}},
	"provision":        {false, []string{"pki", "config"}},
	"tui":              {false, []string{"config", "event", "monitor", "shadow"}},
	"cli":              {false, []string{"*"}},
	"":                 {false, []string{"cli"}}, // main
	"internal/testkit": {false, nil},
	"bench/loadgen":    {false, []string{"pki"}},
	"e2e":              {false, nil},
}

type listedPackage struct {
	ImportPath, Doc  string
	Imports, GoFiles []string
}

// TestImportRules holds every package to the architecture: each imports only
// what its row allows, nothing but cli imports tui, nothing but main
// imports cli, and each package says its job in a doc comment.
func TestImportRules(t *testing.T) {
	out, err := exec.Command("go", "list", "-json", "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for {
		var p listedPackage
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		name := strings.TrimPrefix(strings.TrimPrefix(p.ImportPath, module), "/")
		rule, ok := allowedImports[name]
		if !ok && strings.HasPrefix(name, "localiot/") {
			rule, ok = allowedImports["localiot"]
		}
		if !ok {
			t.Errorf("package %q has no row in allowedImports (and none in docs/ARCHITECTURE.md?)", p.ImportPath)
			continue
		}
		if p.Doc == "" && len(p.GoFiles) > 0 {
			t.Errorf("package %q has no doc comment saying its one job", p.ImportPath)
		}
		for _, imp := range p.Imports {
			if own, isOwn := strings.CutPrefix(imp, module+"/"); isOwn {
				if !mayImport(rule.may, own) {
					t.Errorf("%s imports %s: not in its row %v", p.ImportPath, imp, rule.may)
				}
			} else if rule.pure && strings.Contains(strings.Split(imp, "/")[0], ".") {
				t.Errorf("%s is pure but imports %s", p.ImportPath, imp)
			}
		}
	}
}

func mayImport(may []string, pkg string) bool {
	return slices.ContainsFunc(may, func(m string) bool {
		return m == "*" || m == pkg || (strings.HasSuffix(m, "/") && strings.HasPrefix(pkg, m))
	})
}
