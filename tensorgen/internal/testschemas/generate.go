// Package testschemas holds codecs generated from the SBE reference
// project's test schemas (../shared/vectors/sbe/schemas, beside the
// repository), compiled and exercised by tensorgen's tests. They are
// committed so the tests run without regenerating and without ../shared;
// TestGeneratedUpToDate keeps them current when ../shared is present.
package testschemas

//go:generate go run mktestschemas.go
