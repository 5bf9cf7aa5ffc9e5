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
	"github.com/tpool-go/tpool/runtime/sbe"
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
	AppendJSON([]byte) ([]byte, error)
}) {
	if n := m.EncodedLength(); n < 0 || n > len(data) {
		t.Fatalf("EncodedLength %d outside the %d-byte input", n, len(data))
	}
	out, err := m.AppendJSON(nil)
	switch {
	case errors.Is(err, sbe.ErrJSONLimit):
	case err != nil:
		t.Fatalf("AppendJSON: %v", err)
	case !json.Valid(out):
		t.Fatalf("AppendJSON is not valid JSON: %s", out)
	}
}

func fuzzDispatcher[M interface {
	EncodedLength() int
	AppendJSON([]byte) ([]byte, error)
}](f *testing.F, schemaName string, decode func([]byte) (M, error)) {
	seedVectors(f, schemaName)
	// decode reuses one Dispatcher across inputs, as a poller does: what
	// one message leaves in it must not spoil the next.
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
	var d wire.Dispatcher
	fuzzDispatcher(f, "wire", d.Decode)
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
	var d driver.Dispatcher
	fuzzDispatcher(f, "driver", d.Decode)
}

func FuzzBridge(f *testing.F) {
	var d bridge.Dispatcher
	fuzzDispatcher(f, "bridge", d.Decode)
}

func FuzzDiscovery(f *testing.F) {
	var d discovery.Dispatcher
	fuzzDispatcher(f, "discovery", d.Decode)
}

func FuzzJoinBarrier(f *testing.F) {
	var d joinbarrier.Dispatcher
	fuzzDispatcher(f, "join-barrier", d.Decode)
}

func FuzzTraceLink(f *testing.F) {
	var d tracelink.Dispatcher
	fuzzDispatcher(f, "trace-link", d.Decode)
}

// FuzzFrameDescriptorView: the value-type View accepts exactly what
// WrapWithHeader accepts, with the same error, and then reads what the
// decoder reads, for any bytes (current, older, newer, short or foreign
// headers). Its inlined fast path and its slow path are both covered: the
// seeds include a current FrameDescriptor and one of an older version.
func FuzzFrameDescriptorView(f *testing.F) {
	seedVectors(f, "wire")
	cur := make([]byte, 48)
	encodeFrameDescriptorView(cur, 1)
	f.Add(cur)
	old := bytes.Clone(cur[:40])
	old[0], old[6] = 32, 0 // a version-0 sender with a 32-byte block
	f.Add(old)
	var d, vd wire.FrameDescriptorDecoder
	f.Fuzz(func(t *testing.T, data []byte) {
		orig := bytes.Clone(data)
		werr := d.WrapWithHeader(data)
		v, err := vd.View(data)
		if (err == nil) != (werr == nil) || (err != nil && err.Error() != werr.Error()) {
			t.Fatalf("View: %v, WrapWithHeader: %v", err, werr)
		}
		if !bytes.Equal(orig, data) {
			t.Fatal("View modified its input")
		}
		if err != nil {
			if !v.TimestampNsIsNull() || !v.MetaVersionIsNull() || !v.TraceIdIsNull() {
				t.Errorf("a failed view reads non-null optional fields")
			}
			return
		}
		type fields struct {
			streamID, metaVersion         uint32
			epoch, seq, ts, trace         uint64
			version, blockLength, encoded int
		}
		got := fields{v.StreamId(), v.MetaVersion(), v.Epoch(), v.Seq(), v.TimestampNs(), v.TraceId(), v.ActingVersion(), v.ActingBlockLength(), v.EncodedLength()}
		want := fields{d.StreamId(), d.MetaVersion(), d.Epoch(), d.Seq(), d.TimestampNs(), d.TraceId(), d.ActingVersion(), d.ActingBlockLength(), d.EncodedLength()}
		if got != want {
			t.Errorf("view %+v\ndecoder %+v", got, want)
		}
	})
}
