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
