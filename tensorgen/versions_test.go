package tensorgen_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"testing"

	"github.com/tpool-go/tpool/runtime/sbe"
	"github.com/tpool-go/tpool/tensorgen/internal/testschemas/example"
	"github.com/tpool-go/tpool/tensorgen/internal/testschemas/exampleextension"
	"github.com/tpool-go/tpool/tensorgen/internal/testschemas/extension"
	"github.com/tpool-go/tpool/tensorgen/internal/testschemas/fixbinary"
	"github.com/tpool-go/tpool/tensorgen/internal/testschemas/groupwithdata"
	"github.com/tpool-go/tpool/tensorgen/internal/testschemas/groupwithdataextension"
	"github.com/tpool-go/tpool/tensorgen/internal/versioned/memberversions"
)

// The four header members of every test schema used here are uint16 in
// this order: blockLength, templateId, schemaId, version.
const (
	hdrBlockLength = 0
	hdrVersion     = 6
	hdrSize        = 8
)

// withHeader returns a copy of msg with the header's blockLength and
// version replaced, cut to the header and the first blockLength bytes of
// the block when cut is set: the bytes an older sender writes.
func withHeader(msg []byte, blockLength, version int, cut bool) []byte {
	out := append([]byte(nil), msg...)
	if cut {
		out = out[:hdrSize+blockLength]
	}
	binary.LittleEndian.PutUint16(out[hdrBlockLength:], uint16(blockLength))
	binary.LittleEndian.PutUint16(out[hdrVersion:], uint16(version))
	return out
}

// TestInActingVersionRootFields: Car of example-schema (version 0) read by
// the decoder of example-extension-schema (version 1), whose uuid and
// cupHolderCount are since version 1, and the other way round.
func TestInActingVersionRootFields(t *testing.T) {
	encode := func(t *testing.T, e interface {
		WrapWithHeader([]byte) error
		Finish() (int, error)
	}) []byte {
		t.Helper()
		buf := make([]byte, 1024)
		if err := e.WrapWithHeader(buf); err != nil {
			t.Fatal(err)
		}
		n, err := e.Finish()
		if err != nil {
			t.Fatal(err)
		}
		return buf[:n]
	}
	var oldEnc example.CarEncoder
	oldBytes := encode(t, &oldEnc)
	var newEnc exampleextension.CarEncoder
	buf := make([]byte, 1024)
	if err := newEnc.WrapWithHeader(buf); err != nil {
		t.Fatal(err)
	}
	newEnc.SetUuid([2]int64{11, 12})
	newEnc.SetCupHolderCount(3)
	n, err := newEnc.Finish()
	if err != nil {
		t.Fatal(err)
	}
	newBytes := buf[:n]

	tests := []struct {
		name    string
		msg     []byte
		present bool
	}{
		{"version 0 bytes", oldBytes, false},
		{"version 1 bytes", newBytes, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var d exampleextension.CarDecoder
			if err := d.WrapWithHeader(tt.msg); err != nil {
				t.Fatal(err)
			}
			if got := d.UuidInActingVersion(); got != tt.present {
				t.Errorf("UuidInActingVersion() = %v at version %d", got, d.ActingVersion())
			}
			if got := d.CupHolderCountInActingVersion(); got != tt.present {
				t.Errorf("CupHolderCountInActingVersion() = %v at version %d", got, d.ActingVersion())
			}
			if tt.present {
				if d.Uuid() != [2]int64{11, 12} || d.CupHolderCount() != 3 {
					t.Errorf("uuid %v cupHolderCount %d, want [11 12] 3", d.Uuid(), d.CupHolderCount())
				}
			} else if !d.CupHolderCountIsNull() {
				t.Errorf("absent cupHolderCount reads %d, want null", d.CupHolderCount())
			}
		})
	}
}

