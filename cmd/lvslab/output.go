package main

import (
	"bufio"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/lvslab/lvslab/internal/atomicfile"
)

// writeLogOutput writes a log to out: standard output for "" or "-",
// otherwise the file, atomically (internal/atomicfile: a failed or killed
// write leaves the previous file as it was), gzip-compressed when out ends
// in .gz.
func writeLogOutput(stdout io.Writer, out string, write func(io.Writer) error) error {
	if out == "" || out == "-" {
		bw := bufio.NewWriterSize(stdout, 256<<10)
		if err := write(bw); err != nil {
			return err
		}
		return bw.Flush()
	}
	return atomicfile.Write(out, func(w io.Writer) error {
		if !strings.HasSuffix(out, ".gz") {
			return write(w)
		}
		zw := gzip.NewWriter(w)
		if err := write(zw); err != nil {
			return err
		}
		return zw.Close()
	})
}

// input is a file a command reads, as the user named it.
type input struct {
	what string // "the --fit file %s": how errors name it
	path string
}

// inputFiles lists paths read as arguments (flag "") or under flag.
func inputFiles(flag string, paths ...string) []input {
	what := "the input file %s"
	if flag != "" {
		what = "the " + flag + " file %s"
	}
	in := make([]input, 0, len(paths))
	for _, p := range paths {
		in = append(in, input{what, p})
	}
	return in
}

// traceInputs lists the files of trace specs (see loadWorkload): the parts
// of "a.log+b.log", relative to dir; "default" and "synth:..." read none.
// what names them in errors.
func traceInputs(what string, specs []string, dir string) []input {
	var in []input
	for _, spec := range specs {
		spec = strings.TrimSpace(spec)
		if spec == "" || spec == "default" || strings.HasPrefix(spec, "synth:") {
			continue
		}
		for _, p := range strings.Split(spec, "+") {
			if dir != "" && !filepath.IsAbs(p) {
				p = filepath.Join(dir, p)
			}
			in = append(in, input{what, p})
		}
	}
	return in
}

// refuseOverwrite returns an error, to be checked before anything is
// opened for writing, when the output out (given with flag to command)
// is one of the inputs: the same file (os.SameFile, so hard links,
// symbolic links and "./a.log" count) or, when out does not exist yet, the
// same absolute path. "" and "-" (standard output) are never refused.
func refuseOverwrite(command, flag, out string, inputs []input) error {
	if out == "" || out == "-" {
		return nil
	}
	for _, in := range inputs {
		if in.path == "" || in.path == "-" || !sameFile(out, in.path) {
			continue
		}
		return fmt.Errorf("%s: %s %s is %s; choose another output", command, flag, out, fmt.Sprintf(in.what, in.path))
	}
	return nil
}

// sameFile reports whether paths a and b name one file: the same file on
// disk when a exists, else the same cleaned absolute path.
func sameFile(a, b string) bool {
	fa, err := os.Stat(a)
	if err == nil {
		fb, err := os.Stat(b)
		return err == nil && os.SameFile(fa, fb)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return false
	}
	aa, err1 := filepath.Abs(a)
	ab, err2 := filepath.Abs(b)
	return err1 == nil && err2 == nil && aa == ab
}

// inputs lists the files the experiment reads: its file (-f) and its
// traces (--trace, or the file's trace key, relative to the file).
func (e *experiment) inputs() []input {
	in := inputFiles("-f", e.File)
	if e.File != "" && e.Dir != "" { // traces from the file (a --trace flag clears Dir)
		return append(in, traceInputs("the trace file %s (trace: in "+e.File+")", e.Traces, e.Dir)...)
	}
	return append(in, traceInputs("the --trace file %s", e.Traces, "")...)
}
