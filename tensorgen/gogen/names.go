package gogen

import (
	"fmt"
	"strings"
	"unicode"
)

// exported returns name with its first letter upper-cased ("streamId" ->
// "StreamId"). Names are validated as identifiers by the schema package.
func exported(name string) string {
	if name == "" {
		return name
	}
	r := []rune(name)
	r[0] = unicode.ToUpper(r[0])
	return string(r)
}

// constName turns an enum value or choice name into the tail of a Go
// constant: SCREAMING_CASE becomes CamelCase ("RATE_LIMITED" ->
// "RateLimited"), anything else is exported as is ("sunRoof" -> "SunRoof").
func constName(name string) string {
	allUpper := strings.ToUpper(name) == name
	if !strings.Contains(name, "_") && (!allUpper || len(name) <= 1) {
		return exported(name)
	}
	var b strings.Builder
	for _, part := range strings.Split(name, "_") {
		if part == "" {
			continue
		}
		r := []rune(strings.ToLower(part))
		r[0] = unicode.ToUpper(r[0])
		b.WriteString(string(r))
	}
	if b.Len() == 0 {
		return exported(name)
	}
	out := b.String()
	if unicode.IsDigit([]rune(out)[0]) {
		out = "V" + out
	}
	return out
}

// PackageName derives a Go package name from a schema file name:
// "join-barrier-schema.xml" -> "joinbarrier".
func PackageName(file string) string {
	base := file
	if i := strings.LastIndexAny(base, `/\`); i >= 0 {
		base = base[i+1:]
	}
	base = strings.TrimSuffix(base, ".xml")
	base = strings.TrimSuffix(base, "-schema")
	base = strings.TrimSuffix(base, "_schema")
	var b strings.Builder
	for _, r := range strings.ToLower(base) {
		if r < 0x80 && (unicode.IsLetter(r) || unicode.IsDigit(r)) {
			b.WriteRune(r)
		}
	}
	out := b.String()
	if out == "" || unicode.IsDigit(rune(out[0])) {
		out = "sbe" + out
	}
	return out
}

// scope detects two generated identifiers with the same name.
type scope struct {
	kind  string
	names map[string]string // Go name -> what it was made from
}

func newScope(kind string, reserved ...string) *scope {
	s := &scope{kind: kind, names: map[string]string{}}
	for _, r := range reserved {
		s.names[r] = "a generated method"
	}
	return s
}

func (s *scope) add(goName, from string) error {
	if prev, ok := s.names[goName]; ok {
		return fmt.Errorf("%s %s would be generated for both %s and %s; rename one of them", s.kind, goName, prev, from)
	}
	s.names[goName] = from
	return nil
}
