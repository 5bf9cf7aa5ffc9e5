package gen_test

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
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
func entry[M decoder, E encoder](file string, nd func(int) M, ne func(int) E, decode func([]byte) (M, error)) codecs {
	return codecs{
		file:       file,
		newDecoder: func(id int) decoder { return nd(id) },
		newEncoder: func(id int) encoder { return ne(id) },
		decode: func(b []byte) (decoder, error) {
			m, err := decode(b)
			if err != nil {
				return nil, err
			}
			return m, nil
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

	data []byte // the file's bytes, checked against Hex
}

// vectorSet is one folder of shared vectors and the key of its list in
// the folder's expected.json.
type vectorSet struct{ dir, key string }

var (
	referenceVectors = vectorSet{"../../shared/vectors/reference", "vectors"}
	cVectors         = vectorSet{"../../shared/vectors/tensor_pool_c", "files"}

	// vectorCache holds each set once loaded: the vector tests and every
	// fuzz target use them.
	vectorCache = map[vectorSet][]vector{}
)

// load reads the set's expected.json and vector files. An error matching
// os.ErrNotExist means the shared vectors are not beside the repository.
func (s vectorSet) load() ([]vector, error) {
	if vs, ok := vectorCache[s]; ok {
		return vs, nil
	}
	path := filepath.Join(s.dir, "expected.json")
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	var vs []vector
	dec := json.NewDecoder(bytes.NewReader(doc[s.key]))
	dec.UseNumber()
	if err := dec.Decode(&vs); err != nil {
		return nil, fmt.Errorf("%s: %s: %w", path, s.key, err)
	}
	if len(vs) == 0 {
		return nil, fmt.Errorf("%s: no vectors", path)
	}
	for i := range vs {
		v := &vs[i]
		// %v: a vector file missing beside its expected.json is a failure,
		// not a reason to skip.
		if v.data, err = os.ReadFile(filepath.Join(s.dir, v.File)); err != nil {
			return nil, fmt.Errorf("%s: %v", path, err)
		}
		if want, _ := hex.DecodeString(v.Hex); v.Hex != "" && !bytes.Equal(want, v.data) {
			return nil, fmt.Errorf("%s: bytes differ from expected.json hex", v.File)
		}
	}
	vectorCache[s] = vs
	return vs, nil
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

func runVectors(t *testing.T, set vectorSet) {
	vs, err := set.load()
	if errors.Is(err, os.ErrNotExist) {
		t.Skipf("%s not present (the shared vectors live beside the repository)", set.dir)
	}
	if err != nil {
		t.Fatal(err)
	}
	all := allCodecs()
	for _, v := range vs {
		t.Run(v.File, func(t *testing.T) {
			c, ok := all[v.Schema]
			if !ok {
				t.Fatalf("unknown schema %q", v.Schema)
			}
			var (
				d   decoder
				err error
			)
			if v.HasMessageHeader {
				d, err = c.decode(v.data)
			} else {
				d = c.newDecoder(v.TemplateID)
				if d == nil {
					t.Fatalf("no decoder for template %d", v.TemplateID)
				}
				err = d.Wrap(v.data, v.SchemaBlockLen, v.SchemaVersion)
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
			buf := make([]byte, len(v.data)+64)
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
			if n != v.DecodedLength || !bytes.Equal(buf[:n], v.data[:v.DecodedLength]) {
				t.Errorf("re-encoded %d bytes differ from the vector's %d:\n got %x\nwant %x", n, v.DecodedLength, buf[:n], v.data[:v.DecodedLength])
			}
		})
	}
}

// TestReferenceVectors: bytes from the reference SBE generator decode to the
// documented values, and encoding those values gives the same bytes.
func TestReferenceVectors(t *testing.T) {
	runVectors(t, referenceVectors)
}

// TestTensorPoolCVectors: the same for bytes written by the C
// implementation, including the non-canonical vector that must be rejected.
func TestTensorPoolCVectors(t *testing.T) {
	runVectors(t, cVectors)
}