// TestInActingVersionEveryKind: extension-schema's TestMessage1 adds one
// element per version (tag2 field v1, tag3 composite v2, tag4 enum v3,
// tag5 set v4, tag6 var data v5). A sender of version v writes the block
// up to its last field and no newer var data; each element exists exactly
// from its version on.
func TestInActingVersionEveryKind(t *testing.T) {
	buf := make([]byte, 256)
	var e extension.TestMessage1Encoder
	if err := e.WrapWithHeader(buf); err != nil {
		t.Fatal(err)
	}
	e.SetTag1(1)
	e.SetTag2(2)
	e.Tag3().SetValue(3)
	e.SetTag4(extension.AEnumSecondValue)
	e.SetTag5(extension.ASetSecondChoice)
	if err := e.SetTag6String("six"); err != nil {
		t.Fatal(err)
	}
	n, err := e.Finish()
	if err != nil {
		t.Fatal(err)
	}
	current := buf[:n]
	// The root block length a sender of each version writes (tag5 ends at 14).
	blockLengths := []int{4, 8, 12, 13, 14, 14, 14}
	for v := 0; v <= extension.SchemaVersion; v++ {
		msg := current
		if v < 5 { // before tag6 the message ends with the block
			msg = withHeader(current, blockLengths[v], v, true)
		} else {
			msg = withHeader(current, blockLengths[v], v, false)
		}
		var d extension.TestMessage1Decoder
		if err := d.WrapWithHeader(msg); err != nil {
			t.Fatalf("version %d: %v", v, err)
		}
		if d.EncodedLength() != len(msg) {
			t.Errorf("version %d: EncodedLength %d, want %d", v, d.EncodedLength(), len(msg))
		}
		checks := []struct {
			name     string
			since    int
			in       bool
			value    bool // the value sent reads back
			absentOK bool // the absent reading
		}{
			{"tag2", 1, d.Tag2InActingVersion(), d.Tag2() == 2, d.Tag2() == sbeInt32Null},
			{"tag3", 2, d.Tag3InActingVersion(), d.Tag3().Value() == 3, d.Tag3().Value() == sbeInt32Null},
			{"tag4", 3, d.Tag4InActingVersion(), d.Tag4() == extension.AEnumSecondValue, d.Tag4() == extension.AEnumNullValue},
			{"tag5", 4, d.Tag5InActingVersion(), d.Tag5().SecondChoice(), d.Tag5() == 0},
			{"tag6", 5, d.Tag6InActingVersion(), d.Tag6String() == "six", d.Tag6() == nil},
		}
		for _, c := range checks {
			want := v >= c.since
			if c.in != want {
				t.Errorf("version %d: %sInActingVersion() = %v, want %v", v, c.name, c.in, want)
			}
			if want && !c.value {
				t.Errorf("version %d: %s does not read the value sent", v, c.name)
			}
			if !want && !c.absentOK {
				t.Errorf("version %d: absent %s does not read as absent", v, c.name)
			}
		}
	}
}

const sbeInt32Null = -2147483648

// TestInActingVersionNestedGroup: group-with-data-schema's TestMessage3
// (version 0) read by group-with-data-extension-schema's decoder, whose
// nested group entries have InnerExtension since version 1: the entry's
// block is shorter, its var data still reads, and InnerExtension is absent.
func TestInActingVersionNestedGroup(t *testing.T) {
	buf := make([]byte, 256)
	var e groupwithdata.TestMessage3Encoder
	if err := e.WrapWithHeader(buf); err != nil {
		t.Fatal(err)
	}
	e.SetTag1(1)
	entries, err := e.Entries(1)
	if err != nil {
		t.Fatal(err)
	}
	if err := entries.Next(); err != nil {
		t.Fatal(err)
	}
	if err := entries.SetTagGroup1String("SYM"); err != nil {
		t.Fatal(err)
	}
	nested, err := entries.NestedEntries(1)
	if err != nil {
		t.Fatal(err)
	}
	if err := nested.Next(); err != nil {
		t.Fatal(err)
	}
	nested.SetTagGroup2(7)
	if err := nested.SetVarDataFieldNestedString("nested"); err != nil {
		t.Fatal(err)
	}
	if err := entries.SetVarDataFieldString("outer"); err != nil {
		t.Fatal(err)
	}
	n, err := e.Finish()
	if err != nil {
		t.Fatal(err)
	}
	var d groupwithdataextension.TestMessage3Decoder
	if err := d.WrapWithHeader(buf[:n]); err != nil {
		t.Fatal(err)
	}
	if d.ActingVersion() != 0 {
		t.Fatalf("acting version %d", d.ActingVersion())
	}
	g := d.Entries()
	if !g.Next() {
		t.Fatal("no entry")
	}
	ng := g.NestedEntries()
	if !ng.Next() {
		t.Fatal("no nested entry")
	}
	if ng.InnerExtensionInActingVersion() {
		t.Error("InnerExtensionInActingVersion() = true in a version 0 message")
	}
	if ng.InnerExtension() != -9223372036854775808 {
		t.Errorf("absent InnerExtension = %d, want the int64 null", ng.InnerExtension())
	}
	if ng.TagGroup2() != 7 || ng.VarDataFieldNestedString() != "nested" || g.VarDataFieldString() != "outer" {
		t.Errorf("TagGroup2 %d, nested %q, outer %q", ng.TagGroup2(), ng.VarDataFieldNestedString(), g.VarDataFieldString())
	}

	// The same message at version 1 has the field.
	var e1 groupwithdataextension.TestMessage3Encoder
	if err := e1.WrapWithHeader(buf); err != nil {
		t.Fatal(err)
	}
	g1, _ := e1.Entries(1)
	_ = g1.Next()
	n1, _ := g1.NestedEntries(1)
	_ = n1.Next()
	n1.SetInnerExtension(42)
	m, err := e1.Finish()
	if err != nil {
		t.Fatal(err)
	}
	if err := d.WrapWithHeader(buf[:m]); err != nil {
		t.Fatal(err)
	}
	g = d.Entries()
	g.Next()
	ng = g.NestedEntries()
	ng.Next()
	if !ng.InnerExtensionInActingVersion() || ng.InnerExtension() != 42 {
		t.Errorf("version 1: InnerExtensionInActingVersion() = %v, InnerExtension %d, want true 42", ng.InnerExtensionInActingVersion(), ng.InnerExtension())
	}
}

