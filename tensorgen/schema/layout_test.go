package schema

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const (
	vectorsDir  = "../../../shared/vectors"
	protocolDir = "../../schema"
	specDir     = "../../../shared/spec/schemas"
)

func mustParse(t *testing.T, path string) *Schema {
	t.Helper()
	s, err := ParseFile(path)
	if err != nil {
		t.Fatalf("ParseFile(%s): %v", path, err)
	}
	return s
}

func skipWithout(t *testing.T, dir string) {
	t.Helper()
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("%s not present (the shared vectors and specs live in ../shared beside the repository; see README): %v", dir, err)
	}
}

func message(t *testing.T, s *Schema, name string) *Message {
	t.Helper()
	for _, m := range s.Messages {
		if m.Name == name {
			return m
		}
	}
	t.Fatalf("no message %q", name)
	return nil
}

func namedType(t *testing.T, s *Schema, name string) Type {
	t.Helper()
	for _, ty := range s.Types {
		if ty.TypeName() == name {
			return ty
		}
	}
	t.Fatalf("no type %q", name)
	return nil
}

// slot is a name at an offset with a size, for comparing layouts.
type slot struct {
	Name         string
	Offset, Size int
}

func fieldSlots(fs []*Field) []slot {
	var out []slot
	for _, f := range fs {
		size := wireSize(f.Type)
		if f.Presence == Constant {
			size = 0
		}
		out = append(out, slot{f.Name, f.Offset, size})
	}
	return out
}

func memberSlots(c *Composite) []slot {
	var out []slot
	for _, m := range c.Members {
		out = append(out, slot{m.Name, m.Offset, wireSize(m.Type)})
	}
	return out
}

func names[T interface{ TypeName() string }](xs []T) []string {
	var out []string
	for _, x := range xs {
		out = append(out, x.TypeName())
	}
	return out
}

// referenceVector is an entry of vectors/reference/expected.json: a message
// the reference generator's codecs encoded for a protocol schema.
type referenceVector struct {
	File, Schema, Message string
	HasMessageHeader      bool
	SchemaBlockLength     int
	GroupDimensions       []struct {
		Path              string
		SchemaBlockLength int
	}
}

