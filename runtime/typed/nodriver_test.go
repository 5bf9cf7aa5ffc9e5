package typed_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/tpool-go/tpool/runtime/client"
	"github.com/tpool-go/tpool/runtime/typed"
)

// In no-driver mode there is no lease to check: the producer creates its
// regions with the declaration's sizing (an empty Layout filled from the
// Spec), and a typed round trip works.
func TestNoDriver(t *testing.T) {
	tmp := t.TempDir()
	ctx := testCtx(t)
	c, err := client.New(ctx, client.Config{AeronDir: filepath.Join(tmp, "aeron"), EmbeddedMediaDriver: true,
		NoDriver: true, NoDriverConfig: client.NoDriverConfig{BaseDir: filepath.Join(tmp, "shm")}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s, err := typed.NewConsumer[uint16](ctx, c, &imageSpec, client.ConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	p, err := typed.NewProducer[uint16](ctx, c, &imageSpec, client.ProducerConfig{MaxClaims: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	// The regions hold imageSpec's 64 slots of 64 bytes, not the
	// client's default layout (64 slots of 1 MiB).
	var size int64
	ents, err := os.ReadDir(p.Untyped().Dir())
	if err != nil || len(ents) == 0 {
		t.Fatalf("stream dir: %v %v", ents, err)
	}
	for _, e := range ents {
		if fi, err := e.Info(); err == nil && !e.IsDir() {
			size += fi.Size()
		}
	}
	if size >= 1<<20 {
		t.Errorf("regions of %d bytes: not the declaration's 64 slots of 64 bytes", size)
	}
	for s.Untyped().Status().State != client.StateMapped {
		s.Poll(func(typed.View[uint16], client.FrameView) {})
		if ctx.Err() != nil {
			t.Fatal("the consumer did not map the announced stream")
		}
	}
	cl, err := p.TryClaim()
	if err != nil {
		t.Fatal(err)
	}
	cl.View().Set(9, 3, 7)
	if _, err := cl.Commit(); err != nil {
		t.Fatal(err)
	}
	v, f, err := s.Next(ctx)
	if err != nil || v.At(3, 7) != 9 || !f.Verify() {
		t.Fatalf("frame: %v %v", err, v.Data())
	}
}
