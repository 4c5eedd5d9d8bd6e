// Package atomicfile writes files so that no reader, and no crash, ever
// sees half of one: the content goes to a temporary file in the same
// directory, which is synced, closed and then renamed over the target.
// Until the rename the previous file, if any, is untouched; after it the new
// file is complete. On any error the temporary file is removed and the
// previous file is left as it was.
//
// Every file lvslab writes goes through this package (checked by the
// module's deps_test.go).
//
// # Usage
//
//	err := atomicfile.WriteFile("results.csv", b)
//	err = atomicfile.Write("big.log.gz", func(w io.Writer) error {
//		zw := gzip.NewWriter(w)
//		... write to zw ...
//		return zw.Close()
//	})
package atomicfile

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// DefaultPerm is the mode of a new file, set explicitly whatever the
// umask. A file that already exists keeps its mode.
const DefaultPerm fs.FileMode = 0o644

// tmpPattern names temporary files: hidden, after the target, so that one
// left behind by a killed process is recognisable and never taken for the
// output itself.
func tmpPattern(base string) string { return "." + base + ".*.tmp" }

// WriteFile replaces path with data, atomically.
func WriteFile(path string, data []byte) error {
	return Write(path, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// Write replaces path with what write writes, atomically. write gets a
// buffered writer on a temporary file in path's directory; if it returns
// an error, or anything else fails, the temporary file is removed, path is
// left as it was, and the error is returned naming path.
//
// A path that is a symbolic link is followed: its target is replaced and
// the link kept. The new file has the previous file's permissions, or
// DefaultPerm. A path that is a device or a named pipe (/dev/null,
// /dev/stdout) cannot be replaced and holds no file to lose: it is written
// in place.
func Write(path string, write func(w io.Writer) error) (err error) {
	target, perm, err := resolve(path)
	if err != nil {
		return err
	}
	if perm == special {
		return writeSpecial(path, write)
	}
	tmp, err := os.CreateTemp(filepath.Dir(target), tmpPattern(filepath.Base(target)))
	if err != nil {
		return fmt.Errorf("write %s: %w", path, unwrapPath(err))
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	bw := bufio.NewWriterSize(tmp, 64<<10)
	if err := write(bw); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Chmod(perm); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), target); err != nil {
		return fmt.Errorf("write %s: %w", path, unwrapLink(err))
	}
	syncDir(filepath.Dir(target))
	return nil
}

// resolve returns the file to replace (path, or the target of the
// symbolic link path) and the mode to give it.
func resolve(path string) (string, fs.FileMode, error) {
	target := path
	if fi, err := os.Lstat(path); err == nil && fi.Mode()&fs.ModeSymlink != 0 {
		t, err := filepath.EvalSymlinks(path)
		switch {
		case err == nil:
			target = t
		case errors.Is(err, fs.ErrNotExist):
			// A dangling link: create its target.
			dest, err := os.Readlink(path)
			if err != nil {
				return "", 0, fmt.Errorf("write %s: %w", path, err)
			}
			if !filepath.IsAbs(dest) {
				dest = filepath.Join(filepath.Dir(path), dest)
			}
			target = dest
		default:
			return "", 0, fmt.Errorf("write %s: %w", path, err)
		}
	}
	fi, err := os.Stat(target)
	switch {
	case err == nil && fi.IsDir():
		return "", 0, fmt.Errorf("write %s: is a directory", path)
	case err == nil && !fi.Mode().IsRegular():
		return target, special, nil
	case err == nil:
		return target, fi.Mode().Perm(), nil
	case errors.Is(err, fs.ErrNotExist):
		return target, DefaultPerm, nil
	}
	return "", 0, fmt.Errorf("write %s: %w", path, err)
}

// special is resolve's mode for a path that is not a regular file.
const special = fs.ModeDevice

// writeSpecial writes to a device or pipe in place.
func writeSpecial(path string, write func(w io.Writer) error) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, unwrapPath(err))
	}
	bw := bufio.NewWriterSize(f, 64<<10)
	err = write(bw)
	if err == nil {
		err = bw.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// unwrapLink drops the *os.LinkError's temporary name, so that an error
// names the target, not the temporary file.
func unwrapLink(err error) error {
	var le *os.LinkError
	if errors.As(err, &le) {
		return le.Err
	}
	return err
}

// syncDir makes the rename durable where the system allows it; a failure
// is not an error (some file systems cannot sync a directory).
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}
