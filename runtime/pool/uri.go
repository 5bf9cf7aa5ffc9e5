package pool

import (
	"fmt"
	"strings"
)

// URI is a parsed region URI of wire spec 15.22:
//
//	shm-uri  = "shm:file?path=" abs-path ["|" "require_hugepages=" bool]
//	abs-path = 1*( VCHAR except "?" and "|" and SP )
//	bool     = "true" / "false"
//
// The path must also be absolute (start with "/").
type URI struct {
	Path             string
	RequireHugepages bool
}

const (
	uriScheme    = "shm:file?"
	uriPathKey   = "path="
	uriHugepages = "require_hugepages="
)

// ParseURI parses s exactly per the ABNF above. Unknown schemes wrap
// ErrURIScheme; unknown, repeated, reordered or malformed parameters wrap
// ErrURIParameter; an empty, relative or ill-formed path wraps ErrURIPath.
func ParseURI(s string) (URI, error) {
	rest, ok := strings.CutPrefix(s, uriScheme)
	if !ok {
		return URI{}, fmt.Errorf("region URI %q: %w", s, ErrURIScheme)
	}
	rest, ok = strings.CutPrefix(rest, uriPathKey)
	if !ok {
		return URI{}, fmt.Errorf("region URI %q: first parameter must be path: %w", s, ErrURIParameter)
	}
	path, param, hasParam := strings.Cut(rest, "|")
	if err := checkURIPath(path); err != nil {
		return URI{}, fmt.Errorf("region URI %q: %w", s, err)
	}
	u := URI{Path: path}
	if hasParam {
		switch param {
		case uriHugepages + "true":
			u.RequireHugepages = true
		case uriHugepages + "false":
		default:
			return URI{}, fmt.Errorf("region URI %q: parameter %q: %w", s, param, ErrURIParameter)
		}
	}
	return u, nil
}

func checkURIPath(p string) error {
	if p == "" || p[0] != '/' {
		return fmt.Errorf("path %q: %w", p, ErrURIPath)
	}
	for i := 0; i < len(p); i++ {
		if c := p[i]; c < 0x21 || c > 0x7e || c == '?' || c == '|' {
			return fmt.Errorf("path byte %#x at %d: %w", c, i, ErrURIPath)
		}
	}
	return nil
}

// String formats u; require_hugepages is written only when true. It does
// not validate: use [NewURI] to build a URI from an arbitrary path.
func (u URI) String() string {
	s := uriScheme + uriPathKey + u.Path
	if u.RequireHugepages {
		s += "|" + uriHugepages + "true"
	}
	return s
}

// NewURI returns the URI of path, failing with ErrURIPath if the path
// cannot be expressed (relative, or with spaces, '?', '|' or non-ASCII).
func NewURI(path string, requireHugepages bool) (URI, error) {
	if err := checkURIPath(path); err != nil {
		return URI{}, err
	}
	return URI{Path: path, RequireHugepages: requireHugepages}, nil
}
