package workbench

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

	"github.com/lvslab/lvslab/experiment"
	"github.com/lvslab/lvslab/internal/atomicfile"
)

// Input is a file a command reads (experiment.Input).
type Input = experiment.Input

// WriteLogOutput writes a log to out: stdout for "" or "-", otherwise the
// file, atomically (internal/atomicfile: a failed or killed write leaves
// the previous file as it was), gzip-compressed when out ends in .gz.
func WriteLogOutput(stdout io.Writer, out string, write func(io.Writer) error) error {
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

// InputFiles lists paths read as arguments (flag "") or under flag.
func InputFiles(flag string, paths ...string) []Input {
	what := "the input file %s"
	if flag != "" {
		what = "the " + flag + " file %s"
	}
	in := make([]Input, 0, len(paths))
	for _, p := range paths {
		in = append(in, Input{What: what, Path: p})
	}
	return in
}

// RefuseOverwrite returns an error, to be checked before anything is
// opened for writing, when the output out (given with flag to command)
// is one of the inputs: the same file (os.SameFile, so hard links,
// symbolic links and "./a.log" count) or, when out does not exist yet, the
// same absolute path. "" and "-" (standard output) are never refused.
func RefuseOverwrite(command, flag, out string, inputs []Input) error {
	if out == "" || out == "-" {
		return nil
	}
	for _, in := range inputs {
		if in.Path == "" || in.Path == "-" || !SameFile(out, in.Path) {
			continue
		}
		return fmt.Errorf("%s: %s %s is %s; choose another output", command, flag, out, fmt.Sprintf(in.What, in.Path))
	}
	return nil
}

// SameFile reports whether paths a and b name one file: the same file on
// disk when a exists, else the same cleaned absolute path.
func SameFile(a, b string) bool {
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

// RefuseSweepOverwrite refuses, before anything is written, a sweep whose
// output directory would replace one of its input files: the manifest and
// merged results it writes, or a file in its cells folder.
func RefuseSweepOverwrite(dir string, inputs []Input) error {
	for _, f := range []string{ManifestFile, MergedCSV, MergedJSON} {
		if err := RefuseOverwrite("sweep", "-o "+dir+":", filepath.Join(dir, f), inputs); err != nil {
			return err
		}
	}
	cells := filepath.Join(dir, CellsDir)
	for _, in := range inputs {
		if in.Path != "" && SameFile(filepath.Dir(in.Path), cells) {
			return fmt.Errorf("sweep: -o %s: folder %s, where the sweep writes its cells, holds %s; choose another output", dir, cells, fmt.Sprintf(in.What, in.Path))
		}
	}
	return nil
}

// RefuseMergeOverwrite refuses a merge output that is a file of one of the
// sweep directories it reads: a manifest or a cell.
func RefuseMergeOverwrite(out string, dirs []string) error {
	if out == "" || out == "-" {
		return nil
	}
	var in []Input
	for _, d := range dirs {
		in = append(in, Input{What: "the manifest %s", Path: filepath.Join(d, ManifestFile)})
		if cells := filepath.Join(d, CellsDir); SameFile(filepath.Dir(out), cells) {
			return fmt.Errorf("sweep merge: -o %s is in %s, the cells of sweep %s; choose another output", out, cells, d)
		}
	}
	return RefuseOverwrite("sweep merge", "-o", out, in)
}
