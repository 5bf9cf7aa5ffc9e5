package schema

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// wantError is an error expected at a line (0: any line) whose text
// contains every one of the substrings.
type wantError struct {
	line int
	has  []string
}

// checkErrors asserts that err is an ErrInvalid schema error with an entry
// for each want.
func checkErrors(t *testing.T, err error, wants ...wantError) {
	t.Helper()
	if err == nil {
		t.Fatal("accepted, want an error")
	}
	if !errors.Is(err, ErrInvalid) {
		t.Errorf("errors.Is(%v, ErrInvalid) = false", err)
	}
	list, ok := asErrorList(err)
	if !ok {
		t.Fatalf("error %T is neither ErrorList nor *Error: %v", err, err)
	}
	for _, w := range wants {
		found := false
		for _, e := range list {
			if w.line != 0 && e.Pos.Line != w.line {
				continue
			}
			ok := true
			for _, s := range w.has {
				if !strings.Contains(e.Error(), s) {
					ok = false
				}
			}
			if ok {
				found = true
				break
			}
		}
		if !found {
			t.Errorf("no error at line %d containing %q; got:\n%v", w.line, w.has, err)
		}
	}
}

// TestInvalidVectors checks that each schema the reference tool rejects is
// rejected for the reason it was written to show.
func TestInvalidVectors(t *testing.T) {
	tests := []struct {
		file  string
		wants []wantError
	}{
		{"error-handler-dup-message-schema.xml", []wantError{
			{14, []string{`error-handler-dup-message-schema.xml:14:5: <message name="AnotherMessageWithId1">`, "duplicate message id 1"}},
		}},
		{"error-handler-enum-violates-min-max-value-range.xml", []wantError{
			{16, []string{`<enum name="EnumWithCustomEncodingType">`, `"INVALID_ZERO"`, "value 0 outside the range of encodingType EnumValueRange (1..5)"}},
			{19, []string{`"INVALID_SIX"`, "value 6 outside the range"}},
			{20, []string{`"INVALID_NULL_VALUE"`, "null value"}},
			{23, []string{`<enum name="EnumWithCustomEncodingTypeOptional">`, `"INVALID_THREE"`, "null value"}},
		}},
		{"error-handler-group-dimensions-schema.xml", []wantError{
			{21, []string{`<group name="Entries">`, `dimensionType "fakeSizeEncoding"`, "blockLength and numInGroup"}},
		}},
		{"error-handler-invalid-composite-offsets-schema.xml", []wantError{
			{11, []string{`<composite name="messageHeader">`, `member "schemaId" at offset 1 overlaps`}},
			{16, []string{`<composite name="groupSizeEncoding">`, `member "numInGroup" at offset 1 overlaps`}},
		}},
		{"error-handler-invalid-composite.xml", []wantError{
			{19, []string{`<group name="fuelFigures">`, "not allowed inside a composite"}},
			{24, []string{`<data name="password">`, "not allowed inside a composite"}},
		}},
		{"error-handler-invalid-name.xml", []wantError{
			{24, []string{`name "invalid field name" is not a valid identifier`}},
			{26, []string{`name "invalid group name!" is not a valid identifier`}},
			{29, []string{`name "invalid field name inside group" is not a valid identifier`}},
			{35, []string{`error-handler-invalid-name.xml:35:9: <data name="invalid data field name!">`, "not a valid identifier"}},
		}},
		{"error-handler-message-schema.xml", []wantError{
			{11, []string{`message header has no "templateId" member`}},
			{23, []string{"blockLength 2 is less than"}},
			{25, []string{"semanticType"}},
			{34, []string{`unknown type "XXXX"`}},
			{37, []string{"offset 1 overlaps"}},
			{40, []string{`dimensionType "groupSizeEncoding" is not declared`}},
			{40, []string{"blockLength 3 is less than the 8 bytes"}},
			{45, []string{"has no blockLength member"}},
			{45, []string{"has no numInGroup member"}},
			{50, []string{"has no length member"}},
			{50, []string{"has no varData member"}},
			{53, []string{`"RawData" is not a composite`}},
			{56, []string{"field after a group or data element"}},
		}},
		{"error-handler-since-version.xml", []wantError{
			{22, []string{`<type name="uuid_t">`, "sinceVersion 1 is greater than the schema version 0"}},
			{24, []string{`<message name="TestMessage">`, "sinceVersion 1"}},
			{25, []string{`<field name="field0">`, "sinceVersion 2"}},
			{29, []string{`<field name="field4">`, "sinceVersion 2"}},
			{31, []string{`<group name="group5">`, "sinceVersion 2"}},
		}},
		{"error-handler-types-dup-schema.xml", []wantError{
			{10, []string{`<type name="TypeToTest">`, `duplicate type name "TypeToTest"`, "types-dup-schema.xml:9:9"}},
		}},
		{"error-handler-types-schema.xml", []wantError{
			{11, []string{`"BOGUS"`, "value 255 is the null value"}},
			{13, []string{`<type name="ConstButNoValue">`, "no value"}},
			{16, []string{`name "word!" is not a valid identifier`}},
		}},
	}
	files, _ := filepath.Glob("testdata/sbe/invalid/*.xml")
	if len(files) != len(tests) {
		t.Errorf("%d invalid schemas, %d test cases", len(files), len(tests))
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			_, err := ParseFile(filepath.Join("testdata/sbe/invalid", tt.file))
			checkErrors(t, err, tt.wants...)
		})
	}
}

