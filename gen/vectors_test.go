package gen_test

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/tpool-go/tpool/gen/bridge"
	"github.com/tpool-go/tpool/gen/discovery"
	"github.com/tpool-go/tpool/gen/driver"
	"github.com/tpool-go/tpool/gen/joinbarrier"
	"github.com/tpool-go/tpool/gen/tracelink"
	"github.com/tpool-go/tpool/gen/wire"
	"github.com/tpool-go/tpool/internal/codectest"
	"github.com/tpool-go/tpool/runtime/sbe"
	"github.com/tpool-go/tpool/tensorgen/schema"
)

// codecs ties a schema name used by the vectors to its file and generated
// package.
type codecs struct {
	file       string
	newDecoder func(int) decoder
	newEncoder func(int) encoder
	decode     func([]byte) (decoder, error)
}

type decoder interface {
	Wrap(buf []byte, actingBlockLength, actingVersion int) error
	WrapWithHeader(buf []byte) error
	EncodedLength() int
	String() string
}

type encoder interface {
	Wrap(buf []byte) error
	WrapWithHeader(buf []byte) error
}

// entry adapts one generated package to codecs.
func entry[M, E any](file string, nd func(int) M, ne func(int) E, decode func([]byte) (M, error)) codecs {
	return codecs{
		file: file,
		newDecoder: func(id int) decoder {
			d, _ := any(nd(id)).(decoder)
			return d
		},
		newEncoder: func(id int) encoder {
			e, _ := any(ne(id)).(encoder)
			return e
		},
		decode: func(b []byte) (decoder, error) {
			m, err := decode(b)
			if err != nil {
				return nil, err
			}
			return any(m).(decoder), nil
		},
	}
}

func allCodecs() map[string]codecs {
	return map[string]codecs{
		"wire":         entry("wire-schema.xml", wire.NewDecoder, wire.NewEncoder, new(wire.Dispatcher).Decode),
		"driver":       entry("driver-schema.xml", driver.NewDecoder, driver.NewEncoder, new(driver.Dispatcher).Decode),
		"bridge":       entry("bridge-schema.xml", bridge.NewDecoder, bridge.NewEncoder, new(bridge.Dispatcher).Decode),
		"discovery":    entry("discovery-schema.xml", discovery.NewDecoder, discovery.NewEncoder, new(discovery.Dispatcher).Decode),
		"join-barrier": entry("join-barrier-schema.xml", joinbarrier.NewDecoder, joinbarrier.NewEncoder, new(joinbarrier.Dispatcher).Decode),
		"trace-link":   entry("trace-link-schema.xml", tracelink.NewDecoder, tracelink.NewEncoder, new(tracelink.Dispatcher).Decode),
	}
}

// vector is the part of an expected.json entry the test uses.
type vector struct {
	File             string         `json:"file"`
	Schema           string         `json:"schema"`
	TemplateID       int            `json:"templateId"`
	Message          string         `json:"message"`
	HasMessageHeader bool           `json:"hasMessageHeader"`
	Length           int            `json:"length"`
	DecodedLength    int            `json:"decodedLength"`
	SchemaBlockLen   int            `json:"schemaBlockLength"`
	SchemaVersion    int            `json:"schemaVersion"`
	Fields           map[string]any `json:"fields"`
	Error            string         `json:"error"`
	Hex              string         `json:"hex"`
}

func loadVectors(t *testing.T, path, key string) []vector {
	t.Helper()
	raw, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		t.Skipf("%s not present (the shared vectors live beside the repository)", path)
	}
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil {
		t.Fatal(err)
	}
	var vs []vector
	d2 := json.NewDecoder(bytes.NewReader(doc[key]))
	d2.UseNumber()
	if err := d2.Decode(&vs); err != nil {
		t.Fatal(err)
	}
	if len(vs) == 0 {
		t.Fatalf("%s: no vectors", path)
	}
	return vs
}

var schemaCache = map[string]*schema.Schema{}

func messageModel(t *testing.T, file, name string) *schema.Message {
	t.Helper()
	s, ok := schemaCache[file]
	if !ok {
		var err error
		s, err = schema.ParseFile(filepath.Join("..", "schema", file))
		if err != nil {
			t.Fatal(err)
		}
		schemaCache[file] = s
	}
	for _, m := range s.Messages {
		if m.Name == name {
			return m
		}
	}
	t.Fatalf("%s has no message %s", file, name)
	return nil
}

func runVectors(t *testing.T, dir, jsonFile, key string) {
	all := allCodecs()
	for _, v := range loadVectors(t, filepath.Join(dir, jsonFile), key) {
		t.Run(v.File, func(t *testing.T) {
			c, ok := all[v.Schema]
			if !ok {
				t.Fatalf("unknown schema %q", v.Schema)
			}
			data, err := os.ReadFile(filepath.Join(dir, v.File))
			if err != nil {
				t.Fatal(err)
			}
			if v.Hex != "" {
				if want, _ := hex.DecodeString(v.Hex); !bytes.Equal(want, data) {
					t.Fatalf("file bytes differ from expected.json hex")
				}
			}
			var d decoder
			if v.HasMessageHeader {
				d, err = c.decode(data)
			} else {
				d = c.newDecoder(v.TemplateID)
				if d == nil {
					t.Fatalf("no decoder for template %d", v.TemplateID)
				}
				err = d.Wrap(data, v.SchemaBlockLen, v.SchemaVersion)
			}
			if v.Error != "" {
				if err == nil {
					t.Fatalf("decoded a vector that must be rejected (%s): %s", v.Error, d)
				}
				if !errors.Is(err, sbe.ErrShortBuffer) && !errors.Is(err, sbe.ErrVarDataLength) && !errors.Is(err, sbe.ErrGroupCount) && !errors.Is(err, sbe.ErrBlockLength) {
					t.Errorf("rejected with %v, want one of the sbe sentinel errors", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			if got := d.EncodedLength(); got != v.DecodedLength {
				t.Errorf("EncodedLength = %d, want %d", got, v.DecodedLength)
			}
			m := messageModel(t, c.file, v.Message)
			for _, diff := range codectest.Check(d, m, v.Fields) {
				t.Error(diff)
			}
			// Encode the same values and compare the bytes.
			e := c.newEncoder(v.TemplateID)
			buf := make([]byte, len(data)+64)
			for i := range buf {
				buf[i] = 0xa5 // stale bytes must not leak into the output
			}
			if v.HasMessageHeader {
				err = e.WrapWithHeader(buf)
			} else {
				err = e.Wrap(buf)
			}
			if err != nil {
				t.Fatal(err)
			}
			n, err := codectest.Encode(e, m, v.Fields)
			if err != nil {
				t.Fatalf("encode: %v", err)
			}
			if n != v.DecodedLength || !bytes.Equal(buf[:n], data[:v.DecodedLength]) {
				t.Errorf("re-encoded %d bytes differ from the vector's %d:\n got %x\nwant %x", n, v.DecodedLength, buf[:n], data[:v.DecodedLength])
			}
		})
	}
}

// TestReferenceVectors: bytes from the reference SBE generator decode to the
// documented values, and encoding those values gives the same bytes.
func TestReferenceVectors(t *testing.T) {
	runVectors(t, "../../shared/vectors/reference", "expected.json", "vectors")
}

// TestTensorPoolCVectors: the same for bytes written by the C
// implementation, including the non-canonical vector that must be rejected.
func TestTensorPoolCVectors(t *testing.T) {
	runVectors(t, "../../shared/vectors/tensor_pool_c", "expected.json", "files")
}