// TestInActingVersionGroup: FixBinary's MDIncrementalRefreshBook32 has the
// group NoOrderIDEntries since version 7; older messages lack it.
func TestInActingVersionGroup(t *testing.T) {
	buf := make([]byte, 512)
	var e fixbinary.MDIncrementalRefreshBook32Encoder
	if err := e.WrapWithHeader(buf); err != nil {
		t.Fatal(err)
	}
	n, err := e.Finish()
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []int{2, 6, 7, 9} {
		var d fixbinary.MDIncrementalRefreshBook32Decoder
		msg := withHeader(buf[:n], fixbinary.MDIncrementalRefreshBook32BlockLength, v, false)
		if v < 7 {
			// An older sender writes no NoOrderIDEntries header (8 bytes).
			msg = msg[:len(msg)-8]
		}
		if err := d.WrapWithHeader(msg); err != nil {
			t.Fatalf("version %d: %v", v, err)
		}
		if got, want := d.NoOrderIDEntriesInActingVersion(), v >= 7; got != want {
			t.Errorf("version %d: NoOrderIDEntriesInActingVersion() = %v, want %v", v, got, want)
		}
		if d.NoOrderIDEntries().Count() != 0 {
			t.Errorf("version %d: NoOrderIDEntries has %d entries", v, d.NoOrderIDEntries().Count())
		}
	}
}

