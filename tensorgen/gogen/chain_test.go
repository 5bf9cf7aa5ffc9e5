package gogen

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tpool-go/tpool/tensorgen/schema"
)

// TestGenerateDoublingChain generates code for a chain of composites each
// holding two refs to the previous one. The resolved model is linear in
// the depth, but walking members through every ref is 2^depth: at depth
// 60 such a walk never ends. The time limit is far above the linear cost
// (milliseconds) and only turns that exponential blowup into a failure.
func TestGenerateDoublingChain(t *testing.T) {
	for _, tc := range []struct {
		name string
		leaf string // members of C0
	}{
		{"empty sizes", `<type name="v" primitiveType="uint8" length="0"/><type name="k" primitiveType="uint8" presence="constant">7</type>`},
		{"zero-length arrays", `<type name="v" primitiveType="uint8" length="0"/><type name="o" primitiveType="int8" presence="optional" length="0"/>`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const depth = 60
			var b strings.Builder
			b.WriteString(`<sbe:messageSchema xmlns:sbe="http://fixprotocol.io/2016/sbe" package="chain" id="1" version="0">
<types>
<composite name="messageHeader">
<type name="blockLength" primitiveType="uint16"/><type name="templateId" primitiveType="uint16"/>
<type name="schemaId" primitiveType="uint16"/><type name="version" primitiveType="uint16"/>
</composite>
<composite name="C0">` + tc.leaf + `</composite>`)
			for i := 1; i <= depth; i++ {
				fmt.Fprintf(&b, "\n<composite name=\"C%d\"><ref name=\"a\" type=\"C%d\"/><ref name=\"b\" type=\"C%d\"/></composite>", i, i-1, i-1)
			}
			fmt.Fprintf(&b, `</types>
<sbe:message name="M" id="1"><field name="x" id="1" type="C%d"/><field name="y" id="2" type="uint32"/></sbe:message>
</sbe:messageSchema>`, depth)
			done := make(chan error, 1)
			go func() {
				s, err := schema.Parse("chain.xml", []byte(b.String()))
				if err == nil {
					_, err = Generate(s, Options{Package: "chain", Source: "chain.xml"})
				}
				done <- err
			}()
			select {
			case err := <-done:
				if err != nil {
					t.Fatal(err)
				}
			case <-time.After(2 * time.Minute):
				t.Fatalf("generating a chain of depth %d did not finish in 2 minutes: exponential walk", depth)
			}
		})
	}
}
