package atomicfile

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// entries lists the names in dir, to find temporary files left behind.
func entries(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}

func TestWrite(t *testing.T) {
	errBoom := errors.New("boom")
	tests := []struct {
		name     string
		previous string // "" for no previous file
		write    func(w io.Writer) error
		want     string // content after; the previous one on error
		wantErr  error
	}{
		{"new file", "", func(w io.Writer) error { _, err := io.WriteString(w, "new"); return err }, "new", nil},
		{"replace", "old content", func(w io.Writer) error { _, err := io.WriteString(w, "new"); return err }, "new", nil},
		{"empty", "old", func(io.Writer) error { return nil }, "", nil},
		{"error mid-write keeps the previous file", "old content", func(w io.Writer) error {
			io.WriteString(w, "half of the ")
			return errBoom
		}, "old content", errBoom},
		{"error mid-write leaves no file", "", func(w io.Writer) error {
			io.WriteString(w, strings.Repeat("x", 1<<20)) // past the buffer: bytes reach the temporary file
			return errBoom
		}, "", errBoom},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "out.csv")
			if tt.previous != "" {
				if err := os.WriteFile(path, []byte(tt.previous), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			err := Write(path, tt.write)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Write: %v, want %v", err, tt.wantErr)
			}
			if err != nil && !strings.Contains(err.Error(), path) {
				t.Errorf("error %q does not name %s", err, path)
			}
			b, rerr := os.ReadFile(path)
			switch {
			case tt.previous == "" && tt.wantErr != nil:
				if !errors.Is(rerr, fs.ErrNotExist) {
					t.Errorf("a failed write created %s (%v)", path, rerr)
				}
			case rerr != nil:
				t.Fatal(rerr)
			case string(b) != tt.want:
				t.Errorf("content %q, want %q", b, tt.want)
			}
			names := entries(t, dir)
			if want := map[bool]int{true: 0, false: 1}[tt.previous == "" && tt.wantErr != nil]; len(names) != want {
				t.Errorf("directory holds %q: a temporary file was left behind", names)
			}
			if fi, err := os.Stat(path); err == nil {
				want := DefaultPerm
				if tt.previous != "" {
					want = 0o600
				}
				if fi.Mode().Perm() != want {
					t.Errorf("mode %v, want %v", fi.Mode().Perm(), want)
				}
			}
		})
	}
}

// A reader of the file during a write sees the old content, complete.
func TestWriteIsInvisibleUntilDone(t *testing.T) {
	path := filepath.Join(t.TempDir(), "results.json")
	if err := WriteFile(path, []byte("old")); err != nil {
		t.Fatal(err)
	}
	err := Write(path, func(w io.Writer) error {
		io.WriteString(w, strings.Repeat("y", 1<<20))
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if string(b) != "old" {
			t.Errorf("during the write the file holds %d bytes, want the old 3", len(b))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); len(b) != 1<<20 {
		t.Errorf("after the write: %d bytes", len(b))
	}
}

func TestWriteErrors(t *testing.T) {
	dir := t.TempDir()
	sub := filepath.Join(dir, "sub")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, path, want string
	}{
		{"missing directory", filepath.Join(dir, "nope", "x.csv"), "no such file or directory"},
		{"a directory", sub, "is a directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := WriteFile(tt.path, []byte("x"))
			if err == nil || !strings.Contains(err.Error(), tt.path) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("WriteFile(%s) = %v, want an error naming it: %s", tt.path, err, tt.want)
			}
			if strings.Contains(err.Error(), ".tmp") {
				t.Errorf("error %q names the temporary file", err)
			}
		})
	}
	if names := entries(t, dir); len(names) != 1 {
		t.Errorf("directory holds %q", names)
	}
}

// A symbolic link is kept and its target replaced.
func TestWriteSymlink(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "real.csv")
	link := filepath.Join(dir, "link.csv")
	if err := os.WriteFile(target, []byte("old"), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("real.csv", link); err != nil {
		t.Skip(err)
	}
	if err := WriteFile(link, []byte("new")); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&fs.ModeSymlink == 0 {
		t.Errorf("the link was replaced: %v %v", fi, err)
	}
	if b, _ := os.ReadFile(target); string(b) != "new" {
		t.Errorf("target holds %q", b)
	}
	if fi, _ := os.Stat(target); fi.Mode().Perm() != 0o640 {
		t.Errorf("target mode %v, want 0640", fi.Mode().Perm())
	}
}
