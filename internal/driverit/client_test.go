package driverit

import (
	"context"
	"errors"
	"runtime"
	"testing"
	"time"

	"github.com/tpool-go/tpool/runtime/driverclient"
)

// TestAttachWithoutDriverEndsWithContext: with no driver, Attach waits
// (retrying) until its context ends, then returns the context's error and
// leaves nothing behind; the client goes on working.
func TestAttachWithoutDriverEndsWithContext(t *testing.T) {
	e := newEnv(t)
	a := e.connect()
	for _, invoker := range []bool{false, true} {
		cfg := clientConfig(e.base)
		cfg.AttachTimeout = 100 * time.Millisecond
		c, err := driverclient.New(testCtx(t), a, cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !invoker {
			if err := c.Start(); err != nil {
				t.Fatal(err)
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		_, err = c.Attach(ctx, driverclient.AttachRequest{StreamID: testStream, Role: driverclient.RoleConsumer})
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("invoker %v: %v", invoker, err)
		}
		t.Logf("invoker %v: %v", invoker, err)
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestClientsStartAndCloseWithoutLeaks: New, Start, Attach, Close, many
// times; goroutines return to their count.
func TestClientsStartAndCloseWithoutLeaks(t *testing.T) {
	e := newEnv(t)
	e.startDriver()
	a := e.connect()
	run := func() {
		c, err := driverclient.New(testCtx(t), a, clientConfig(e.base), nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		l, err := c.Attach(testCtx(t), driverclient.AttachRequest{StreamID: testStream, Role: driverclient.RoleConsumer})
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
		if l.Usable() || l.State() != driverclient.Closed {
			t.Fatalf("after Close: usable %v state %v", l.Usable(), l.State())
		}
		<-l.Done()
	}
	run()
	before := runtime.NumGoroutine()
	for range 20 {
		run()
	}
	deadline := time.Now().Add(testTimeout)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Errorf("%d goroutines, %d before", n, before)
	}
}