// TestInvalidVectorsShared makes sure the copies in testdata are not stale.
func TestInvalidVectorsShared(t *testing.T) {
	dir := filepath.Join(vectorsDir, "sbe/invalid")
	skipWithout(t, dir)
	files, _ := filepath.Glob(filepath.Join(dir, "*.xml"))
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			want, _ := os.ReadFile(f)
			got, err := os.ReadFile(filepath.Join("testdata/sbe/invalid", filepath.Base(f)))
			if err != nil || string(got) != string(want) {
				t.Errorf("testdata copy missing or differs from %s", f)
			}
			if _, err := ParseFile(f); !errors.Is(err, ErrInvalid) {
				t.Errorf("ParseFile(%s) = %v, want ErrInvalid", f, err)
			}
		})
	}
}

const header = `<types>
  <composite name="messageHeader">
    <type name="blockLength" primitiveType="uint16"/>
    <type name="templateId" primitiveType="uint16"/>
    <type name="schemaId" primitiveType="uint16"/>
    <type name="version" primitiveType="uint16"/>
  </composite>
  <composite name="groupSizeEncoding">
    <type name="blockLength" primitiveType="uint16"/>
    <type name="numInGroup" primitiveType="uint16"/>
  </composite>
  <composite name="varString">
    <type name="length" primitiveType="uint16"/>
    <type name="varData" primitiveType="uint8" length="0"/>
  </composite>
</types>
`

// doc builds a schema: header occupies lines 2-17, so body starts on line 18.
func doc(body string) string {
	return `<sbe:messageSchema xmlns:sbe="http://fixprotocol.io/2016/sbe" package="t" id="1" version="1">
` + header + body + `
</sbe:messageSchema>
`
}

