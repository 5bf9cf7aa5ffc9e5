// Package nodriver_test runs the two no-driver example programs against
// each other as separate processes.
package nodriver_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
	"time"
)

func TestProducerAndConsumerProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs two programs")
	}
	dir := t.TempDir()
	base := filepath.Join(dir, "shm")
	if err := os.Mkdir(base, 0o700); err != nil {
		t.Fatal(err)
	}
	bin := map[string]string{}
	for _, name := range []string{"producer", "consumer"} {
		bin[name] = filepath.Join(dir, name)
		out, err := exec.Command("go", "build", "-o", bin[name], "./"+name).CombinedOutput()
		if err != nil {
			t.Fatalf("build %s: %v\n%s", name, err, out)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	announce := filepath.Join(dir, "announce.json")
	var cout, pout bytes.Buffer
	cons := exec.CommandContext(ctx, bin["consumer"], "-allow", base, "-announce", announce, "-frames", "2000", "-idle", "5s")
	cons.Stdout, cons.Stderr = &cout, &cout
	if err := cons.Start(); err != nil {
		t.Fatal(err)
	}
	prod := exec.CommandContext(ctx, bin["producer"], "-base", base, "-announce", announce, "-frames", "2000", "-rate", "4000", "-nslots", "64", "-linger", "300ms")
	prod.Stdout, prod.Stderr = &pout, &pout
	perr := prod.Run()
	cerr := cons.Wait()
	t.Logf("producer:\n%s\nconsumer:\n%s", pout.String(), cout.String())
	if perr != nil || cerr != nil {
		t.Fatalf("producer: %v, consumer: %v", perr, cerr)
	}
	if !regexp.MustCompile(`all [1-9][0-9]* accepted frames intact`).Match(cout.Bytes()) {
		t.Error("consumer did not report intact frames")
	}
	if !bytes.Contains(pout.Bytes(), []byte("committed 2000 frames")) {
		t.Error("producer did not commit every frame")
	}
	// The producer removed its epoch directory.
	matches, _ := filepath.Glob(filepath.Join(base, "*", "*", "*", "*", "header.ring"))
	if len(matches) != 0 {
		t.Errorf("left behind: %v", matches)
	}
}
