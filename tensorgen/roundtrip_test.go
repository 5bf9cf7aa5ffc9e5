package tensorgen_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/tpool-go/tpool/internal/codectest"
	"github.com/tpool-go/tpool/runtime/sbe"
	"github.com/tpool-go/tpool/tensorgen"
	"github.com/tpool-go/tpool/tensorgen/internal/testschemas/example"
	"github.com/tpool-go/tpool/tensorgen/schema"
)

type testSchema struct {
	file       string
	newEncoder func(int) any
	newDecoder func(int) any
}

func anyOf[T any](f func(int) T) func(int) any {
	return func(id int) any { return f(id) }
}

type msgEncoder interface {
	WrapWithHeader([]byte) error
	Wrap([]byte) error
}

type msgDecoder interface {
	WrapWithHeader([]byte) error
	EncodedLength() int
	ActingVersion() int
	String() string
}

// encodeMessage populates and encodes one message with its header.
func encodeMessage(t *testing.T, ts testSchema, m *schema.Message, seed int) ([]byte, map[string]any) {
	t.Helper()
	values := codectest.Populate(m, seed)
	e, ok := ts.newEncoder(m.ID).(msgEncoder)
	if !ok {
		t.Fatalf("no encoder for %s", m.Name)
	}
	buf := make([]byte, 64<<10)
	if err := e.WrapWithHeader(buf); err != nil {
		t.Fatal(err)
	}
	n, err := codectest.Encode(e, m, values)
	if err != nil {
		t.Fatalf("encode %s: %v", m.Name, err)
	}
	return buf[:n], values
}

// TestRoundTripAllSchemas: every schema of the SBE reference project's test
// set generates, compiles (it is imported here) and round-trips a populated
// instance of every message; every truncation of each encoding is rejected.
func TestRoundTripAllSchemas(t *testing.T) {
	views := 0
	defer func() {
		if views == 0 {
			t.Error("no message was read through a View")
		}
	}()
	for _, ts := range testSchemas() {
		t.Run(ts.file, func(t *testing.T) {
			s := parseSchema(t, ts.file)
			if len(s.Messages) == 0 {
				t.Fatal("no messages")
			}
			for _, m := range s.Messages {
				t.Run(m.Name, func(t *testing.T) {
					enc, values := encodeMessage(t, ts, m, m.ID)
					d, ok := ts.newDecoder(m.ID).(msgDecoder)
					if !ok {
						t.Fatalf("no decoder for %s", m.Name)
					}
					if err := d.WrapWithHeader(enc); err != nil {
						t.Fatalf("decode: %v", err)
					}
					if d.EncodedLength() != len(enc) {
						t.Errorf("EncodedLength %d, encoded %d", d.EncodedLength(), len(enc))
					}
					for _, diff := range codectest.Check(d, m, values) {
						t.Error(diff)
					}
					if s := d.String(); !strings.HasPrefix(s, "{") {
						t.Errorf("String() = %q", s)
					}
					// A block-only message's View reads the same values.
					view := reflect.ValueOf(ts.newDecoder(m.ID)).MethodByName("View")
					if view.IsValid() {
						views++
						out := view.Call([]reflect.Value{reflect.ValueOf(enc)})
						if err, _ := out[1].Interface().(error); err != nil {
							t.Fatalf("View: %v", err)
						}
						for _, diff := range codectest.Check(out[0].Interface(), m, values) {
							t.Error("View: " + diff)
						}
						if n := out[0].MethodByName("EncodedLength").Call(nil)[0].Int(); int(n) != len(enc) {
							t.Errorf("View: EncodedLength %d, encoded %d", n, len(enc))
						}
						for i := 0; i < len(enc); i++ {
							out := view.Call([]reflect.Value{reflect.ValueOf(enc[:i])})
							if err, _ := out[1].Interface().(error); !errors.Is(err, sbe.ErrShortBuffer) {
								t.Fatalf("View of a prefix of %d of %d bytes: err = %v, want ErrShortBuffer", i, len(enc), err)
							}
						}
					} else if len(m.Groups) == 0 && len(m.Data) == 0 && m.BlockLength > 0 && m.SinceVersion <= s.Version {
						t.Errorf("block-only message %s has no View", m.Name)
					}
					// Encoding the same values again gives the same bytes.
					enc2, _ := encodeMessage(t, ts, m, m.ID)
					if !bytes.Equal(enc, enc2) {
						t.Errorf("encoding is not deterministic")
					}
					// Every strict prefix is short: the header, the block,
					// every group header and every var-data length prefix
					// are on the wire even when a group or data is empty.
					for i := 0; i < len(enc); i++ {
						d2 := ts.newDecoder(m.ID).(msgDecoder)
						if err := d2.WrapWithHeader(enc[:i]); !errors.Is(err, sbe.ErrShortBuffer) {
							t.Fatalf("prefix of %d of %d bytes: err = %v, want ErrShortBuffer", i, len(enc), err)
						}
					}
				})
			}
		})
	}
}