// TestValidationErrors covers the rules one at a time, with positions.
func TestValidationErrors(t *testing.T) {
	tests := []struct {
		name string
		xml  string
		want wantError
	}{
		{"malformed XML", doc(`<types><type name="A" primitiveType="uint8"></types>`),
			wantError{18, []string{"t.xml:18:", "malformed XML"}}},
		{"wrong root", `<schema/>`, wantError{1, []string{"t.xml:1:1: <schema>", "root element must be messageSchema"}}},
		{"missing id", `<messageSchema package="p"/>`, wantError{1, []string{"missing id attribute"}}},
		{"bad byteOrder", `<messageSchema package="p" id="1" byteOrder="middleEndian"/>`,
			wantError{1, []string{`byteOrder="middleEndian" is neither littleEndian nor bigEndian`}}},
		{"schema id too big", `<messageSchema package="p" id="70000"/>`, wantError{1, []string{`id="70000"`}}},
		{"no header", `<messageSchema package="p" id="1"/>`, wantError{1, []string{`message header type "messageHeader"`}}},
		{"custom header missing member", `<messageSchema package="p" id="1" headerType="hdr"><types>
<composite name="hdr"><type name="blockLength" primitiveType="uint8"/><type name="templateId" primitiveType="uint8"/><type name="version" primitiveType="uint8"/></composite>
</types></messageSchema>`, wantError{2, []string{`<composite name="hdr">`, `message header has no "schemaId" member`}}},
		{"signed header blockLength", `<messageSchema package="p" id="1"><types>
<composite name="messageHeader"><type name="blockLength" primitiveType="int16"/><type name="templateId" primitiveType="uint8"/><type name="schemaId" primitiveType="uint8"/><type name="version" primitiveType="uint8"/></composite>
</types></messageSchema>`, wantError{2, []string{`"blockLength" must be unsigned`}}},
		{"unknown primitive", doc(`<types><type name="A" primitiveType="uint128"/></types>`),
			wantError{18, []string{`t.xml:18:8: <type name="A">: unknown primitiveType "uint128"`}}},
		{"bad number", doc(`<types><type name="A" primitiveType="uint8" maxValue="2x"/></types>`),
			wantError{18, []string{`maxValue: "2x" is not a non-negative decimal integer`}}},
		{"number out of range", doc(`<types><type name="A" primitiveType="int8" presence="optional" nullValue="200"/></types>`),
			wantError{18, []string{"nullValue: 200 is outside the range of int8"}}},
		{"min above max", doc(`<types><type name="A" primitiveType="int8" minValue="5" maxValue="4"/></types>`),
			wantError{18, []string{"minValue 5 is greater than maxValue 4"}}},
		{"bad length", doc(`<types><type name="A" primitiveType="int8" length="-1"/></types>`),
			wantError{18, []string{`length="-1"`}}},
		{"bad presence", doc(`<types><type name="A" primitiveType="int8" presence="sometimes"/></types>`),
			wantError{18, []string{`presence="sometimes"`}}},
		{"constant without value", doc(`<types><type name="A" primitiveType="int8" presence="constant"/></types>`),
			wantError{18, []string{"presence is constant but the type has no value"}}},
		{"value without constant", doc(`<types><type name="A" primitiveType="int8">7</type></types>`),
			wantError{18, []string{`has a value ("7") but presence is required`}}},
		{"char constant too long", doc(`<types><type name="A" primitiveType="char" length="2" presence="constant">abc</type></types>`),
			wantError{18, []string{`constant "abc" is longer than length 2`}}},
		{"duplicate type", doc(`<types><type name="A" primitiveType="int8"/></types><types><enum name="A" encodingType="uint8"/></types>`),
			wantError{18, []string{`<enum name="A">: duplicate type name "A" (first declared at t.xml:18:8)`}}},
		{"primitive type name", doc(`<types><type name="uint8" primitiveType="int8"/></types>`),
			wantError{18, []string{`type name "uint8" is the name of a primitive type`}}},
		{"invalid type name", doc(`<types><type name="9lives" primitiveType="int8"/></types>`),
			wantError{18, []string{`name "9lives" is not a valid identifier`}}},
		{"enum value out of range", doc(`<types><enum name="Foo" encodingType="uint8">
<validValue name="A">300</validValue></enum></types>`),
			wantError{19, []string{`t.xml:19:1: <enum name="Foo">: validValue "A": value 300 outside the range of encodingType uint8 (0..254)`}}},
		{"enum duplicate name", doc(`<types><enum name="Foo" encodingType="uint8">
<validValue name="A">1</validValue>
<validValue name="A">2</validValue></enum></types>`),
			wantError{20, []string{`duplicate validValue name "A"`}}},
		{"enum duplicate value", doc(`<types><enum name="Foo" encodingType="char">
<validValue name="A">x</validValue>
<validValue name="B">x</validValue></enum></types>`),
			wantError{20, []string{`validValue "B" has the same value 'x' as "A"`}}},
		{"enum float encoding", doc(`<types><enum name="Foo" encodingType="float"/></types>`),
			wantError{18, []string{"enums must be encoded as char or an integer type"}}},
		{"enum unknown encoding", doc(`<types><enum name="Foo" encodingType="Bar"/></types>`),
			wantError{18, []string{`encodingType "Bar" is neither a primitive type nor a declared type`}}},
		{"enum array encoding", doc(`<types><type name="Bar" primitiveType="uint8" length="2"/><enum name="Foo" encodingType="Bar"/></types>`),
			wantError{18, []string{`encodingType "Bar" must be a scalar`}}},
		{"choice out of range", doc(`<types><set name="S" encodingType="uint8">
<choice name="a">8</choice></set></types>`),
			wantError{19, []string{`choice bit "8" is not in the range 0..7`}}},
		{"duplicate choice name", doc(`<types><set name="S" encodingType="uint16">
<choice name="a">1</choice>
<choice name="a">2</choice></set></types>`),
			wantError{20, []string{`duplicate choice name "a"`}}},
		{"duplicate choice bit", doc(`<types><set name="S" encodingType="uint16">
<choice name="a">1</choice>
<choice name="b">1</choice></set></types>`),
			wantError{20, []string{`choice "b" uses bit 1, as does "a"`}}},
		{"set signed encoding", doc(`<types><set name="S" encodingType="int8"/></types>`),
			wantError{18, []string{"sets must be encoded as uint8"}}},
		{"valueRef unknown enum", doc(`<types><type name="A" primitiveType="uint8" presence="constant" valueRef="Nope.X"/></types>`),
			wantError{18, []string{`valueRef "Nope.X": no type named "Nope"`}}},
		{"valueRef unknown value", doc(`<types><enum name="E" encodingType="uint8"><validValue name="X">1</validValue></enum>
<type name="A" primitiveType="uint8" presence="constant" valueRef="E.Y"/></types>`),
			wantError{19, []string{`valueRef "E.Y": enum "E" has no validValue "Y"`}}},
		{"valueRef malformed", doc(`<types><type name="A" primitiveType="uint8" presence="constant" valueRef="E"/></types>`),
			wantError{18, []string{`valueRef "E" is not of the form EnumName.ValueName`}}},
		{"valueRef encoding mismatch", doc(`<types><enum name="E" encodingType="uint8"><validValue name="X">1</validValue></enum>
<type name="A" primitiveType="uint16" presence="constant" valueRef="E.X"/></types>`),
			wantError{19, []string{"enum encoding uint8 does not match primitiveType uint16"}}},
		{"valueRef not constant", doc(`<types><enum name="E" encodingType="uint8"><validValue name="X">1</validValue></enum></types>
<sbe:message name="M" id="1"><field name="f" id="1" type="E" valueRef="E.X"/></sbe:message>`),
			wantError{19, []string{`valueRef "E.X" requires presence="constant"`}}},
		{"constant enum field without valueRef", doc(`<types><enum name="E" encodingType="uint8"><validValue name="X">1</validValue></enum></types>
<sbe:message name="M" id="1"><field name="f" id="1" type="E" presence="constant"/></sbe:message>`),
			wantError{19, []string{`constant field of type "E" needs a valueRef`}}},
		{"constant enum type field without valueRef", doc(`<types><enum name="E" encodingType="uint8" presence="constant"><validValue name="X">1</validValue></enum></types>
<sbe:message name="M" id="1"><field name="f" id="1" type="E"/></sbe:message>`),
			wantError{19, []string{`constant field of type "E" needs a valueRef`}}},
		{"optional var-data type", doc(`<types><composite name="v" presence="optional"><type name="length" primitiveType="uint8"/><type name="varData" primitiveType="uint8" length="0"/></composite></types>
<sbe:message name="M" id="1"><data name="d" id="1" type="v"/></sbe:message>`),
			wantError{19, []string{`var-data type "v" cannot have presence="optional"`}}},
		{"circular ref", doc(`<types><composite name="A"><ref name="b" type="B"/></composite>
<composite name="B"><ref name="a" type="A"/></composite></types>`),
			wantError{0, []string{`circular reference to type`}}},
		{"ref unknown type", doc(`<types><composite name="A"><ref name="b" type="B"/></composite></types>`),
			wantError{18, []string{`<ref name="b">: ref to unknown type "B"`}}},
		{"duplicate member", doc(`<types><composite name="A"><type name="x" primitiveType="uint8"/><type name="x" primitiveType="uint8"/></composite></types>`),
			wantError{18, []string{`composite "A" already has a member named "x"`}}},
		{"unknown element", doc(`<types><thing name="A"/></types>`),
			wantError{18, []string{`<thing name="A">: unexpected element in types`}}},
		{"duplicate message name", doc(`<sbe:message name="M" id="1"/>
<sbe:message name="M" id="2"/>`),
			wantError{19, []string{`duplicate message name "M"`}}},
		{"message id too big for header", doc(`<sbe:message name="M" id="70000"/>`),
			wantError{18, []string{"message id 70000 does not fit in the header's templateId (uint16)"}}},
		{"duplicate field name", doc(`<sbe:message name="M" id="1">
<field name="a" id="1" type="uint8"/>
<field name="a" id="2" type="uint8"/></sbe:message>`),
			wantError{20, []string{`<field name="a">: duplicate name "a" (also used at t.xml:19:1)`}}},
		{"duplicate field id", doc(`<sbe:message name="M" id="1">
<field name="a" id="1" type="uint8"/>
<data name="b" id="1" type="varString"/></sbe:message>`),
			wantError{20, []string{`duplicate id 1`}}},
		{"unknown field type", doc(`<sbe:message name="M" id="1">
<field name="a" id="1" type="Nope"/></sbe:message>`),
			wantError{19, []string{`t.xml:19:1: <field name="a">: unknown type "Nope"`}}},
		{"field after group", doc(`<sbe:message name="M" id="1">
<group name="g" id="1"><field name="x" id="1" type="uint8"/></group>
<field name="a" id="2" type="uint8"/></sbe:message>`),
			wantError{20, []string{"field after a group or data element"}}},
		{"group after data", doc(`<sbe:message name="M" id="1">
<data name="d" id="1" type="varString"/>
<group name="g" id="2"><field name="x" id="1" type="uint8"/></group></sbe:message>`),
			wantError{20, []string{"group after a data element"}}},
		{"field offset overlap", doc(`<sbe:message name="M" id="1">
<field name="a" id="1" type="uint32"/>
<field name="b" id="2" type="uint8" offset="2"/></sbe:message>`),
			wantError{20, []string{"offset 2 overlaps the previous field, which ends at 4"}}},
		{"blockLength too small", doc(`<sbe:message name="M" id="1" blockLength="3">
<field name="a" id="1" type="uint32"/></sbe:message>`),
			wantError{18, []string{"blockLength 3 is less than the 4 bytes its fields need"}}},
		{"group blockLength too small", doc(`<sbe:message name="M" id="1">
<group name="g" id="1" blockLength="1"><field name="x" id="1" type="uint16"/></group></sbe:message>`),
			wantError{19, []string{"blockLength 1 is less than the 2 bytes"}}},
		{"data of wrong type", doc(`<sbe:message name="M" id="1">
<data name="d" id="1" type="groupSizeEncoding"/></sbe:message>`),
			wantError{19, []string{`var-data type "groupSizeEncoding" has no length member`}}},
		{"uint32 length without maxValue", doc(`<types><composite name="v"><type name="length" primitiveType="uint32"/><type name="varData" primitiveType="uint8" length="0"/></composite></types>
<sbe:message name="M" id="1"><data name="d" id="1" type="v"/></sbe:message>`),
			wantError{19, []string{"a uint32 length needs maxValue <= 2147483647"}}},
		{"var-data field with groups", doc(`<sbe:message name="M" id="1">
<field name="tag" id="1" type="varString"/>
<group name="g" id="2"><field name="x" id="1" type="uint8"/></group></sbe:message>`),
			wantError{19, []string{`<field name="tag">`, "ambiguous"}}},
		{"field after var-data field", doc(`<sbe:message name="M" id="1">
<field name="tag" id="1" type="varString"/>
<field name="x" id="2" type="uint8"/></sbe:message>`),
			wantError{20, []string{`field follows the var-data field "tag"`}}},
		{"field nullValue on required field", doc(`<sbe:message name="M" id="1">
<field name="a" id="1" type="uint8" nullValue="0"/></sbe:message>`),
			wantError{19, []string{"nullValue on a field that is not optional"}}},
		{"field nullValue out of range", doc(`<sbe:message name="M" id="1">
<field name="a" id="1" type="uint8" presence="optional" nullValue="256"/></sbe:message>`),
			wantError{19, []string{"nullValue: 256 is outside the range of uint8"}}},
		{"field nullValue on composite", doc(`<sbe:message name="M" id="1">
<field name="a" id="1" type="groupSizeEncoding" presence="optional" nullValue="0"/></sbe:message>`),
			wantError{19, []string{`nullValue on a field of non-scalar type "groupSizeEncoding"`}}},
		{"group dimension missing", doc(`<sbe:message name="M" id="1">
<group name="g" id="1" dimensionType="dims"><field name="x" id="1" type="uint8"/></group></sbe:message>`),
			wantError{19, []string{`dimensionType "dims" is not declared`}}},
		{"group dimension without numInGroup", doc(`<types><composite name="dims"><type name="blockLength" primitiveType="uint16"/></composite></types>
<sbe:message name="M" id="1"><group name="g" id="1" dimensionType="dims"><field name="x" id="1" type="uint8"/></group></sbe:message>`),
			wantError{19, []string{`dimensionType "dims" has no numInGroup member`}}},
		{"sinceVersion of ref", doc(`<types><composite name="A"><ref name="h" type="groupSizeEncoding" sinceVersion="3"/></composite></types>`),
			wantError{18, []string{"sinceVersion 3 is greater than the schema version 1"}}},
		{"group inside composite", doc(`<types><composite name="A"><group name="g" id="1"/></composite></types>`),
			wantError{18, []string{"<group> is not allowed inside a composite"}}},
		{"missing include", `<messageSchema xmlns:xi="http://www.w3.org/2001/XInclude" package="p" id="1">
  <xi:include href="nope.xml"/></messageSchema>`, wantError{2, []string{`t.xml:2:3: <include>`, "xi:include"}}},
		{"absolute include", `<messageSchema xmlns:xi="http://www.w3.org/2001/XInclude" package="p" id="1">
  <xi:include href="/etc/passwd"/></messageSchema>`, wantError{2, []string{"must be a relative path"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(filepath.Join(t.TempDir(), "t.xml"), []byte(tt.xml))
			// Positions name the file as given; compare the base name only.
			if err != nil {
				err = baseNames(err)
			}
			checkErrors(t, err, tt.want)
		})
	}
}

var dirPrefix = regexp.MustCompile(`/[^ :]*/`)

// asErrorList returns the schema errors in err, which Parse returns as an
// ErrorList or, when there is one, an *Error.
func asErrorList(err error) (ErrorList, bool) {
	var list ErrorList
	var one *Error
	switch {
	case errors.As(err, &list):
		return list, true
	case errors.As(err, &one):
		return ErrorList{one}, true
	}
	return nil, false
}

// baseNames strips directories from the file names in err's positions.
func baseNames(err error) error {
	list, ok := asErrorList(err)
	if !ok {
		return err
	}
	out := make(ErrorList, len(list))
	for i, e := range list {
		c := *e
		c.Pos.File = filepath.Base(c.Pos.File)
		c.Msg = dirPrefix.ReplaceAllString(c.Msg, "")
		out[i] = &c
	}
	return out
}

func TestErrorListCap(t *testing.T) {
	var b strings.Builder
	b.WriteString(`<messageSchema package="p" id="1"><types>`)
	for i := 0; i < 2*maxErrors; i++ {
		b.WriteString("\n<type name=\"bad name\" primitiveType=\"uint8\"/>")
	}
	b.WriteString(`</types></messageSchema>`)
	_, err := Parse("cap.xml", []byte(b.String()))
	var list ErrorList
	if !errors.As(err, &list) {
		t.Fatalf("err = %v, want an ErrorList", err)
	}
	if len(list) != maxErrors+1 || !strings.Contains(list[len(list)-1].Msg, "too many errors") {
		t.Errorf("got %d errors ending %q, want %d and a too-many-errors note", len(list), list[len(list)-1].Msg, maxErrors+1)
	}
	if len(list.Unwrap()) != len(list) {
		t.Errorf("Unwrap returned %d errors", len(list.Unwrap()))
	}
}

func TestReadError(t *testing.T) {
	_, err := ParseFile(filepath.Join(t.TempDir(), "missing.xml"))
	if err == nil || errors.Is(err, ErrInvalid) || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("ParseFile(missing) = %v, want a not-exist error that is not ErrInvalid", err)
	}
}