// TestSetChoiceSinceVersion: a set choice newer than the message reads as
// not set, even when the older sender had the bit on (it was reserved
// then), as in SBE's C, C++ and Go flyweights. FixBinary (version 9):
// SettlPriceType.Intraday is since version 4 (a root field of
// MDInstrumentDefinitionFuture27), InstAttribValue.TriangulationEligible
// and VariableCabEligible since version 9 (a field of group NoInstAttrib).
func TestSetChoiceSinceVersion(t *testing.T) {
	buf := make([]byte, 1024)
	var e fixbinary.MDInstrumentDefinitionFuture27Encoder
	if err := e.WrapWithHeader(buf); err != nil {
		t.Fatal(err)
	}
	const settl = fixbinary.SettlPriceTypeFinalDaily | fixbinary.SettlPriceTypeIntraday
	e.SetSettlPriceType(settl)
	for _, g := range []func(int) error{
		func(c int) error { _, err := e.NoEvents(c); return err },
		func(c int) error { _, err := e.NoMDFeedTypes(c); return err },
	} {
		if err := g(0); err != nil {
			t.Fatal(err)
		}
	}
	attrs, err := e.NoInstAttrib(1)
	if err != nil {
		t.Fatal(err)
	}
	if err := attrs.Next(); err != nil {
		t.Fatal(err)
	}
	const attr = fixbinary.InstAttribValueIsFractional | fixbinary.InstAttribValueTriangulationEligible | fixbinary.InstAttribValueVariableCabEligible
	attrs.SetInstAttribValue(attr)
	n, err := e.Finish()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		version  int
		settl    fixbinary.SettlPriceType
		attr     fixbinary.InstAttribValue
		intraday bool
	}{
		{9, settl, attr, true},
		{8, settl, fixbinary.InstAttribValueIsFractional, true},
		{4, settl, fixbinary.InstAttribValueIsFractional, true},
		{3, fixbinary.SettlPriceTypeFinalDaily, fixbinary.InstAttribValueIsFractional, false},
		{2, fixbinary.SettlPriceTypeFinalDaily, fixbinary.InstAttribValueIsFractional, false},
	}
	for _, tt := range tests {
		msg := withHeader(buf[:n], fixbinary.MDInstrumentDefinitionFuture27BlockLength, tt.version, false)
		var d fixbinary.MDInstrumentDefinitionFuture27Decoder
		if err := d.WrapWithHeader(msg); err != nil {
			t.Fatalf("version %d: %v", tt.version, err)
		}
		if got := d.SettlPriceType(); got != tt.settl || got.Intraday() != tt.intraday || !got.FinalDaily() {
			t.Errorf("version %d: SettlPriceType %v (Intraday %v), want %v", tt.version, got, got.Intraday(), tt.settl)
		}
		g := d.NoInstAttrib()
		if !g.Next() {
			t.Fatalf("version %d: no NoInstAttrib entry", tt.version)
		}
		if got := g.InstAttribValue(); got != tt.attr {
			t.Errorf("version %d: InstAttribValue %v, want %v", tt.version, got, tt.attr)
		}
		if got, want := d.TradingReferenceDateInActingVersion(), tt.version >= 6; got != want {
			t.Errorf("version %d: TradingReferenceDateInActingVersion() = %v", tt.version, got)
		}
		if got, want := d.UserDefinedInstrumentInActingVersion(), tt.version >= 3; got != want {
			t.Errorf("version %d: UserDefinedInstrumentInActingVersion() = %v", tt.version, got)
		}
		// The message is decoded from the same bytes by the dispatcher.
		var disp fixbinary.Dispatcher
		m, err := disp.Decode(msg)
		if err != nil {
			t.Fatalf("version %d: Dispatcher: %v", tt.version, err)
		}
		if got := m.(*fixbinary.MDInstrumentDefinitionFuture27Decoder).SettlPriceType().Intraday(); got != tt.intraday {
			t.Errorf("version %d: Dispatcher: Intraday() = %v", tt.version, got)
		}
	}
	// The message itself is since version 2.
	var d fixbinary.MDInstrumentDefinitionFuture27Decoder
	if err := d.WrapWithHeader(withHeader(buf[:n], fixbinary.MDInstrumentDefinitionFuture27BlockLength, 1, false)); !errors.Is(err, sbe.ErrVersion) {
		t.Errorf("version 1: %v, want ErrVersion", err)
	}
}

