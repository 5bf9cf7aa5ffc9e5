package schema

import (
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const commonTypes = `<types>
  <composite name="messageHeader">
    <type name="blockLength" primitiveType="uint16"/>
    <type name="templateId" primitiveType="uint16"/>
    <type name="schemaId" primitiveType="uint16"/>
    <type name="version" primitiveType="uint16"/>
  </composite>
</types>
`

func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestRootForms(t *testing.T) {
	body := `<types><composite name="messageHeader"><type name="blockLength" primitiveType="uint16"/><type name="templateId" primitiveType="uint16"/><type name="schemaId" primitiveType="uint16"/><type name="version" primitiveType="uint16"/></composite></types>`
	tests := []struct {
		name, xml string
	}{
		{"unprefixed", `<messageSchema package="p" id="7">` + body + `<message name="M" id="1"/></messageSchema>`},
		{"sbe prefix", `<sbe:messageSchema xmlns:sbe="http://fixprotocol.io/2016/sbe" package="p" id="7">` + body + `<sbe:message name="M" id="1"/></sbe:messageSchema>`},
		{"other prefix", `<x:messageSchema xmlns:x="http://fixprotocol.io/2016/sbe" package="p" id="7">` + body + `<x:message name="M" id="1"/></x:messageSchema>`},
		{"default namespace", `<messageSchema xmlns="http://fixprotocol.io/2016/sbe" package="p" id="7">` + body + `<message name="M" id="1"/></messageSchema>`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Parse("t.xml", []byte(tt.xml))
			if err != nil {
				t.Fatal(err)
			}
			if s.ID != 7 || len(s.Messages) != 1 || s.Messages[0].Name != "M" || s.Header.Size != 8 {
				t.Errorf("got id %d, %d messages, header %+v", s.ID, len(s.Messages), s.Header)
			}
		})
	}
}

func TestIncludes(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"schema.xml": `<sbe:messageSchema xmlns:sbe="http://fixprotocol.io/2016/sbe" xmlns:xi="http://www.w3.org/2001/XInclude" package="p" id="1">
  <xi:include href="common/header.xml"/>
  <types>
    <xi:include href="common/more.xml"/>
    <type name="Local" primitiveType="int8"/>
  </types>
  <sbe:message name="M" id="1"><field name="a" id="1" type="Shared"/><field name="b" id="2" type="Local"/></sbe:message>
</sbe:messageSchema>`,
		"common/header.xml": commonTypes,
		// An include of an include, resolved relative to common/.
		"common/more.xml": `<types xmlns:xi="http://www.w3.org/2001/XInclude"><xi:include href="shared.xml"/></types>`,
		"common/shared.xml": `<types>
<type name="Shared" primitiveType="uint32"/>
</types>`,
		"loop.xml": `<messageSchema xmlns:xi="http://www.w3.org/2001/XInclude" package="p" id="1">
<xi:include href="loop2.xml"/></messageSchema>`,
		"loop2.xml": `<types xmlns:xi="http://www.w3.org/2001/XInclude">
  <xi:include href="loop.xml"/></types>`,
		"bad.xml": `<messageSchema xmlns:xi="http://www.w3.org/2001/XInclude" package="p" id="1">
<xi:include href="badtypes.xml"/></messageSchema>`,
		"badtypes.xml": `<types>

  <type name="X" primitiveType="bogus"/></types>`,
	})
	s := mustParse(t, filepath.Join(dir, "schema.xml"))
	if got, want := names(s.Types), []string{"messageHeader", "Shared", "Local"}; !cmp.Equal(got, want) {
		t.Errorf("types %v, want %v", got, want)
	}
	if got := s.Messages[0].Fields[1].Offset; got != 4 {
		t.Errorf("b offset %d, want 4", got)
	}
	if got := filepath.Base(s.Types[1].Position().File); got != "shared.xml" || s.Types[1].Position().Line != 2 {
		t.Errorf("Shared declared at %v, want shared.xml:2", s.Types[1].Position())
	}

	_, err := ParseFile(filepath.Join(dir, "loop.xml"))
	checkErrors(t, baseNames(err), wantError{2, []string{"loop2.xml:2:3", "includes itself"}})

	_, err = ParseFile(filepath.Join(dir, "bad.xml"))
	checkErrors(t, baseNames(err), wantError{3, []string{`badtypes.xml:3:3: <type name="X">: unknown primitiveType "bogus"`}})
}