func TestRefDepth(t *testing.T) {
	chain := func(n int) string {
		var b strings.Builder
		b.WriteString("<types>")
		for i := 0; i < n; i++ {
			fmt.Fprintf(&b, "\n<composite name=\"C%d\"><ref name=\"next\" type=\"C%d\"/></composite>", i, i+1)
		}
		fmt.Fprintf(&b, "\n<composite name=\"C%d\"><type name=\"x\" primitiveType=\"uint8\"/></composite></types>", n)
		return doc(b.String())
	}
	if _, err := Parse("t.xml", []byte(chain(maxRefDepth-1))); err != nil {
		t.Errorf("chain of %d refs: %v", maxRefDepth-1, err)
	}
	_, err := Parse("t.xml", []byte(chain(2*maxRefDepth)))
	checkErrors(t, err, wantError{0, []string{"type references nested more than"}})
}

// doublingChain returns the <types> of a chain of composites C0..Cdepth,
// each holding two refs to the previous one, C0 holding first (whose
// composite body it is).
func doublingChain(first string, depth int, extra string) string {
	var b strings.Builder
	b.WriteString("<types>\n" + first)
	for i := 1; i <= depth; i++ {
		fmt.Fprintf(&b, "\n<composite name=\"C%d\"><ref name=\"a\" type=\"C%d\"/><ref name=\"b\" type=\"C%d\"/></composite>", i, i-1, i-1)
	}
	b.WriteString(extra + "</types>")
	return b.String()
}