// TestCrossVersion: bytes of a newer schema version decode with the older
// codecs (unknown block bytes skipped) and older bytes decode with the
// newer codecs (newer fields read as null).
func TestCrossVersion(t *testing.T) {
	byFile := map[string]testSchema{}
	for _, ts := range testSchemas() {
		byFile[ts.file] = ts
	}
	pairs := []struct{ old, new string }{
		{"versioned-message-v1.xml", "versioned-message-v2.xml"},
		{"example-schema.xml", "example-extension-schema.xml"},
	}
	for _, p := range pairs {
		t.Run(p.old+"->"+p.new, func(t *testing.T) {
			so, sn := parseSchema(t, p.old), parseSchema(t, p.new)
			if so.Version >= sn.Version {
				t.Fatalf("versions %d and %d", so.Version, sn.Version)
			}
			mo, mn := so.Messages[0], sn.Messages[0]
			// new -> old
			encNew, valuesNew := encodeMessage(t, byFile[p.new], mn, 7)
			dOld := byFile[p.old].newDecoder(mo.ID).(msgDecoder)
			if err := dOld.WrapWithHeader(encNew); err != nil {
				t.Fatalf("old decoder on new bytes: %v", err)
			}
			if dOld.ActingVersion() != sn.Version || dOld.EncodedLength() != len(encNew) {
				t.Errorf("acting version %d length %d, want %d %d", dOld.ActingVersion(), dOld.EncodedLength(), sn.Version, len(encNew))
			}
			for _, diff := range codectest.Check(dOld, mo, valuesNew) {
				t.Error("old decoder: " + diff)
			}
			// old -> new
			encOld, valuesOld := encodeMessage(t, byFile[p.old], mo, 9)
			dNew := byFile[p.new].newDecoder(mn.ID).(msgDecoder)
			if err := dNew.WrapWithHeader(encOld); err != nil {
				t.Fatalf("new decoder on old bytes: %v", err)
			}
			for _, diff := range codectest.Check(dNew, mn, valuesOld) {
				t.Error("new decoder: " + diff)
			}
			// Fields the old schema lacks read as their null value.
			nulls := map[string]any{}
			for _, f := range mn.Fields {
				if f.Presence == schema.Constant || hasField(mo, f.Name) {
					continue
				}
				e, ok := f.Type.(*schema.Encoded)
				if !ok {
					continue
				}
				nulls[f.Name] = nullJSON(e, f.Null)
			}
			if len(nulls) == 0 {
				t.Fatal("no newer fields to check")
			}
			for _, diff := range codectest.Check(dNew, mn, nulls) {
				t.Error("newer field not null: " + diff)
			}
		})
	}
}

func hasField(m *schema.Message, name string) bool {
	for _, f := range m.Fields {
		if f.Name == name {
			return true
		}
	}
	return false
}

func nullJSON(e *schema.Encoded, null schema.Value) any {
	one := func() any {
		switch {
		case e.Primitive.IsSigned():
			return null.I
		case e.Primitive.IsFloat():
			return null.F
		default:
			return null.U
		}
	}
	if e.Length == 1 {
		return one()
	}
	// arrays absent at the acting version read as zero values
	list := make([]any, e.Length)
	for i := range list {
		list[i] = 0
	}
	return list
}

