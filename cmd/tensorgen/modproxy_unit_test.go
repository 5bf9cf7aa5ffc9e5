package main

import (
	"archive/zip"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/mod/module"
)

// The file proxy serves the working tree: in a git work tree, committed
// files as they are on disk, untracked ones, not ignored or deleted ones;
// outside one, every file. Nested modules and symbolic links never.
func TestWriteModuleProxy(t *testing.T) {
	git, gitErr := exec.LookPath("git")
	tests := []struct {
		name string
		git  bool
		want []string // files in the zip: "path=content"
	}{
		{"git work tree", true, []string{".gitignore=ignored/\n", "a.go=package m // edited\n", "b.go=package m // untracked\n", "go.mod=module example.com/m\n"}},
		{"plain directory", false, []string{".gitignore=ignored/\n", "a.go=package m // edited\n", "b.go=package m // untracked\n", "go.mod=module example.com/m\n", "ignored/x.go=package x\n"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.git && gitErr != nil {
				t.Skip("no git command")
			}
			src := t.TempDir()
			write := func(name, content string) {
				t.Helper()
				p := filepath.Join(src, filepath.FromSlash(name))
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			gitRun := func(args ...string) {
				t.Helper()
				cmd := exec.Command(git, append([]string{"-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false"}, args...)...)
				cmd.Dir = src
				if out, err := cmd.CombinedOutput(); err != nil {
					t.Fatalf("git %v: %v\n%s", args, err, out)
				}
			}
			write("go.mod", "module example.com/m\n")
			write(".gitignore", "ignored/\n")
			write("a.go", "package m\n")
			write("c.go", "package m // deleted\n")
			if tt.git {
				gitRun("init", "-q")
				gitRun("add", ".")
				gitRun("commit", "-q", "-m", "first")
				if err := os.Remove(filepath.Join(src, "c.go")); err != nil {
					t.Fatal(err)
				}
			} else {
				if err := os.Remove(filepath.Join(src, "c.go")); err != nil {
					t.Fatal(err)
				}
			}
			write("a.go", "package m // edited\n")
			write("b.go", "package m // untracked\n")
			write("ignored/x.go", "package x\n")
			write("nested/go.mod", "module example.com/m/nested\n")
			write("nested/n.go", "package nested\n")
			if err := os.Symlink("a.go", filepath.Join(src, "link.go")); err != nil {
				t.Fatal(err)
			}

			proxy := t.TempDir()
			m := module.Version{Path: "example.com/m", Version: "v0.0.0-checkout"}
			pm, err := writeModuleProxy(proxy, src, m)
			if err != nil {
				t.Fatal(err)
			}
			omitted := strings.Join(pm.Omitted, "\n")
			if !strings.Contains(omitted, "link.go: file is a symbolic link") || !strings.Contains(omitted, "nested/n.go: file is in another module") {
				t.Errorf("omitted: %v", pm.Omitted)
			}
			vdir := filepath.Join(proxy, "example.com", "m", "@v")
			if list, err := os.ReadFile(filepath.Join(vdir, "list")); err != nil || string(list) != "v0.0.0-checkout\n" {
				t.Errorf("list %q, %v", list, err)
			}
			var info struct{ Version string }
			if b, err := os.ReadFile(filepath.Join(vdir, "v0.0.0-checkout.info")); err != nil || json.Unmarshal(b, &info) != nil || info.Version != m.Version {
				t.Errorf("info %s, %v", b, err)
			}
			if b, err := os.ReadFile(filepath.Join(vdir, "v0.0.0-checkout.mod")); err != nil || string(b) != "module example.com/m\n" {
				t.Errorf("mod %q, %v", b, err)
			}
			zr, err := zip.OpenReader(filepath.Join(vdir, "v0.0.0-checkout.zip"))
			if err != nil {
				t.Fatal(err)
			}
			defer zr.Close()
			var got []string
			for _, f := range zr.File {
				name, ok := strings.CutPrefix(f.Name, "example.com/m@v0.0.0-checkout/")
				if !ok {
					t.Errorf("zip entry %s outside the module's prefix", f.Name)
				}
				rc, err := f.Open()
				if err != nil {
					t.Fatal(err)
				}
				b, err := io.ReadAll(rc)
				rc.Close()
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, name+"="+string(b))
			}
			slices.Sort(got)
			if !slices.Equal(got, tt.want) {
				t.Errorf("zip holds\n%q\nwant\n%q", got, tt.want)
			}
			if pm.Files != len(tt.want) {
				t.Errorf("Files = %d, want %d", pm.Files, len(tt.want))
			}
		})
	}
}

// Files the go command could not extract are an error naming them, before
// anything is written.
func TestWriteModuleProxyRejects(t *testing.T) {
	src := t.TempDir()
	for name, content := range map[string]string{"go.mod": "module example.com/m\n", "a.go": "package m\n", "A.go": "package m\n"} {
		if err := os.WriteFile(filepath.Join(src, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := os.Stat(filepath.Join(src, "A.go")); err != nil {
		t.Fatal(err)
	}
	if ents, _ := os.ReadDir(src); len(ents) != 3 {
		t.Skip("case-insensitive file system: cannot make a case collision")
	}
	proxy := t.TempDir()
	_, err := writeModuleProxy(proxy, src, module.Version{Path: "example.com/m", Version: "v0.0.0-checkout"})
	if err == nil || !strings.Contains(err.Error(), "a.go") || !strings.Contains(err.Error(), "case-insensitive") {
		t.Fatalf("err = %v, want a case collision naming a.go", err)
	}
	if ents, _ := os.ReadDir(proxy); len(ents) != 0 {
		t.Errorf("wrote %d entries before failing", len(ents))
	}
}
