package nodriverit

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/tpool-go/tpool/internal/proctest"
)

// A no-driver producer is SIGKILLed mid-stream and restarted: the new
// producer's epoch is higher, the consumer remaps to it by itself and
// accepts no corrupt frame (each frame's bytes derive from its epoch and
// sequence number). The killed producer's epoch directory stays (nobody
// can remove it but a cleaner: pool.RemoveStale); the restarted one's is
// removed when it stops cleanly.
func TestProducerKilledAndRestarted(t *testing.T) {
	e := newEnv(t)
	cons := e.spawn("consumer")
	cons.MustAwait(t, "subscribed")
	p1 := e.spawn("producer")
	l1 := p1.MustAwait(t, "producing")
	e1 := proctest.Uint(t, l1, "epoch")
	cons.MustAwait(t, "got 300")
	p1.Kill()
	if exited, code := p1.Exited(); !exited || code != -1 {
		t.Fatalf("the producer did not die of the signal (exited %v, code %d)", exited, code)
	}
	dir1, _ := proctest.Field(l1, "dir")
	if _, err := os.Stat(dir1); err != nil {
		t.Fatalf("the killed producer's directory: %v", err)
	}
	t.Cleanup(func() { os.RemoveAll(dir1) })

	p2 := e.spawn("producer")
	l2 := p2.MustAwait(t, "producing")
	e2 := proctest.Uint(t, l2, "epoch")
	if e2 <= e1 {
		t.Fatalf("restarted producer's epoch %d is not above the killed one's %d", e2, e1)
	}
	// Frames of the new epoch arrive.
	for {
		line := cons.MustAwait(t, "got")
		if proctest.Uint(t, line, "epoch") == e2 {
			break
		}
	}
	if err := cons.Send("stats"); err != nil {
		t.Fatal(err)
	}
	st := cons.MustAwait(t, "stats")
	t.Log("consumer: ", st)
	if n := proctest.Uint(t, st, "corrupt"); n != 0 {
		t.Errorf("%d corrupt frames accepted", n)
	}
	if ep := proctest.Uint(t, st, "epoch"); ep != e2 {
		t.Errorf("consumer in epoch %d, want %d", ep, e2)
	}
	if n := proctest.Uint(t, st, "remaps"); n != 2 {
		t.Errorf("remaps %d, want 2", n)
	}
	p2.Stop()
	dir2, _ := proctest.Field(l2, "dir")
	if _, err := os.Stat(dir2); !os.IsNotExist(err) {
		t.Errorf("the stopped producer's directory %s: %v", dir2, err)
	}
}

// A hostile process floods the announce stream with announces of ever
// newer epochs naming a valid stream outside the allowed directory or
// escaping it, mixed with garbage. The consumer drops and counts them,
// never maps outside its allowed directory (/proc/PID/maps), and keeps
// reading the real producer's frames intact.
func TestHostileAnnouncer(t *testing.T) {
	e := newEnv(t)
	evil := filepath.Join(t.TempDir(), "evil")
	cons := e.spawn("consumer")
	cons.MustAwait(t, "subscribed")
	prod := e.spawn("producer")
	prod.MustAwait(t, "producing")
	cons.MustAwait(t, "got 100")
	bad := e.spawn("announcer", evilEnv+"="+evil)
	bad.MustAwait(t, "sent 300")
	cons.MustAwait(t, "got 500")
	if err := cons.Send("stats"); err != nil {
		t.Fatal(err)
	}
	st := cons.MustAwait(t, "stats")
	t.Log("consumer: ", st)
	if n := proctest.Uint(t, st, "corrupt"); n != 0 {
		t.Errorf("%d corrupt frames accepted", n)
	}
	if n := proctest.Uint(t, st, "rejected"); n < 100 {
		t.Errorf("rejected %d hostile announces, want at least 100 of the 200 sent", n)
	}
	if n := proctest.Uint(t, st, "malformed") + proctest.Uint(t, st, "other"); n < 50 {
		t.Errorf("counted %d garbage messages, want at least 50 of the 100 sent", n)
	}
	if n := proctest.Uint(t, st, "mapfailures"); n != 0 {
		t.Errorf("%d attempts to map hostile regions", n)
	}
	if m := mapsOf(t, cons.Pid(), evil); len(m) != 0 {
		t.Errorf("the consumer maps files outside its allowed directory: %v", m)
	}
	if m := mapsOf(t, cons.Pid(), e.base); len(m) == 0 {
		t.Error("the consumer maps nothing of the real stream")
	}
}
