package gogen

import (
	"bytes"
	"go/ast"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"regexp"
	"testing"

	"github.com/tpool-go/tpool/tensorgen/schema"
)

// TestGenerateDegenerateSchemas type-checks the output for what the
// committed test schemas do not cover: no messages, a set without choices,
// an enum without values, a composite member named like the String method.
func TestGenerateDegenerateSchemas(t *testing.T) {
	const xml = `<?xml version="1.0" encoding="UTF-8"?>
<sbe:messageSchema xmlns:sbe="http://fixprotocol.io/2016/sbe" package="p" id="1" version="0" byteOrder="littleEndian">
  <types>
    <composite name="messageHeader">
      <type name="blockLength" primitiveType="uint16"/>
      <type name="templateId" primitiveType="uint16"/>
      <type name="schemaId" primitiveType="uint16"/>
      <type name="version" primitiveType="uint16"/>
    </composite>
    <set name="NoChoices" encodingType="uint8"></set>
    <enum name="NoValues" encodingType="uint8"></enum>
    <composite name="Named"><type name="string" primitiveType="uint8"/></composite>
  </types>
</sbe:messageSchema>`
	s, err := schema.Parse("empty.xml", []byte(xml))
	if err != nil {
		t.Fatal(err)
	}
	src, err := Generate(s, Options{Package: "empty", Source: "empty.xml"})
	if err != nil {
		t.Fatal(err)
	}
	// Named's member getter takes the name String, so Named has no String
	// method; no doc comment for one may be left behind.
	docs := bytes.Count(src, []byte("// String returns the composite as JSON.\n"))
	methods := len(regexp.MustCompile(`// String returns the composite as JSON\.\nfunc \(c \w+\) String\(\) string`).FindAll(src, -1))
	if docs != 1 || methods != 1 {
		t.Errorf("%d String doc comments and %d String methods on composites, want 1 and 1 (messageHeader's)", docs, methods)
	}
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "empty.sbe.go", src, 0)
	if err != nil {
		t.Fatal(err)
	}
	conf := types.Config{Importer: importer.ForCompiler(fset, "source", nil)}
	if _, err := conf.Check("empty", fset, []*ast.File{f}, nil); err != nil {
		t.Errorf("generated code does not compile: %v", err)
	}
}

// TestGenerateVersionedElements: InActingVersion methods exist exactly for
// elements with a sinceVersion, and a set choice newer than its field is
// cleared for older messages wherever the set sits: a root field, a member
// of a composite field, a group entry's field. The output type-checks.
func TestGenerateVersionedElements(t *testing.T) {
	const xml = `<?xml version="1.0" encoding="UTF-8"?>
<sbe:messageSchema xmlns:sbe="http://fixprotocol.io/2016/sbe" package="p" id="1" version="3" byteOrder="littleEndian">
  <types>
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
    <composite name="varData">
      <type name="length" primitiveType="uint8"/>
      <type name="varData" primitiveType="uint8" length="0"/>
    </composite>
    <set name="Flags" encodingType="uint16">
      <choice name="Old">0</choice>
      <choice name="New" sinceVersion="2">1</choice>
      <choice name="Newest" sinceVersion="3">2</choice>
    </set>
    <composite name="Box">
      <type name="n" primitiveType="uint8"/>
      <ref name="flags" type="Flags"/>
    </composite>
  </types>
  <sbe:message name="M" id="1">
    <field name="plain" id="1" type="uint32"/>
    <field name="flags" id="2" type="Flags"/>
    <field name="box" id="3" type="Box" sinceVersion="1"/>
    <group name="g" id="4" dimensionType="groupSizeEncoding" sinceVersion="1">
      <field name="gflags" id="5" type="Flags" sinceVersion="2"/>
    </group>
    <data name="d" id="6" type="varData" sinceVersion="3"/>
  </sbe:message>
</sbe:messageSchema>`
	s, err := schema.Parse("versioned.xml", []byte(xml))
	if err != nil {
		t.Fatal(err)
	}
	src, err := Generate(s, Options{Package: "versioned", Source: "versioned.xml"})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"func (d *MDecoder) BoxInActingVersion() bool {\n\treturn d.actingVersion >= 1\n}",
		"func (d *MDecoder) GInActingVersion() bool {\n\treturn d.actingVersion >= 1\n}",
		"func (d *MDecoder) DInActingVersion() bool {\n\treturn d.actingVersion >= 3\n}",
		"func (g *MGDecoder) GflagsInActingVersion() bool {\n\treturn g.actingVersion >= 2\n}",
		// root field flags at offset 4: both newer choices, one statement per version
		"if actingVersion < 2 {\n\t\t// Flags: choice New is since version 2\n\t\tbinary.LittleEndian.PutUint16(d.padded[4:], uint16(Flags(binary.LittleEndian.Uint16(d.padded[4:]))&^FlagsNew))",
		"if actingVersion < 3 {\n\t\t// Flags: choice Newest is since version 3\n\t\tbinary.LittleEndian.PutUint16(d.padded[4:], uint16(Flags(binary.LittleEndian.Uint16(d.padded[4:]))&^FlagsNewest))",
		// box.flags at 6+1 (box is since 1, New since 2: cleared)
		"binary.LittleEndian.PutUint16(d.padded[7:], uint16(Flags(binary.LittleEndian.Uint16(d.padded[7:]))&^FlagsNew))",
		// the group's gflags is since 2: only Newest is newer
		"binary.LittleEndian.PutUint16(g.padded[0:], uint16(Flags(binary.LittleEndian.Uint16(g.padded[0:]))&^FlagsNewest))",
		// the fast path needs the newest choice's version
		"if blockLength >= 9 && actingVersion >= 3 {",
	} {
		if !bytes.Contains(src, []byte(want)) {
			t.Errorf("output lacks:\n%s", want)
		}
	}
	for _, unwanted := range []string{"PlainInActingVersion", "FlagsInActingVersion()", "g.padded[0:]))&^FlagsNew)"} {
		if bytes.Contains(src, []byte(unwanted)) {
			t.Errorf("output has %s", unwanted)
		}
	}
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "versioned.sbe.go", src, 0)
	if err != nil {
		t.Fatal(err)
	}
	conf := types.Config{Importer: importer.ForCompiler(fset, "source", nil)}
	if _, err := conf.Check("versioned", fset, []*ast.File{f}, nil); err != nil {
		t.Errorf("generated code does not compile: %v", err)
	}
}