// TestGeneratedUpToDate regenerates every committed package, the protocol
// codecs in gen/ and the test codecs, and fails if any differs: gen/ must
// never be stale.
func TestGeneratedUpToDate(t *testing.T) {
	sets := []struct {
		out, root string
		glob      string
		inRepo    bool // else the schemas live beside the repository
	}{
		{"../gen", "..", "../schema/*.xml", true},
		{"internal/testschemas", "../..", sbeVectors + "/schemas/*.xml", false},
		{"internal/versioned", ".", "testdata/versions/*.xml", true},
	}
	for _, set := range sets {
		files, _ := filepath.Glob(set.glob)
		var schemas []string
		for _, f := range files {
			if filepath.Base(f) != "common-types.xml" {
				schemas = append(schemas, f)
			}
		}
		if len(schemas) == 0 {
			if set.inRepo {
				t.Fatalf("no schemas match %s", set.glob)
			}
			t.Logf("%s: no schemas match %s (../shared is not beside the repository; see README); not checked", set.out, set.glob)
			continue
		}
		outs, err := tensorgen.Build(tensorgen.Config{OutDir: set.out, Schemas: schemas, SourceRoot: set.root})
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range outs {
			have, err := os.ReadFile(o.Path)
			if err != nil {
				t.Errorf("%s: %v (run make generate)", o.Path, err)
				continue
			}
			if !bytes.Equal(have, o.Source) {
				t.Errorf("%s is stale: run make generate", o.Path)
			}
			if !bytes.HasPrefix(o.Source, []byte("// Code generated by tensorgen. DO NOT EDIT.")) {
				t.Errorf("%s lacks the generated-code marker", o.Path)
			}
		}
	}
}

// TestDispatcherErrors: Dispatcher.Decode and WrapWithHeader check the
// schema id and the template id of the header.
func TestDispatcherErrors(t *testing.T) {
	ts := testSchema{"example-schema.xml", anyOf(example.NewEncoder), anyOf(example.NewDecoder)}
	s := parseSchema(t, ts.file)
	enc, _ := encodeMessage(t, ts, s.Messages[0], 1) // Car, the only message
	// The little-endian header: blockLength, templateId, schemaId, version.
	with := func(off int, v uint16) []byte {
		b := bytes.Clone(enc)
		binary.LittleEndian.PutUint16(b[off:], v)
		return b
	}
	tests := []struct {
		name                 string
		buf                  []byte
		dispatchErr, wrapErr error
	}{
		{"valid", enc, nil, nil},
		{"other schema", with(4, example.SchemaID+1), sbe.ErrSchemaMismatch, sbe.ErrSchemaMismatch},
		{"unknown template", with(2, example.CarTemplateID+100), sbe.ErrUnknownTemplate, sbe.ErrTemplateMismatch},
		{"short header", enc[:example.MessageHeaderEncodedLength-1], sbe.ErrShortBuffer, sbe.ErrShortBuffer},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var disp example.Dispatcher
			msg, err := disp.Decode(tt.buf)
			if !errors.Is(err, tt.dispatchErr) {
				t.Errorf("Dispatcher.Decode: %v, want %v", err, tt.dispatchErr)
			}
			if _, isCar := msg.(*example.CarDecoder); isCar != (tt.dispatchErr == nil) {
				t.Errorf("Dispatcher.Decode returned %T", msg)
			}
			var d example.CarDecoder
			if err := d.WrapWithHeader(tt.buf); !errors.Is(err, tt.wrapErr) {
				t.Errorf("WrapWithHeader: %v, want %v", err, tt.wrapErr)
			}
		})
	}
}

// A schema id mismatch names both ids, and a decoder fed messages of
// another schema over and over does not allocate for it.
func TestSchemaMismatchNamesBothIDsWithoutAllocating(t *testing.T) {
	var e example.CarEncoder
	buf := make([]byte, 1024)
	if err := e.WrapWithHeader(buf); err != nil {
		t.Fatal(err)
	}
	binary.LittleEndian.PutUint16(buf[4:], 4242)
	want := fmt.Sprintf("sbe: schema id mismatch: message header has schema id 4242, this codec decodes schema id %d", example.SchemaID)
	var d example.CarDecoder
	var disp example.Dispatcher
	_, derr := disp.Decode(buf)
	for _, err := range []error{d.WrapWithHeader(buf), derr} {
		if err == nil || err.Error() != want {
			t.Errorf("got %v, want %q", err, want)
		}
		var sm *sbe.SchemaMismatchError
		if !errors.As(err, &sm) || sm.Got != 4242 || sm.Want != example.SchemaID {
			t.Errorf("errors.As: %#v", sm)
		}
	}
	if n := testing.AllocsPerRun(100, func() { _ = d.WrapWithHeader(buf); _, _ = disp.Decode(buf) }); n != 0 {
		t.Errorf("%v allocations per mismatch, want 0", n)
	}
}
