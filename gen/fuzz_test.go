package gen_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"testing"

	"github.com/tpool-go/tpool/gen/bridge"
	"github.com/tpool-go/tpool/gen/discovery"
	"github.com/tpool-go/tpool/gen/driver"
	"github.com/tpool-go/tpool/gen/joinbarrier"
	"github.com/tpool-go/tpool/gen/tracelink"
	"github.com/tpool-go/tpool/gen/wire"
)

// schemaVectors returns the shared vectors of the named schema (as
// expected.json names it), or none when the shared vectors are absent: the
// fuzz targets still run then, from their other seeds.
func schemaVectors(f *testing.F, schemaName string) []vector {
	var out []vector
	for _, set := range []vectorSet{referenceVectors, cVectors} {
		vs, err := set.load()
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			f.Fatal(err)
		}
		for _, v := range vs {
			if v.Schema == schemaName {
				out = append(out, v)
			}
		}
	}
	return out
}

// seedVectors adds every vector of the given schema as a fuzz seed.
func seedVectors(f *testing.F, schemaName string) {
	for _, v := range schemaVectors(f, schemaName) {
		f.Add(v.data)
	}
	f.Add([]byte{})
	f.Add(make([]byte, 8))
}

// exercise reads every field, group and var data of a decoded message
// through its JSON form (which calls every accessor) and checks the
// invariants a decoder promises.
func exercise(t *testing.T, data []byte, m interface {
	EncodedLength() int
	AppendJSON([]byte) []byte
}) {
	if n := m.EncodedLength(); n < 0 || n > len(data) {
		t.Fatalf("EncodedLength %d outside the %d-byte input", n, len(data))
	}
	out := m.AppendJSON(nil)
	if !json.Valid(out) {
		t.Fatalf("AppendJSON is not valid JSON: %s", out)
	}
}

func fuzzDispatcher[M interface {
	EncodedLength() int
	AppendJSON([]byte) []byte
}](f *testing.F, schemaName string, decode func([]byte) (M, error)) {
	seedVectors(f, schemaName)
	f.Fuzz(func(t *testing.T, data []byte) {
		orig := bytes.Clone(data)
		m, err := decode(data)
		if err == nil {
			exercise(t, data, m)
		}
		if !bytes.Equal(orig, data) {
			t.Fatal("decoding modified its input")
		}
	})
}

func FuzzWire(f *testing.F) {
	fuzzDispatcher(f, "wire", func(b []byte) (wire.Message, error) { var d wire.Dispatcher; return d.Decode(b) })
}

// FuzzWireNoHeader covers the SHM structures decoded without a header, with
// any acting block length and version.
func FuzzWireNoHeader(f *testing.F) {
	seedVectors(f, "wire")
	// The SHM structure vectors, behind the two bytes that give the fuzz
	// function their block length and version.
	for _, v := range schemaVectors(f, "wire") {
		if !v.HasMessageHeader {
			f.Add(append([]byte{byte(v.SchemaBlockLen / 2), byte(v.SchemaVersion)}, v.data...))
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) < 3 {
			return
		}
		bl, ver := int(data[0])*2, int(data[1]%4)
		for _, id := range []int{wire.ShmRegionSuperblockTemplateID, wire.SlotHeaderTemplateID, wire.TensorHeaderTemplateID} {
			d := wire.NewDecoder(id)
			if err := d.Wrap(data[2:], bl, ver); err == nil {
				exercise(t, data[2:], d)
			}
		}
	})
}

func FuzzDriver(f *testing.F) {
	fuzzDispatcher(f, "driver", func(b []byte) (driver.Message, error) { var d driver.Dispatcher; return d.Decode(b) })
}

func FuzzBridge(f *testing.F) {
	fuzzDispatcher(f, "bridge", func(b []byte) (bridge.Message, error) { var d bridge.Dispatcher; return d.Decode(b) })
}

func FuzzDiscovery(f *testing.F) {
	fuzzDispatcher(f, "discovery", func(b []byte) (discovery.Message, error) { var d discovery.Dispatcher; return d.Decode(b) })
}

func FuzzJoinBarrier(f *testing.F) {
	fuzzDispatcher(f, "join-barrier", func(b []byte) (joinbarrier.Message, error) { var d joinbarrier.Dispatcher; return d.Decode(b) })
}

func FuzzTraceLink(f *testing.F) {
	fuzzDispatcher(f, "trace-link", func(b []byte) (tracelink.Message, error) { var d tracelink.Dispatcher; return d.Decode(b) })
}
