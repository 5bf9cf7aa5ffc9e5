package archtest

import "testing"

// TestDriverClientDirections: the driver and its client meet only through
// the control plane (runtime/control) and the layout (runtime/pool); they
// never import each other (STYLE.md, DRIVER-DESIGN.md).
func TestDriverClientDirections(t *testing.T) {
	for pkg, ds := range deps(t) {
		for _, d := range ds {
			if under(pkg, "runtime/driverclient") && under(d, "runtime/driver") {
				t.Errorf("%s imports the driver %s", pkg, d)
			}
			if under(pkg, "runtime/driver") && under(d, "runtime/driverclient") {
				t.Errorf("%s imports the driver client %s", pkg, d)
			}
		}
	}
}
