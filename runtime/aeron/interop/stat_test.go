package interop_test

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/tpool-go/tpool/runtime/aeron"
)

var (
	statHeader  = regexp.MustCompile(`^.* - Aeron Stat \(CnC v(\S+)\), pid (\d+), heartbeat age (-?\d+)ms$`)
	statCounter = regexp.MustCompile(`^\s*(\d+) :\s+(\S+) - (.*)$`)
)

// TestAeronStatReadsEmbeddedDriver runs the C AeronStat on the CnC file of
// tpool's driver (in process and as cmd/tpool-aeronmd) while a Go client
// holds a publication and a subscription, and checks that it prints the
// same counters, with the same labels, as the Go counters reader sees. The
// real aeronmd is checked the same way, which also tests the Go reader.
func TestAeronStatReadsEmbeddedDriver(t *testing.T) {
	tests := []struct {
		driver driver
		pid    func(dir string) int // the pid AeronStat should report
	}{
		{embeddedDriver, func(string) int { return os.Getpid() }},
		{tpoolAeronmd, nil},
		// The real driver's CnC, for comparison: the same checks hold.
		{cDriver, nil},
	}
	for _, tt := range tests {
		t.Run(tt.driver.name, func(t *testing.T) {
			stat := cBin(t, "AeronStat")
			dir := filepath.Join(t.TempDir(), "aeron")
			tt.driver.start(t, dir)
			c := connect(t, dir)
			pub, err := c.AddPublication(ctx(t), "aeron:ipc", streamID)
			if err != nil {
				t.Fatalf("AddPublication: %v", err)
			}
			sub, err := c.AddSubscription(ctx(t), "aeron:ipc", streamID)
			if err != nil {
				t.Fatalf("AddSubscription: %v", err)
			}
			eventually(t, "the subscription's image", sub.IsConnected)
			offer(t, pub, []byte("counted"))
			// The driver samples the publisher position into pub-pos.
			r := c.Counters()
			pubPos := r.Find(aeron.CounterTypePublisherPosition, pub.RegistrationID())
			if pubPos == aeron.NullCounterID {
				t.Fatalf("no pub-pos counter for publication %d", pub.RegistrationID())
			}
			eventually(t, "pub-pos to reach the publication's position", func() bool {
				return r.Value(pubPos) == pub.Position()
			})

			p := startProcess(t, "AeronStat", []string{stat, "-d", dir, "-w", "false"})
			if code := p.wait(t); code != 0 {
				t.Fatalf("AeronStat exited with status %d", code)
			}
			lines := strings.Split(p.output(), "\n")
			h := statHeader.FindStringSubmatch(lines[0])
			if h == nil {
				t.Fatalf("AeronStat's first line is %q, want its \"Aeron Stat (CnC v...)\" header", lines[0])
			}
			t.Logf("AeronStat: %s", lines[0])
			if h[1] != "0.2.0" {
				t.Errorf("AeronStat read CnC version %s, want 0.2.0", h[1])
			}
			if tt.pid != nil {
				if pid, _ := strconv.Atoi(h[2]); pid != tt.pid(dir) {
					t.Errorf("AeronStat reports driver pid %d, want %d", pid, tt.pid(dir))
				}
			}

			// Labels as AeronStat printed them and as the Go reader sees
			// them; values move (heartbeats), allocations do not here.
			got := map[int]string{}
			for _, l := range lines[1:] {
				if m := statCounter.FindStringSubmatch(l); m != nil {
					id, _ := strconv.Atoi(m[1])
					got[id] = m[3]
					t.Logf("AeronStat: %s", l)
					if id == int(pubPos) {
						if v, _ := strconv.ParseInt(strings.ReplaceAll(m[2], ",", ""), 10, 64); v != pub.Position() {
							t.Errorf("AeronStat shows pub-pos %s, want %d", m[2], pub.Position())
						}
					}
				}
			}
			want := map[int]string{}
			r.ForEach(func(id, _ int32, label string) { want[int(id)] = label })
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("AeronStat counters differ from the Go reader's (-Go +AeronStat):\n%s", diff)
			}
			for _, need := range []string{
				fmt.Sprintf("client-heartbeat: id=%d", c.ClientID()),
				"pub-pos", "pub-lmt", "sub-pos",
			} {
				if !containsLabel(got, need) {
					t.Errorf("AeronStat printed no counter labelled %q", need)
				}
			}
		})
	}
}

func containsLabel(labels map[int]string, s string) bool {
	for _, l := range labels {
		if strings.Contains(l, s) {
			return true
		}
	}
	return false
}
