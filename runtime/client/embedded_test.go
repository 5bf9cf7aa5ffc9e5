package client_test

import (
	"path/filepath"
	"testing"

	"github.com/tpool-go/tpool/runtime/client"
	"github.com/tpool-go/tpool/runtime/driver"
	"github.com/tpool-go/tpool/runtime/pool"
)

// A Client can run tpool's embedded media driver in its own process; the
// driver (here in-process too) uses it as an external one.
func TestEmbeddedMediaDriver(t *testing.T) {
	dir := t.TempDir()
	e := &env{t: t, aeronDir: filepath.Join(dir, "aeron"), base: filepath.Join(dir, "shm")}
	cfg := e.clientConfig(false)
	cfg.EmbeddedMediaDriver = true
	c, err := client.New(testCtx(t), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.AeronDir() != e.aeronDir {
		t.Fatalf("aeron dir %q, want %q", c.AeronDir(), e.aeronDir)
	}
	d, err := driver.Start(testCtx(t), e.driverConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if d.MediaDriver() != "external" {
		t.Fatalf("tpoold runs a %s media driver, want the client's (external to it)", d.MediaDriver())
	}
	ctx := testCtx(t)
	prod, err := c.NewProducer(ctx, client.ProducerConfig{StreamID: testStream})
	if err != nil {
		t.Fatal(err)
	}
	cons, err := c.NewConsumer(ctx, client.ConsumerConfig{StreamID: testStream})
	if err != nil {
		t.Fatal(err)
	}
	h, _ := pool.NewTensorHeader(pool.Uint8, pool.RowMajor, 5)
	if _, err := prod.OfferFrame([]byte("hello"), &pool.FrameMeta{Tensor: h}); err != nil {
		t.Fatal(err)
	}
	f, err := cons.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := string(f.Payload()); got != "hello" || !f.Verify() {
		t.Fatalf("payload %q", got)
	}
	// The driver stops first: it needs the media driver to say goodbye.
	if err := cons.Close(); err != nil {
		t.Fatal(err)
	}
	if err := prod.Close(); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := c.NewConsumer(ctx, client.ConsumerConfig{StreamID: testStream}); err == nil {
		t.Fatal("NewConsumer after Close succeeded")
	}
}
