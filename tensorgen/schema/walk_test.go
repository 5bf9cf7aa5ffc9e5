package schema

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// walker steps through an encoded message using only the model's block
// lengths, dimension and var-data layouts, so a wrong layout or a wrong
// order of groups and data shows up as bytes left over or missing.
type walker struct {
	b     []byte
	order binary.ByteOrder
}

func (w walker) uint(pos int, p Primitive) (int, error) {
	if pos < 0 || pos+p.Size() > len(w.b) {
		return 0, fmt.Errorf("read of %s at %d past the end (%d bytes)", p, pos, len(w.b))
	}
	switch p.Size() {
	case 1:
		return int(w.b[pos]), nil
	case 2:
		return int(w.order.Uint16(w.b[pos:])), nil
	case 4:
		return int(w.order.Uint32(w.b[pos:])), nil
	}
	return int(w.order.Uint64(w.b[pos:])), nil
}

// block walks one message body or group entry whose fixed block is
// blockLength bytes, returning the position after it.
func (w walker) block(pos, blockLength int, groups []*Group, data []*Data) (int, error) {
	pos += blockLength
	for _, g := range groups {
		bl := g.Dimension.Member("blockLength")
		n := g.Dimension.Member("numInGroup")
		gotBL, err := w.uint(pos+bl.Offset, bl.Type.(*Encoded).Primitive)
		if err != nil {
			return 0, err
		}
		count, err := w.uint(pos+n.Offset, n.Type.(*Encoded).Primitive)
		if err != nil {
			return 0, err
		}
		if gotBL != g.BlockLength {
			return 0, fmt.Errorf("group %s at %d: blockLength %d on the wire, %d in the model", g.Name, pos, gotBL, g.BlockLength)
		}
		pos += g.Dimension.Size
		for i := 0; i < count; i++ {
			if pos, err = w.block(pos, g.BlockLength, g.Groups, g.Data); err != nil {
				return 0, fmt.Errorf("group %s entry %d: %w", g.Name, i, err)
			}
		}
	}
	for _, d := range data {
		n, err := w.uint(pos, d.LengthType())
		if err != nil {
			return 0, fmt.Errorf("data %s: %w", d.Name, err)
		}
		pos += d.LengthType().Size() + n
	}
	return pos, nil
}

// message walks a whole message with its header, checking the header's
// block length and template id against the model.
func (w walker) message(s *Schema, m *Message) error {
	h := s.Header
	bl, err := w.uint(h.Member("blockLength").Offset, h.Member("blockLength").Type.(*Encoded).Primitive)
	if err != nil {
		return err
	}
	id, err := w.uint(h.Member("templateId").Offset, h.Member("templateId").Type.(*Encoded).Primitive)
	if err != nil {
		return err
	}
	if bl != m.BlockLength || id != m.ID {
		return fmt.Errorf("header blockLength %d templateId %d, model %d %d", bl, id, m.BlockLength, m.ID)
	}
	end, err := w.block(h.Size, m.BlockLength, m.Groups, m.Data)
	if err != nil {
		return err
	}
	if end != len(w.b) {
		return fmt.Errorf("walk ends at %d, message has %d bytes", end, len(w.b))
	}
	return nil
}

func TestWalkCar(t *testing.T) {
	skipWithout(t, vectorsDir)
	tests := []struct {
		schema, data string
		order        binary.ByteOrder
		size         int
	}{
		{"example-schema.xml", "car_example_baseline_data.sbe", binary.LittleEndian, 207},
		{"example-bigendian-test-schema.xml", "car_example_bigendian_data.sbe", binary.BigEndian, 211},
	}
	for _, tt := range tests {
		t.Run(tt.data, func(t *testing.T) {
			s := mustParse(t, filepath.Join(vectorsDir, "sbe/schemas", tt.schema))
			b, err := os.ReadFile(filepath.Join(vectorsDir, "sbe", tt.data))
			if err != nil {
				t.Fatal(err)
			}
			if len(b) != tt.size {
				t.Fatalf("%s has %d bytes, want %d", tt.data, len(b), tt.size)
			}
			if err := (walker{b, tt.order}).message(s, message(t, s, "Car")); err != nil {
				t.Error(err)
			}
		})
	}
}

// TestWalkProtocolVectors walks every message the reference generator's
// codecs encoded for the protocol schemas.
func TestWalkProtocolVectors(t *testing.T) {
	vectors, protocol := referenceVectors(t)
	for _, v := range vectors {
		t.Run(v.File, func(t *testing.T) {
			s := protocol(t, v.Schema)
			m := message(t, s, v.Message)
			b, err := os.ReadFile(filepath.Join(vectorsDir, "reference", v.File))
			if err != nil {
				t.Fatal(err)
			}
			w := walker{b, binary.LittleEndian}
			if v.HasMessageHeader {
				err = w.message(s, m)
			} else {
				var end int
				end, err = w.block(0, m.BlockLength, m.Groups, m.Data)
				if err == nil && end != len(b) {
					err = fmt.Errorf("walk ends at %d, message has %d bytes", end, len(b))
				}
			}
			if err != nil {
				t.Error(err)
			}
		})
	}
}