// TestCompositeMemberSinceVersion: members of a composite field that are
// newer than the field (each with an XInActingVersion on the decoder) (tensorgen/testdata/versions/member-versions.xml:
// Quote.size since 1, Quote.side and Quote.inner.y since 2) read as their
// null values in an older message even though the bytes are there, as in
// SBE's C++ and Go flyweights; the members as old as the field keep their
// values. The older messages are the current encoding with the header's
// version rewritten, which is what an older sender of the same block
// writes.
func TestCompositeMemberSinceVersion(t *testing.T) {
	buf := make([]byte, 64)
	var e memberversions.TickEncoder
	if err := e.WrapWithHeader(buf); err != nil {
		t.Fatal(err)
	}
	e.SetId(7)
	q := e.Quote()
	q.SetPrice(-5)
	q.SetSize(100)
	q.SetSide(memberversions.SideSell)
	q.Inner().SetX(3)
	q.Inner().SetY(4)
	n, err := e.Finish()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		version int
		size    uint32
		side    memberversions.Side
		y       uint16
	}{
		{2, 100, memberversions.SideSell, 4},
		{1, 100, memberversions.SideNullValue, 65535},
		{0, 4294967295, memberversions.SideNullValue, 65535},
	}
	var d memberversions.TickDecoder
	for _, tt := range tests {
		msg := withHeader(buf[:n], memberversions.TickBlockLength, tt.version, false)
		if err := d.WrapWithHeader(msg); err != nil {
			t.Fatalf("version %d: %v", tt.version, err)
		}
		q := d.Quote()
		if d.Id() != 7 || q.Price() != -5 || q.Inner().X() != 3 {
			t.Errorf("version %d: id %d price %d x %d, want 7 -5 3", tt.version, d.Id(), q.Price(), q.Inner().X())
		}
		if got := q.Size(); got != tt.size {
			t.Errorf("version %d: Size() = %d, want %d", tt.version, got, tt.size)
		}
		if got := q.Side(); got != tt.side {
			t.Errorf("version %d: Side() = %v, want %v", tt.version, got, tt.side)
		}
		if got := q.Inner().Y(); got != tt.y {
			t.Errorf("version %d: Inner().Y() = %d, want %d", tt.version, got, tt.y)
		}
		// The view reads the same message the same way.
		var vd memberversions.TickDecoder
		v, err := vd.View(msg)
		if err != nil {
			t.Fatalf("version %d: View: %v", tt.version, err)
		}
		vq := v.Quote()
		if v.Id() != 7 || vq.Price() != -5 || vq.Inner().X() != 3 || vq.Size() != tt.size || vq.Side() != tt.side || vq.Inner().Y() != tt.y {
			t.Errorf("version %d: View reads id %d price %d x %d size %d side %v y %d", tt.version, v.Id(), vq.Price(), vq.Inner().X(), vq.Size(), vq.Side(), vq.Inner().Y())
		}
		for name, got := range map[string]struct{ in, want bool }{
			"QuoteSize":       {d.QuoteSizeInActingVersion(), tt.version >= 1},
			"QuoteSide":       {d.QuoteSideInActingVersion(), tt.version >= 2},
			"QuoteInnerY":     {d.QuoteInnerYInActingVersion(), tt.version >= 2},
			"View QuoteSize":  {v.QuoteSizeInActingVersion(), tt.version >= 1},
			"View QuoteSide":  {v.QuoteSideInActingVersion(), tt.version >= 2},
			"View QuoteInner": {v.QuoteInnerYInActingVersion(), tt.version >= 2},
		} {
			if got.in != got.want {
				t.Errorf("version %d: %sInActingVersion() = %v", tt.version, name, got.in)
			}
		}
	}
}

// TestViewAcrossVersions: the value-type View of a block-only message
// (member-versions.xml's Flagged: count since 1, size and set choice
// Flags.New since 2) reads every version exactly as the decoder does,
// whether the older sender wrote the whole current block (only the
// header's version is older) or only its own shorter block, and a newer
// sender's longer block in place. Its fast path takes only the current
// header; everything else goes through the decoder's slow path.
func TestViewAcrossVersions(t *testing.T) {
	buf := make([]byte, 64)
	w, err := memberversions.NewFlaggedWriter(buf)
	if err != nil {
		t.Fatal(err)
	}
	w.SetId(7)
	w.SetFlags(memberversions.FlagsOld | memberversions.FlagsNew)
	w.SetCount(5)
	w.SetSize(9)
	cur := buf[:w.EncodedLength()]
	var e memberversions.FlaggedEncoder
	ebuf := make([]byte, 64)
	if err := e.WrapWithHeader(ebuf); err != nil {
		t.Fatal(err)
	}
	e.SetId(7)
	e.SetFlags(memberversions.FlagsOld | memberversions.FlagsNew)
	e.SetCount(5)
	e.SetSize(9)
	if n, err := e.Finish(); err != nil || !bytes.Equal(ebuf[:n], cur) {
		t.Fatalf("Writer wrote %x, Encoder %x (%v)", cur, ebuf[:n], err)
	}
	newer := make([]byte, hdrSize+memberversions.FlaggedBlockLength+5)
	copy(newer, cur)
	newer = withHeader(newer, memberversions.FlaggedBlockLength+5, 3, false)

	type want struct {
		flags       memberversions.Flags
		count       uint32
		countIn     bool
		size        uint16
		sizeIn      bool
		blockLength int
	}
	const nullU32, nullU16 = 4294967295, 65535
	both := memberversions.FlagsOld | memberversions.FlagsNew
	tests := []struct {
		name    string
		msg     []byte
		version int
		want    want
	}{
		{"current", cur, 2, want{both, 5, true, 9, true, 11}},
		{"newer, longer block", newer, 3, want{both, 5, true, 9, true, 16}},
		{"version 1, whole block", withHeader(cur, 11, 1, false), 1, want{memberversions.FlagsOld, 5, true, nullU16, false, 11}},
		{"version 1, its block", withHeader(cur, 9, 1, true), 1, want{memberversions.FlagsOld, 5, true, nullU16, false, 9}},
		{"version 0, whole block", withHeader(cur, 11, 0, false), 0, want{memberversions.FlagsOld, nullU32, false, nullU16, false, 11}},
		{"version 0, its block", withHeader(cur, 5, 0, true), 0, want{memberversions.FlagsOld, nullU32, false, nullU16, false, 5}},
	}
	var d, vd memberversions.FlaggedDecoder
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := d.WrapWithHeader(tt.msg); err != nil {
				t.Fatal(err)
			}
			v, err := vd.View(tt.msg)
			if err != nil {
				t.Fatal(err)
			}
			got := want{v.Flags(), v.Count(), v.CountInActingVersion(), v.Size(), v.SizeInActingVersion(), v.ActingBlockLength()}
			dec := want{d.Flags(), d.Count(), d.CountInActingVersion(), d.Size(), d.SizeInActingVersion(), d.ActingBlockLength()}
			if got != tt.want || dec != tt.want {
				t.Errorf("view %+v\ndecoder %+v\nwant %+v", got, dec, tt.want)
			}
			if v.Id() != 7 || v.ActingVersion() != tt.version || v.EncodedLength() != len(tt.msg) || v.CountIsNull() != !tt.want.countIn {
				t.Errorf("id %d version %d length %d (of %d) countIsNull %v", v.Id(), v.ActingVersion(), v.EncodedLength(), len(tt.msg), v.CountIsNull())
			}
			if v.Flags().New() != (tt.version >= 2) {
				t.Errorf("Flags().New() = %v at version %d", v.Flags().New(), tt.version)
			}
		})
	}
	// As documented, the view of an older message reads the decoder's
	// scratch, which the decoder's next View of an older message reuses;
	// a view of a current message reads its own buffer.
	old, err := vd.View(withHeader(cur, 5, 0, true))
	if err != nil {
		t.Fatal(err)
	}
	current, err := vd.View(cur)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := vd.View(withHeader(cur, 9, 1, true)); err != nil {
		t.Fatal(err)
	}
	if old.ActingVersion() != 1 || current.ActingVersion() != 2 {
		t.Errorf("after a third View: first view at version %d (want the scratch's 1), second at %d (want its own 2)", old.ActingVersion(), current.ActingVersion())
	}
}