// referenceVectors reads the reference vectors (skipping without them) and
// returns them with a function that parses a protocol schema once.
func referenceVectors(t *testing.T) ([]referenceVector, func(*testing.T, string) *Schema) {
	t.Helper()
	skipWithout(t, vectorsDir)
	raw, err := os.ReadFile(filepath.Join(vectorsDir, "reference/expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	var expected struct{ Vectors []referenceVector }
	if err := json.Unmarshal(raw, &expected); err != nil {
		t.Fatal(err)
	}
	if len(expected.Vectors) == 0 {
		t.Fatal("no reference vectors")
	}
	schemas := map[string]*Schema{}
	protocol := func(t *testing.T, name string) *Schema {
		t.Helper()
		if schemas[name] == nil {
			schemas[name] = mustParse(t, filepath.Join(protocolDir, name+"-schema.xml"))
		}
		return schemas[name]
	}
	return expected.Vectors, protocol
}

func TestCarLayout(t *testing.T) {
	s := mustParse(t, "testdata/sbe/schemas/example-schema.xml")
	car := message(t, s, "Car")
	engine := namedType(t, s, "Engine").(*Composite)

	if s.Package != "baseline" || s.ID != 1 || s.Version != 0 || s.ByteOrder != LittleEndian {
		t.Errorf("schema attributes = %q %d %d %v", s.Package, s.ID, s.Version, s.ByteOrder)
	}
	if got := s.Header.Pos.File; filepath.Base(got) != "common-types.xml" {
		t.Errorf("messageHeader declared in %q, want the included common-types.xml", got)
	}

	tests := []struct {
		name      string
		got, want any
	}{
		{"header", memberSlots(s.Header), []slot{{"blockLength", 0, 2}, {"templateId", 2, 2}, {"schemaId", 4, 2}, {"version", 6, 2}}},
		{"header size", s.Header.Size, 8},
		{"Car blockLength", car.BlockLength, 45},
		{"Car fields", fieldSlots(car.Fields), []slot{
			{"serialNumber", 0, 8}, {"modelYear", 8, 2}, {"available", 10, 1}, {"code", 11, 1},
			{"someNumbers", 12, 16}, {"vehicleCode", 28, 6}, {"extras", 34, 1}, {"discountedModel", 35, 0},
			{"engine", 35, 10},
		}},
		{"Engine members", memberSlots(engine), []slot{
			{"capacity", 0, 2}, {"numCylinders", 2, 1}, {"maxRpm", 3, 0}, {"manufacturerCode", 3, 3},
			{"fuel", 6, 0}, {"efficiency", 6, 1}, {"boosterEnabled", 7, 1}, {"booster", 8, 2},
		}},
		{"Engine size", engine.Size, 10},
		{"groups", names(car.Groups), []string{"fuelFigures", "performanceFigures"}},
		{"fuelFigures blockLength", car.Groups[0].BlockLength, 6},
		{"fuelFigures fields", fieldSlots(car.Groups[0].Fields), []slot{{"speed", 0, 2}, {"mpg", 2, 4}}},
		{"fuelFigures data", names(car.Groups[0].Data), []string{"usageDescription"}},
		{"fuelFigures dimension", car.Groups[0].Dimension.Name, "groupSizeEncoding"},
		{"performanceFigures blockLength", car.Groups[1].BlockLength, 1},
		{"acceleration blockLength", car.Groups[1].Groups[0].BlockLength, 6},
		{"Car data", names(car.Data), []string{"manufacturer", "model", "activationCode"}},
		{"manufacturer length type", car.Data[0].LengthType(), Uint32},
		{"manufacturer max length", car.Data[0].MaxLength(), uint64(1073741824)},
		{"manufacturer encoding", car.Data[0].CharacterEncoding(), "UTF-8"},
		{"discountedModel valueRef", car.Fields[7].ConstEnum.Name + "/" + car.Fields[7].ConstEnum.Enum.Name, "C/Model"},
		{"fuel constant", engine.Member("fuel").Type.(*Encoded).ConstString, "Petrol"},
		{"fuel length", engine.Member("fuel").Type.(*Encoded).Length, 6},
		{"maxRpm constant", engine.Member("maxRpm").Type.(*Encoded).ConstValue, Value{U: 9000}},
		{"nested enum listed", namedType(t, s, "BoostType").(*Enum).Encoding, Char},
		{"efficiency is a ref", engine.Member("efficiency").Ref, true},
		{"Ron range", []Value{car.Groups[1].Fields[0].Type.(*Encoded).Min, car.Groups[1].Fields[0].Type.(*Encoded).Max}, []Value{{U: 90}, {U: 110}}},
		{"extras choices", func() []slot {
			var out []slot
			for _, c := range namedType(t, s, "OptionalExtras").(*Set).Choices {
				out = append(out, slot{c.Name, c.Bit, 0})
			}
			return out
		}(), []slot{{"sunRoof", 0, 0}, {"sportsPack", 1, 0}, {"cruiseControl", 2, 0}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, tt.got); diff != "" {
				t.Errorf("mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestReferenceOffsets checks the layouts the reference tool's own
// OffsetFileTest asserts.
func TestReferenceOffsets(t *testing.T) {
	basic := mustParse(t, "testdata/sbe/schemas/basic-types-schema.xml")
	blocks := mustParse(t, "testdata/sbe/schemas/block-length-schema.xml")
	offsets := mustParse(t, "testdata/sbe/schemas/composite-offsets-schema.xml")
	byID := func(s *Schema, id int) *Message {
		for _, m := range s.Messages {
			if m.ID == id {
				return m
			}
		}
		t.Fatalf("no message id %d", id)
		return nil
	}
	offsetsOf := func(fs []*Field) []int {
		var out []int
		for _, f := range fs {
			out = append(out, f.Offset)
		}
		return out
	}
	tests := []struct {
		name      string
		got, want any
	}{
		{"packed", offsetsOf(byID(basic, 1).Fields), []int{0, 8, 28, 29, 33}},
		{"offsets set by xml", offsetsOf(byID(basic, 2).Fields), []int{0, 8, 32, 128, 136}},
		{"message blockLength", byID(blocks, 1).BlockLength, 8},
		{"group fields", offsetsOf(byID(blocks, 1).Groups[0].Fields), []int{0, 4}},
		{"group blockLength", byID(blocks, 2).Groups[0].BlockLength, 12},
		{"explicit group blockLength", byID(blocks, 3).Groups[0].BlockLength, 16},
		{"padded message", byID(blocks, 4).BlockLength, 64},
		{"header with offsets", offsets.Header.Size, 12},
		{"dimension with offsets", byID(offsets, 1).Groups[0].Dimension.Size, 8},
		{"field offset past composite", fieldSlots(byID(offsets, 2).Fields), []slot{{"fieldOne", 0, 4}, {"fieldTwo", 8, 16}, {"fieldThree", 24, 8}}},
		{"message with offsets blockLength", byID(offsets, 2).BlockLength, 32},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, tt.got); diff != "" {
				t.Errorf("mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestProtocolBlockLengths compares every message and group block length of
// the protocol schemas with what the reference generator's codecs wrote.
func TestProtocolBlockLengths(t *testing.T) {
	vectors, protocol := referenceVectors(t)
	for _, v := range vectors {
		t.Run(v.File, func(t *testing.T) {
			m := message(t, protocol(t, v.Schema), v.Message)
			if m.BlockLength != v.SchemaBlockLength {
				t.Errorf("%s blockLength = %d, want %d", m.Name, m.BlockLength, v.SchemaBlockLength)
			}
			for _, gd := range v.GroupDimensions {
				groups := m.Groups
				var g *Group
				for _, step := range strings.Split(gd.Path, ".") {
					step, _, _ = strings.Cut(step, "[")
					g = nil
					for _, x := range groups {
						if x.Name == step {
							g = x
						}
					}
					if g == nil {
						t.Fatalf("%s: no group %q", gd.Path, step)
					}
					groups = g.Groups
				}
				if g.BlockLength != gd.SchemaBlockLength {
					t.Errorf("group %s blockLength = %d, want %d", gd.Path, g.BlockLength, gd.SchemaBlockLength)
				}
			}
		})
	}
}

// TestProtocolExtensions checks the three non-standard constructs of the
// protocol schemas.
func TestProtocolExtensions(t *testing.T) {
	wire := mustParse(t, filepath.Join(protocolDir, "wire-schema.xml"))
	discovery := mustParse(t, filepath.Join(protocolDir, "discovery-schema.xml"))
	driver := mustParse(t, filepath.Join(protocolDir, "driver-schema.xml"))
	field := func(m *Message, name string) *Field {
		for _, f := range m.Fields {
			if f.Name == name {
				return f
			}
		}
		t.Fatalf("%s: no field %q", m.Name, name)
		return nil
	}
	req := message(t, discovery, "DiscoveryRequest")
	tags := req.Groups[0]
	resp := message(t, discovery, "DiscoveryResponse")
	traceID := field(message(t, wire, "FrameDescriptor"), "traceId")
	publishMode := field(message(t, driver, "ShmAttachRequest"), "publishMode")
	pad := field(message(t, wire, "SlotHeader"), "pad")

	tests := []struct {
		name      string
		got, want any
	}{
		{"traceId null", traceID.Null, Value{U: 0}},
		{"traceId explicit", traceID.ExplicitNull, true},
		{"traceId type null unchanged", traceID.Type.(*Encoded).Null, Uint64.Null()},
		{"enum field null", publishMode.Null, Value{U: 255}},
		{"pad ignored length", pad.IgnoredLength, 26},
		{"pad offset", pad.Offset, 34},
		{"pad size", wireSize(pad.Type), 1},
		{"SlotHeader blockLength", message(t, wire, "SlotHeader").BlockLength, 60},
		{"tags blockLength", tags.BlockLength, 0},
		{"tags fields", len(tags.Fields), 0},
		{"tags data", names(tags.Data), []string{"tag"}},
		{"tag declared as field", tags.Data[0].DeclaredAsField, true},
		{"tag length type", tags.Data[0].LengthType(), Uint32},
		{"nested tags blockLength", resp.Groups[0].Groups[1].BlockLength, 0},
		{"results blockLength", resp.Groups[0].BlockLength, 39},
		{"results data", names(resp.Groups[0].Data), []string{"headerRegionUri", "dataSourceName", "driverInstanceId", "driverControlChannel"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, tt.got); diff != "" {
				t.Errorf("mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestValidSchemas parses every schema that must be accepted.
func TestValidSchemas(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(protocolDir, "*.xml"))
	if len(files) == 0 {
		t.Fatalf("no schemas in %s", protocolDir)
	}
	vectors, _ := filepath.Glob(filepath.Join(vectorsDir, "sbe/schemas/*.xml"))
	for _, f := range append(files, vectors...) {
		if filepath.Base(f) == "common-types.xml" {
			continue // only ever included
		}
		t.Run(filepath.Base(f), func(t *testing.T) {
			s := mustParse(t, f)
			if s.Header == nil || len(s.Messages) == 0 {
				t.Errorf("header %v, %d messages", s.Header, len(s.Messages))
			}
		})
	}
}

func TestBigEndianCar(t *testing.T) {
	skipWithout(t, vectorsDir)
	s := mustParse(t, filepath.Join(vectorsDir, "sbe/schemas/example-bigendian-test-schema.xml"))
	car := message(t, s, "Car")
	if s.ByteOrder != BigEndian || car.BlockLength != 49 {
		t.Errorf("byteOrder %v blockLength %d, want bigEndian 49", s.ByteOrder, car.BlockLength)
	}
}
