//go:build unix

package atomicfile

import (
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// A named pipe (like a device such as /dev/null) is written in place, not
// replaced by a regular file.
func TestWritePipe(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "pipe")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skip(err)
	}
	// Held open read-write, the pipe has a reader (the write does not
	// block) and a read times out instead of hanging if nothing came.
	r, err := os.OpenFile(fifo, os.O_RDWR, 0)
	if err != nil {
		t.Skip(err)
	}
	defer r.Close()
	const msg = "through the pipe"
	if err := WriteFile(fifo, []byte(msg)); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(fifo); err != nil || fi.Mode()&fs.ModeNamedPipe == 0 {
		t.Fatalf("%s is no longer a pipe (%v)", fifo, err)
	}
	r.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, len(msg))
	if _, err := io.ReadFull(r, buf); err != nil || string(buf) != msg {
		t.Errorf("read %q (%v), want %q", buf, err, msg)
	}
}
