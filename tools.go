//go:build tools

// This file pins the versions of the tools that go generate and the
// Makefile run (go run <tool> resolves them through go.mod), so every
// machine uses the same ones.
package tools

import (
	_ "honnef.co/go/tools/cmd/staticcheck"
)
