package gogen

import (
	"strings"
	"testing"

	"github.com/tpool-go/tpool/tensorgen/schema"
)

func TestConstName(t *testing.T) {
	tests := []struct{ in, want string }{
		{"RATE_LIMITED", "RateLimited"},
		{"UINT8", "Uint8"},
		{"HEADER_RING", "HeaderRing"},
		{"OK", "Ok"},
		{"T", "T"},
		{"sunRoof", "SunRoof"},
		{"nanosecond", "Nanosecond"},
		{"MDEntryType", "MDEntryType"},
		{"_LEADING", "Leading"},
		{"1_ABC", "V1Abc"},
	}
	for _, tt := range tests {
		if got := constName(tt.in); got != tt.want {
			t.Errorf("constName(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestPackageName(t *testing.T) {
	tests := []struct{ in, want string }{
		{"schema/wire-schema.xml", "wire"},
		{"join-barrier-schema.xml", "joinbarrier"},
		{`C:\x\trace-link-schema.xml`, "tracelink"},
		{"FixBinary.xml", "fixbinary"},
		{"versioned-message-v1.xml", "versionedmessagev1"},
		{"123.xml", "sbe123"},
		{"---.xml", "sbe"},
	}
	for _, tt := range tests {
		if got := PackageName(tt.in); got != tt.want {
			t.Errorf("PackageName(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestScopeCollision(t *testing.T) {
	s := newScope("method of X", "String")
	if err := s.add("Seq", "field seq"); err != nil {
		t.Fatal(err)
	}
	err := s.add("Seq", "field Seq")
	if err == nil || !strings.Contains(err.Error(), "field seq") || !strings.Contains(err.Error(), "field Seq") {
		t.Errorf("collision error = %v", err)
	}
	if err := s.add("String", "field string"); err == nil {
		t.Error("a field named like a generated method was accepted")
	}
}

func TestGenerateRejectsCollidingNames(t *testing.T) {
	const xml = `<?xml version="1.0" encoding="UTF-8"?>
<sbe:messageSchema xmlns:sbe="http://fixprotocol.io/2016/sbe" package="p" id="1" version="0" byteOrder="littleEndian">
  <types>
    <composite name="messageHeader">
      <type name="blockLength" primitiveType="uint16"/>
      <type name="templateId" primitiveType="uint16"/>
      <type name="schemaId" primitiveType="uint16"/>
      <type name="version" primitiveType="uint16"/>
    </composite>
  </types>
  <sbe:message name="M" id="1">
    <field name="seq" id="1" type="uint32"/>
    <field name="Seq" id="2" type="uint32"/>
  </sbe:message>
</sbe:messageSchema>`
	s, err := schema.Parse("collide.xml", []byte(xml))
	if err != nil {
		t.Fatalf("the parser rejects the schema, so the generator check is not reached: %v", err)
	}
	_, err = Generate(s, Options{Package: "p", Source: "collide.xml"})
	if err == nil || !strings.Contains(err.Error(), "Seq") {
		t.Fatalf("Generate = %v, want a collision error naming Seq", err)
	}
}
