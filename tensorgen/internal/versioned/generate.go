// Package versioned holds codecs generated from tensorgen's own test
// schemas in ../../testdata/versions, for version cases the SBE reference
// schemas do not have (composite members with their own sinceVersion).
// They are committed; TestGeneratedUpToDate keeps them current.
package versioned

//go:generate go run ../../../cmd/tensorgen -out . -source-root ../.. ../../testdata/versions/member-versions.xml
