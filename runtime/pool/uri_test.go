package pool

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseURI(t *testing.T) {
	tests := []struct {
		in      string
		want    URI
		wantErr error
	}{
		{"shm:file?path=/dev/shm/tp/header.ring", URI{Path: "/dev/shm/tp/header.ring"}, nil},
		{"shm:file?path=/dev/hugepages/x|require_hugepages=true", URI{Path: "/dev/hugepages/x", RequireHugepages: true}, nil},
		{"shm:file?path=/dev/shm/tp-4242-pool-1|require_hugepages=false", URI{Path: "/dev/shm/tp-4242-pool-1"}, nil},
		{"shm:file?path=/", URI{Path: "/"}, nil},
		{"shm:file?path=/a/../b", URI{Path: "/a/../b"}, nil}, // syntax only; containment resolves it
		{"", URI{}, ErrURIScheme},
		{"aeron:ipc", URI{}, ErrURIScheme},
		{"shm:memfd?path=/x", URI{}, ErrURIScheme},
		{"SHM:file?path=/x", URI{}, ErrURIScheme},
		{"file:///dev/shm/x", URI{}, ErrURIScheme},
		{"shm:file", URI{}, ErrURIScheme},
		{"shm:file?", URI{}, ErrURIParameter},
		{"shm:file?require_hugepages=true|path=/x", URI{}, ErrURIParameter},
		{"shm:file?path=/x|require_hugepages=yes", URI{}, ErrURIParameter},
		{"shm:file?path=/x|require_hugepages=TRUE", URI{}, ErrURIParameter},
		{"shm:file?path=/x|require_hugepages=", URI{}, ErrURIParameter},
		{"shm:file?path=/x|require_hugepages=true|require_hugepages=true", URI{}, ErrURIParameter},
		{"shm:file?path=/x|mode=0600", URI{}, ErrURIParameter},
		{"shm:file?path=/x|", URI{}, ErrURIParameter},
		{"shm:file?path=/x|path=/y", URI{}, ErrURIParameter},
		{"shm:file?path=", URI{}, ErrURIPath},
		{"shm:file?path=relative/x", URI{}, ErrURIPath},
		{"shm:file?path=/with space", URI{}, ErrURIPath},
		{"shm:file?path=/x?y", URI{}, ErrURIPath},
		{"shm:file?path=/tab\there", URI{}, ErrURIPath},
		{"shm:file?path=/nul\x00", URI{}, ErrURIPath},
		{"shm:file?path=/caf\xc3\xa9", URI{}, ErrURIPath},
		{"shm:file?path=/del\x7f", URI{}, ErrURIPath},
		{"shm:file?path=|require_hugepages=true", URI{}, ErrURIPath},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseURI(tt.in)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if err == nil {
				back, err := ParseURI(got.String())
				if err != nil || back != got {
					t.Errorf("round trip via %q: %+v, %v", got.String(), back, err)
				}
			}
		})
	}
}

func TestNewURI(t *testing.T) {
	u, err := NewURI("/dev/shm/a", true)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := u.String(), "shm:file?path=/dev/shm/a|require_hugepages=true"; got != want {
		t.Errorf("String = %q, want %q", got, want)
	}
	for _, p := range []string{"", "x", "/a b", "/a|b", "/a?b"} {
		if _, err := NewURI(p, false); !errors.Is(err, ErrURIPath) {
			t.Errorf("NewURI(%q) = %v, want ErrURIPath", p, err)
		}
	}
}

func FuzzParseURI(f *testing.F) {
	for _, s := range []string{
		"shm:file?path=/dev/shm/x", "shm:file?path=/x|require_hugepages=true",
		"shm:file?path=/x|require_hugepages=false", "shm:file?path=/x|bogus=1", "aeron:ipc",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u, err := ParseURI(s)
		if err != nil {
			return
		}
		// Anything accepted is in the ABNF's language and round-trips.
		if !strings.HasPrefix(s, "shm:file?path=/") {
			t.Fatalf("accepted %q", s)
		}
		if strings.ContainsAny(u.Path, "?| ") {
			t.Fatalf("accepted path %q", u.Path)
		}
		canon := u.String()
		if canon != s && canon+"|require_hugepages=false" != s {
			t.Fatalf("%q formats back as %q", s, canon)
		}
		if back, err := ParseURI(canon); err != nil || back != u {
			t.Fatalf("round trip of %q: %+v %v", s, back, err)
		}
	})
}