// TestViewErrors: View fails exactly when WrapWithHeader does, with the
// same error, and the view it returns then reads every field as null.
func TestViewErrors(t *testing.T) {
	buf := make([]byte, 64)
	w, err := memberversions.NewFlaggedWriter(buf)
	if err != nil {
		t.Fatal(err)
	}
	w.SetId(7)
	w.SetCount(5)
	msg := buf[:w.EncodedLength()]
	wrongTemplate := append([]byte(nil), msg...)
	binary.LittleEndian.PutUint16(wrongTemplate[2:], memberversions.TickTemplateID)
	wrongSchema := append([]byte(nil), msg...)
	binary.LittleEndian.PutUint16(wrongSchema[4:], 78)
	tests := []struct {
		name string
		msg  []byte
		want error
	}{
		{"wrong template", wrongTemplate, sbe.ErrTemplateMismatch},
		{"wrong schema", wrongSchema, sbe.ErrSchemaMismatch},
		{"block length beyond the buffer", withHeader(msg, 40, 2, false), sbe.ErrShortBuffer},
	}
	for n := 0; n < len(msg); n++ {
		tests = append(tests, struct {
			name string
			msg  []byte
			want error
		}{fmt.Sprintf("%d of %d bytes", n, len(msg)), msg[:n], sbe.ErrShortBuffer})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var d memberversions.FlaggedDecoder
			werr := d.WrapWithHeader(tt.msg)
			v, err := d.View(tt.msg)
			if !errors.Is(err, tt.want) || !errors.Is(werr, tt.want) {
				t.Fatalf("View: %v, WrapWithHeader: %v, want %v", err, werr, tt.want)
			}
			if v.Id() != 4294967295 || !v.CountIsNull() || v.Size() != 65535 || v.Flags() != 0 || v.ActingVersion() != 0 || v.CountInActingVersion() {
				t.Errorf("failed view reads id %d count %d size %d flags %v version %d", v.Id(), v.Count(), v.Size(), v.Flags(), v.ActingVersion())
			}
		})
	}
	if _, err := memberversions.NewFlaggedWriter(make([]byte, hdrSize+memberversions.FlaggedBlockLength-1)); !errors.Is(err, sbe.ErrShortBuffer) {
		t.Errorf("NewFlaggedWriter on a short buffer: %v", err)
	}
}