// TestSizeOverflow checks that sizes nested refs multiply past maxSize are
// errors naming the composite or block, file and line (they once summed to
// -2^63, which Parse accepted and code generation never finished).
func TestSizeOverflow(t *testing.T) {
	tests := []struct {
		name string
		xml  string
		want wantError
	}{
		// Line 19 holds C0, line 19+i holds Ci: 2^24 one-byte members in
		// C24 is exactly maxSize, so C25 is the first too large.
		{"doubling chain", doc(doublingChain(`<composite name="C0"><type name="v" primitiveType="uint8"/></composite>`, 64, "") +
			`<sbe:message name="M" id="1"><field name="x" id="1" type="C64"/></sbe:message>`),
			wantError{19 + 25, []string{"t.xml:44:", `<composite name="C25">`, `composite "C25" is more than 16777216 bytes at member "b" (33554432 bytes so far)`}}},
		{"one byte past maxSize", doc(doublingChain(`<composite name="C0"><type name="v" primitiveType="uint8"/></composite>`, 24,
			"\n"+`<composite name="D"><ref name="c" type="C24"/><type name="x" primitiveType="uint8"/></composite>`) +
			`<sbe:message name="M" id="1"><field name="x" id="1" type="uint8"/></sbe:message>`),
			wantError{19 + 25, []string{`composite "D" is more than 16777216 bytes at member "x" (16777217 bytes so far)`}}},
		{"large encoded member", doc(`<types>
<type name="Big" primitiveType="uint64" length="16777216"/>
<composite name="C"><ref name="a" type="Big"/></composite>
</types>`), wantError{20, []string{`composite "C" is more than 16777216 bytes at member "a" (134217728 bytes so far)`}}},
		{"large block", doc(`<types>
<type name="Half" primitiveType="uint8" length="10000000"/>
</types>
<sbe:message name="M" id="1">
<field name="a" id="1" type="Half"/>
<field name="b" id="2" type="Half"/>
</sbe:message>`), wantError{23, []string{`<field name="b">`, "the block is more than 16777216 bytes at this field (20000000 bytes so far)"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("t.xml", []byte(tc.xml))
			checkErrors(t, err, tc.want)
		})
	}
	t.Run("exactly maxSize is accepted", func(t *testing.T) {
		xml := doc(doublingChain(`<composite name="C0"><type name="v" primitiveType="uint8"/></composite>`, 24, "") +
			`<sbe:message name="M" id="1"><field name="x" id="1" type="uint8"/></sbe:message>`)
		if _, err := Parse("t.xml", []byte(xml)); err != nil {
			t.Errorf("a composite of maxSize bytes: %v", err)
		}
	})
	// The vectors that found the bug: the first summed to -2^63, the
	// second panicked in the Go emitter.
	for _, f := range []string{"schema-composite-size-overflow.xml", "schema-composite-size-overflow-panic.xml"} {
		t.Run(f, func(t *testing.T) {
			path := filepath.Join(vectorsDir, "hardening", f)
			skipWithout(t, path)
			_, err := ParseFile(path)
			checkErrors(t, err, wantError{0, []string{path + ":", "<composite name=", "is more than 16777216 bytes"}})
		})
	}
}
