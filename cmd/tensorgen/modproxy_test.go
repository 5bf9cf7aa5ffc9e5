package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/mod/module"
	modzip "golang.org/x/mod/zip"
)

// A file module proxy: a directory laid out as the GOPROXY protocol
// (https://go.dev/ref/mod#goproxy-protocol) that the go command reads
// with GOPROXY=file://DIR. writeModuleProxy puts one version of one
// module in it, made from a source directory as it is on disk, so the
// go command can fetch a module that is not published: go get resolves
// the module through the proxy exactly as it would for a published one.

// proxyFiles lists the files of the module rooted at dir that go into its
// zip, relative to dir with forward slashes, and says how it listed them.
// In a git work tree it is what git would commit from the working tree:
// tracked files as they are on disk (uncommitted changes included, deleted
// ones left out) and untracked files that .gitignore does not exclude, so
// build output and caches in ignored directories stay out. Elsewhere (no
// git, not a repository, git refusing it) it is every file under dir, as
// zip.CreateFromDir takes them, and how says why. Either way the module zip rules then apply: nested modules,
// symbolic links and VCS directories are left out.
func proxyFiles(dir string) (files []modzip.File, how string, err error) {
	git, err := exec.LookPath("git")
	if err == nil {
		cmd := exec.Command(git, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
		cmd.Dir = dir
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, lerr := cmd.Output()
		if lerr == nil {
			seen := make(map[string]bool)
			for _, name := range strings.Split(strings.TrimSuffix(string(out), "\x00"), "\x00") {
				if name == "" || seen[name] {
					continue // a file with merge conflicts is listed once per stage
				}
				seen[name] = true
				fi, err := os.Lstat(filepath.Join(dir, filepath.FromSlash(name)))
				if errors.Is(err, fs.ErrNotExist) {
					continue // tracked, deleted in the working tree
				}
				if err != nil {
					return nil, "", err
				}
				files = append(files, diskFile{dir: dir, name: name, info: fi})
			}
			return files, "git ls-files (working tree, .gitignore applied)", nil
		}
		how = fmt.Sprintf("every file under the directory (git ls-files: %v: %s)", lerr, strings.TrimSpace(stderr.String()))
	} else {
		how = "every file under the directory (no git command)"
	}
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch d.Name() {
			case ".git", ".hg", ".svn", ".bzr":
				return filepath.SkipDir
			}
			return nil
		}
		if d.Name() == ".git" {
			return nil // a linked work tree's pointer to its repository
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		files = append(files, diskFile{dir: dir, name: filepath.ToSlash(rel), info: fi})
		return nil
	})
	if err != nil {
		return nil, "", err
	}
	return files, how, nil
}

type diskFile struct {
	dir, name string
	info      fs.FileInfo
}

func (f diskFile) Path() string                { return f.name }
func (f diskFile) Lstat() (fs.FileInfo, error) { return f.info, nil }
func (f diskFile) Open() (io.ReadCloser, error) {
	return os.Open(filepath.Join(f.dir, filepath.FromSlash(f.name)))
}

// proxyModule is what writeModuleProxy did: where the zip came from and
// what the module zip rules left out.
type proxyModule struct {
	Listed  string   // how the files were listed (see proxyFiles)
	Files   int      // files in the zip
	Omitted []string // "path: reason" for files the zip rules left out
	Size    int64    // zip size in bytes
}

// writeModuleProxy adds version m of the module whose source is dir to
// the file proxy at proxyDir: @v/list, and the version's .info, .mod and
// .zip. The zip is made with golang.org/x/mod/zip, the package the go
// command's own zips follow, so files the go command would reject (names
// it cannot extract, case collisions, a tree over the 500 MB limit) fail
// here, each named, before the go command sees them.
func writeModuleProxy(proxyDir, dir string, m module.Version) (proxyModule, error) {
	var pm proxyModule
	files, how, err := proxyFiles(dir)
	if err != nil {
		return pm, fmt.Errorf("listing the files of %s: %w", dir, err)
	}
	pm.Listed = how
	cf, err := modzip.CheckFiles(files)
	if err != nil {
		return pm, fmt.Errorf("checking the files of %s: %w", dir, err)
	}
	for _, o := range cf.Omitted {
		pm.Omitted = append(pm.Omitted, o.Path+": "+o.Err.Error())
	}
	if err := cf.Err(); err != nil {
		return pm, fmt.Errorf("%s cannot be a module zip: %w", dir, err)
	}
	pm.Files = len(cf.Valid)

	escPath, err := module.EscapePath(m.Path)
	if err != nil {
		return pm, err
	}
	escVers, err := module.EscapeVersion(m.Version)
	if err != nil {
		return pm, err
	}
	vdir := filepath.Join(proxyDir, filepath.FromSlash(escPath), "@v")
	if err := os.MkdirAll(vdir, 0o755); err != nil {
		return pm, err
	}
	var zbuf bytes.Buffer
	if err := modzip.Create(&zbuf, m, files); err != nil {
		return pm, err
	}
	pm.Size = int64(zbuf.Len())
	gomod, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil {
		return pm, err
	}
	info, err := json.Marshal(struct {
		Version string
		Time    time.Time
	}{m.Version, time.Now().UTC().Truncate(time.Second)})
	if err != nil {
		return pm, err
	}
	for name, data := range map[string][]byte{
		"list":            []byte(m.Version + "\n"),
		escVers + ".info": info,
		escVers + ".mod":  gomod,
		escVers + ".zip":  zbuf.Bytes(),
	} {
		if err := os.WriteFile(filepath.Join(vdir, name), data, 0o644); err != nil {
			return pm, err
		}
	}
	return pm, nil
}

// fileURL is the file:// URL of an absolute path, for GOPROXY.
func fileURL(p string) string {
	return "file://" + path.Clean(filepath.ToSlash(p))
}
