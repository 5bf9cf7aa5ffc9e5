package tensorgen_test

import (
	"github.com/tpool-go/tpool/tensorgen/internal/testschemas/basictypes"
	"github.com/tpool-go/tpool/tensorgen/internal/testschemas/blocklength"
	"github.com/tpool-go/tpool/tensorgen/internal/testschemas/codegeneration"
	"github.com/tpool-go/tpool/tensorgen/internal/testschemas/compositeoffsets"
	"github.com/tpool-go/tpool/tensorgen/internal/testschemas/constantenumfields"
	"github.com/tpool-go/tpool/tensorgen/internal/testschemas/example"
	"github.com/tpool-go/tpool/tensorgen/internal/testschemas/examplebigendiantest"
	"github.com/tpool-go/tpool/tensorgen/internal/testschemas/exampleextension"
	"github.com/tpool-go/tpool/tensorgen/internal/testschemas/extension"
	"github.com/tpool-go/tpool/tensorgen/internal/testschemas/fixbinary"
	"github.com/tpool-go/tpool/tensorgen/internal/testschemas/fixedsizedprimitivearraytypes"
	"github.com/tpool-go/tpool/tensorgen/internal/testschemas/groupwithdata"
	"github.com/tpool-go/tpool/tensorgen/internal/testschemas/groupwithdataextension"
	"github.com/tpool-go/tpool/tensorgen/internal/testschemas/issue435"
	"github.com/tpool-go/tpool/tensorgen/internal/testschemas/issue483"
	"github.com/tpool-go/tpool/tensorgen/internal/testschemas/issue847"
	"github.com/tpool-go/tpool/tensorgen/internal/testschemas/messageblocklengthtest"
	"github.com/tpool-go/tpool/tensorgen/internal/testschemas/nestedgroup"
	"github.com/tpool-go/tpool/tensorgen/internal/testschemas/npesmallheader"
	"github.com/tpool-go/tpool/tensorgen/internal/testschemas/simple"
	"github.com/tpool-go/tpool/tensorgen/internal/testschemas/valueref"
	"github.com/tpool-go/tpool/tensorgen/internal/testschemas/versionedmessagev1"
	"github.com/tpool-go/tpool/tensorgen/internal/testschemas/versionedmessagev2"
)

// testSchemas maps each schema of ../shared/vectors/sbe/schemas to the
// codecs generated from it under internal/testschemas.
func testSchemas() []testSchema {
	return []testSchema{
		{"basic-types-schema.xml", anyOf(basictypes.NewEncoder), anyOf(basictypes.NewDecoder)},
		{"block-length-schema.xml", anyOf(blocklength.NewEncoder), anyOf(blocklength.NewDecoder)},
		{"code-generation-schema.xml", anyOf(codegeneration.NewEncoder), anyOf(codegeneration.NewDecoder)},
		{"composite-offsets-schema.xml", anyOf(compositeoffsets.NewEncoder), anyOf(compositeoffsets.NewDecoder)},
		{"constant-enum-fields.xml", anyOf(constantenumfields.NewEncoder), anyOf(constantenumfields.NewDecoder)},
		{"example-schema.xml", anyOf(example.NewEncoder), anyOf(example.NewDecoder)},
		{"example-bigendian-test-schema.xml", anyOf(examplebigendiantest.NewEncoder), anyOf(examplebigendiantest.NewDecoder)},
		{"example-extension-schema.xml", anyOf(exampleextension.NewEncoder), anyOf(exampleextension.NewDecoder)},
		{"extension-schema.xml", anyOf(extension.NewEncoder), anyOf(extension.NewDecoder)},
		{"FixBinary.xml", anyOf(fixbinary.NewEncoder), anyOf(fixbinary.NewDecoder)},
		{"fixed-sized-primitive-array-types.xml", anyOf(fixedsizedprimitivearraytypes.NewEncoder), anyOf(fixedsizedprimitivearraytypes.NewDecoder)},
		{"group-with-data-schema.xml", anyOf(groupwithdata.NewEncoder), anyOf(groupwithdata.NewDecoder)},
		{"group-with-data-extension-schema.xml", anyOf(groupwithdataextension.NewEncoder), anyOf(groupwithdataextension.NewDecoder)},
		{"issue435.xml", anyOf(issue435.NewEncoder), anyOf(issue435.NewDecoder)},
		{"issue483.xml", anyOf(issue483.NewEncoder), anyOf(issue483.NewDecoder)},
		{"issue847.xml", anyOf(issue847.NewEncoder), anyOf(issue847.NewDecoder)},
		{"message-block-length-test.xml", anyOf(messageblocklengthtest.NewEncoder), anyOf(messageblocklengthtest.NewDecoder)},
		{"nested-group-schema.xml", anyOf(nestedgroup.NewEncoder), anyOf(nestedgroup.NewDecoder)},
		{"npe-small-header.xml", anyOf(npesmallheader.NewEncoder), anyOf(npesmallheader.NewDecoder)},
		{"simple.xml", anyOf(simple.NewEncoder), anyOf(simple.NewDecoder)},
		{"value-ref-schema.xml", anyOf(valueref.NewEncoder), anyOf(valueref.NewDecoder)},
		{"versioned-message-v1.xml", anyOf(versionedmessagev1.NewEncoder), anyOf(versionedmessagev1.NewDecoder)},
		{"versioned-message-v2.xml", anyOf(versionedmessagev2.NewEncoder), anyOf(versionedmessagev2.NewDecoder)},
	}
}