func TestTypeDetails(t *testing.T) {
	s, err := Parse("t.xml", []byte(doc(`<types>
<type name="Price" primitiveType="int64" presence="optional" nullValue="0" minValue="1" maxValue="1000"/>
<type name="Ratio" primitiveType="float" presence="optional"/>
<type name="Code" primitiveType="char" length="4" characterEncoding=" ISO-8859-1 "/>
<type name="Pi" primitiveType="double" presence="constant">3.25</type>
<type name="Letter" primitiveType="char" presence="constant">Z</type>
<type name="Small" primitiveType="uint8"/>
<enum name="Side" encodingType="Small" sinceVersion="1" deprecated="1">
  <validValue name="Buy">1</validValue>
  <validValue name="Sell" description="sell side">2</validValue>
</enum>
<type name="Nul" primitiveType="uint8" presence="optional" nullValue="7"/>
<enum name="WithNull" encodingType="Nul"><validValue name="A">1</validValue></enum>
<set name="Flags" encodingType="uint64"><choice name="top">63</choice></set>
<composite name="Outer">
  <composite name="Inner"><type name="x" primitiveType="uint8"/><enum name="Color" encodingType="char"><validValue name="Red">R</validValue></enum></composite>
  <ref name="side" type="Side" offset="4"/>
  <set name="Bits" encodingType="uint8"/>
</composite>
</types>
<sbe:message name="M" id="1" blockLength="30" semanticType="D" description="a message">
<field name="price" id="1" type="Price" epoch="unix" timeUnit="nanosecond"/>
<field name="ratio" id="2" type="Ratio"/>
<field name="code" id="3" type="Code" offset="12"/>
<field name="pi" id="4" type="Pi"/>
<field name="side" id="5" type="Side" presence="constant" valueRef="Side.Sell"/>
<field name="outer" id="6" type="Outer"/>
</sbe:message>`)))
	if err != nil {
		t.Fatal(err)
	}
	typ := func(name string) Type { return namedType(t, s, name) }
	m := s.Messages[0]
	tests := []struct {
		name      string
		got, want any
	}{
		{"types in order", names(s.Types), []string{"messageHeader", "groupSizeEncoding", "varString", "Price", "Ratio", "Code", "Pi", "Letter", "Small", "Side", "Nul", "WithNull", "Flags", "Outer", "Inner", "Color", "Bits"}},
		{"explicit null", []any{typ("Price").(*Encoded).Null, typ("Price").(*Encoded).ExplicitNull}, []any{Value{I: 0}, true}},
		{"min max", []Value{typ("Price").(*Encoded).Min, typ("Price").(*Encoded).Max}, []Value{{I: 1}, {I: 1000}}},
		{"float null is NaN", math.IsNaN(typ("Ratio").(*Encoded).Null.F), true},
		{"char encoding trimmed", typ("Code").(*Encoded).CharacterEncoding, "ISO-8859-1"},
		{"double constant", typ("Pi").(*Encoded).ConstValue, Value{F: 3.25}},
		{"char constant", []any{typ("Letter").(*Encoded).ConstValue, typ("Letter").(*Encoded).ConstString, typ("Letter").(*Encoded).Length}, []any{Value{U: 'Z'}, "Z", 1}},
		{"enum from named type", []any{typ("Side").(*Enum).Encoding, typ("Side").(*Enum).Null}, []any{Uint8, Value{U: 255}}},
		{"enum null from named type", typ("WithNull").(*Enum).Null, Value{U: 7}},
		{"enum versions", []int{typ("Side").(*Enum).SinceVersion, typ("Side").(*Enum).Deprecated}, []int{1, 1}},
		{"enum value description", typ("Side").(*Enum).Values[1].Description, "sell side"},
		{"set bit 63", typ("Flags").(*Set).Choices[0].Bit, 63},
		{"composite layout", memberSlots(typ("Outer").(*Composite)), []slot{{"Inner", 0, 2}, {"side", 4, 1}, {"Bits", 5, 1}}},
		{"ref member", []any{typ("Outer").(*Composite).Member("side").Ref, typ("Outer").(*Composite).Member("side").SinceVersion}, []any{true, 1}},
		{"field offsets", fieldSlots(m.Fields), []slot{{"price", 0, 8}, {"ratio", 8, 4}, {"code", 12, 4}, {"pi", 16, 0}, {"side", 16, 0}, {"outer", 16, 6}}},
		{"explicit blockLength", m.BlockLength, 30},
		{"message attributes", []string{m.SemanticType, m.Description}, []string{"D", "a message"}},
		{"field epoch", []string{m.Fields[0].Epoch, m.Fields[0].TimeUnit}, []string{"unix", "nanosecond"}},
		{"field presence from type", []Presence{m.Fields[0].Presence, m.Fields[3].Presence, m.Fields[5].Presence}, []Presence{Optional, Constant, Required}},
		{"field null from type", m.Fields[0].Null, Value{I: 0}},
		{"constant enum field", m.Fields[4].ConstEnum.Name, "Sell"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, tt.got); diff != "" {
				t.Errorf("mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
