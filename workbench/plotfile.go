package workbench

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/lvslab/lvslab/sim"
)

// PlotResultsFile draws, into dir, the figures of a results JSON, or of a results CSV
// (with the response-time CDFs of the JSON of the same name beside it, if
// any).
func PlotResultsFile(path, dir string, o PlotOptions) ([]string, error) {
	if strings.EqualFold(filepath.Ext(path), ".json") {
		rs, err := readResultsJSON(path)
		if err != nil {
			return nil, err
		}
		return WriteResultPlots(dir, path, rs, o)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	t, err := ReadTable(path, f)
	if err != nil {
		return nil, err
	}
	side := SideJSON(path)
	rs, err := readResultsJSON(side)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		rs, side = nil, ""
	case err != nil:
		return nil, err
	}
	files, err := WritePlots(dir, t, rs, o)
	if errors.Is(err, ErrAmbiguous) && side != "" {
		err = fmt.Errorf("%w (here: lvslab plot %s)", err, side)
	}
	return files, err
}

// SideJSON is the results JSON beside a results CSV.
func SideJSON(csvPath string) string {
	return strings.TrimSuffix(csvPath, filepath.Ext(csvPath)) + ".json"
}

func readResultsJSON(path string) ([]*sim.Result, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ReadResults(path, f)
}
