// Package archtest keeps the import directions of STYLE.md honest: data
// flows gen -> runtime/sbe, pool -> shm/sbe/gen, aeron client and media
// driver -> aeron/internal, shm, agent (not each other); nothing in the
// library imports cmd, examples, tensorgen or the test helpers.
package archtest

import (
	"os/exec"
	"strings"
	"testing"
)

const mod = "github.com/tpool-go/tpool/"

// deps returns, for every package of the module, its non-test imports
// (direct and indirect) that are inside the module.
func deps(t *testing.T) map[string][]string {
	t.Helper()
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}}{{range .Deps}} {{.}}{{end}}`, mod+"...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	m := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		pkg := strings.TrimPrefix(f[0], mod)
		for _, d := range f[1:] {
			if strings.HasPrefix(d, mod) {
				m[pkg] = append(m[pkg], strings.TrimPrefix(d, mod))
			}
		}
		if _, ok := m[pkg]; !ok {
			m[pkg] = nil
		}
	}
	return m
}

func under(pkg, prefix string) bool { return pkg == prefix || strings.HasPrefix(pkg, prefix+"/") }

func TestImportDirections(t *testing.T) {
	rules := []struct {
		from   string // packages this rule applies to
		forbid []string
		why    string
	}{
		{"runtime", []string{"cmd", "examples", "tensorgen", "internal"}, "the library never depends on commands, examples, the generator or test helpers"},
		{"gen", []string{"cmd", "examples", "tensorgen", "internal", "runtime/shm", "runtime/pool", "runtime/aeron", "runtime/agent"}, "generated codecs need only runtime/sbe"},
		{"runtime/sbe", []string{"runtime/shm", "runtime/pool", "runtime/aeron", "runtime/agent", "gen"}, "the codec runtime is a leaf"},
		{"runtime/shm", []string{"runtime/sbe", "runtime/pool", "runtime/aeron", "runtime/agent", "gen"}, "shm is the bottom layer"},
		{"runtime/aeron/internal", []string{"runtime/pool", "gen", "runtime/aeron/mediadriver"}, "Aeron formats know nothing of tensors or the driver"},
		{"runtime/aeron/mediadriver", []string{"runtime/pool", "gen"}, "the media driver is transport only"},
		{"runtime/agent", []string{"runtime/shm", "runtime/pool", "runtime/aeron", "gen"}, "agents and idle strategies know nothing of what they run"},
		{"runtime/control", []string{"runtime/pool", "runtime/aeron/mediadriver", "runtime/driver", "runtime/driverclient"}, "the control plane is codecs over the transport, used by the driver and its clients alike"},
		{"runtime/driver", []string{"runtime/driverclient"}, "the driver and its client meet only on the wire"},
		{"runtime/client", []string{"runtime/driver"}, "producers and consumers reach the driver only through the driver client, on the wire"},
		{"runtime/typed", []string{"runtime/driver"}, "typed stubs sit on the client, which reaches the driver only on the wire"},
		{"runtime/client", []string{"runtime/typed"}, "the typed layer sits on the client, not under it"},
		{"tensorgen", []string{"runtime/shm", "runtime/pool", "runtime/aeron", "runtime/agent", "cmd", "examples"}, "the generator is a build tool"},
		{"cmd", []string{"internal/cpeer"}, "the C-peer harness is test support"},
		{"examples", []string{"internal/cpeer"}, "the C-peer harness is test support"},
		{"internal/cpeer", []string{"runtime", "gen", "cmd", "examples", "tensorgen"}, "the C-peer harness drives external programs only, so it tests any peer without depending on one"},
		{"internal/netns", []string{"runtime", "gen", "cmd", "examples", "tensorgen"}, "the network-namespace helper only re-runs tests, whatever they test"},
		{"cmd", []string{"internal/netns"}, "the network-namespace helper is test support"},
		{"internal/proctest", []string{"runtime", "gen", "cmd", "examples", "tensorgen", "internal"}, "the child-process harness knows nothing of what its children run"},
	}
	all := deps(t)
	for pkg, ds := range all {
		for _, r := range rules {
			if !under(pkg, r.from) {
				continue
			}
			for _, d := range ds {
				for _, f := range r.forbid {
					if under(d, f) {
						t.Errorf("%s imports %s: %s", pkg, d, r.why)
					}
				}
			}
		}
	}
	// The Aeron client and the media driver must not import each other.
	for pkg, ds := range all {
		client := under(pkg, "runtime/aeron") && !under(pkg, "runtime/aeron/mediadriver") && !under(pkg, "runtime/aeron/internal")
		for _, d := range ds {
			if client && under(d, "runtime/aeron/mediadriver") {
				t.Errorf("client package %s imports the media driver %s", pkg, d)
			}
			if under(pkg, "runtime/aeron/mediadriver") && under(d, "runtime/aeron") && !under(d, "runtime/aeron/internal") && !under(d, "runtime/aeron/mediadriver") {
				t.Errorf("media driver package %s imports the client %s", pkg, d)
			}
		}
	}
	// Only runtime/shm may import unsafe.
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}} {{join .Imports " "}}`, mod+"...").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		for _, imp := range f[1:] {
			if imp == "unsafe" && f[0] != mod+"runtime/shm" {
				t.Errorf("%s imports unsafe; only runtime/shm may", f[0])
			}
		}
	}
}

// The driver's config is parsed at the edge: the engine never imports the
// file format.
func TestDriverDoesNotImportTOML(t *testing.T) {
	for pkg, ds := range deps(t) {
		if pkg != "runtime/driver" {
			continue
		}
		for _, d := range ds {
			if under(d, "runtime/driver/tomlconfig") {
				t.Errorf("%s imports %s: TOML is parsed at the edge (cmd)", pkg, d)
			}
		}
	}
}
