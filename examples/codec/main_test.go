package main

import (
	"bytes"
	"io"
	"strings"
	"testing"
)

func TestRun(t *testing.T) {
	var out bytes.Buffer
	if err := run([]string{"-seq", "7"}, &out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"encoded 48 + ",
		"FrameDescriptor seq=7 timestampNs=1700000000000000000 metaVersion absent=true",
		`"seq":7`,
		`"metaVersion":null`,
		"ShmPoolAnnounce pool 1: 1024 slots of 1048576 bytes at shm:file?path=/dev/shm/tensorpool/demo/1.pool",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestRunRejectsStreamOutOfRange(t *testing.T) {
	if err := run([]string{"-stream", "4294967296"}, io.Discard); err == nil {
		t.Fatal("a stream id above 2^32-1 was accepted")
	}
}
