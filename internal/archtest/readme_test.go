package archtest

import (
	"os"
	"strings"
	"testing"
)

// TestREADMEQuotesQuickstart: README.md's first screen quotes the
// quickstart producer and consumer whole, so what a newcomer reads is code
// that compiles (make build) against today's runtime/client.
func TestREADMEQuotesQuickstart(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"examples/quickstart/producer/main.go", "examples/quickstart/consumer/main.go"} {
		src, err := os.ReadFile("../../" + f)
		if err != nil {
			t.Fatal(err)
		}
		i := strings.Index(string(readme), "```go\n"+string(src)+"```\n")
		if i < 0 {
			t.Errorf("README.md does not quote %s as it is: copy the file into its go block", f)
			continue
		}
		if line := strings.Count(string(readme[:i]), "\n") + 1; line > 80 {
			t.Errorf("README.md quotes %s from line %d: keep it on the first screen", f, line)
		}
	}
}
