package experiment

import (
	"errors"
	"fmt"
	"slices"
)

// CheckLive returns an error naming every simulator-only parameter the
// experiment sets (in its file, with the file and line, or by a flag), or
// nil if a live host (testbed run) can run it all: the cluster and the
// scheduler are shared by both worlds, while some parameters model what
// only the simulator has (closed or open admission and its speed-up, the
// distributed front end's distributors and Content Location Service, the
// cache cluster's origin). Param.Live and Param.LiveValue say which, and
// why.
func (e *Experiment) CheckLive() error {
	var errs []error
	if e.KeepDynamic {
		switch lines := e.lines["keep_dynamic"]; {
		case e.flags["keep_dynamic"] || len(lines) == 0:
			errs = append(errs, fmt.Errorf("--keep-dynamic: %s", simKeepDynamic))
		default:
			errs = append(errs, fmt.Errorf("%s:%d: keep_dynamic: %s", e.File, lines[0].line, simKeepDynamic))
		}
	}
	for _, p := range params {
		var why []string
		vals := e.Values[p.Name]
		for _, v := range vals {
			if w := p.liveWhy(v); w != "" && !slices.Contains(why, w) {
				why = append(why, w)
			}
		}
		for _, w := range why {
			errs = append(errs, e.liveError(p, vals, w))
		}
	}
	return errors.Join(errs...)
}

// simKeepDynamic says why keep_dynamic: true is simulated only.
const simKeepDynamic = "only the simulator keeps dynamic requests; the load generator and the emulated back ends replay the static ones"

// SetKeepDynamic sets KeepDynamic from the --keep-dynamic flag.
func (e *Experiment) SetKeepDynamic(b bool) {
	e.KeepDynamic = b
	e.flags["keep_dynamic"] = true
}

// liveError names where the experiment sets p: "file:line: key: why", the
// line of the first value of p refused for that reason, or "--flag: why".
func (e *Experiment) liveError(p Param, vals []string, why string) error {
	if e.flags[p.Name] {
		return fmt.Errorf("--%s: %s", p.Name, why)
	}
	lines := e.lines[p.Name]
	line := 0
	if len(lines) > 0 {
		line = lines[0].line
	}
	// The line of the first value that has this reason.
	for j, v := range vals {
		if p.liveWhy(v) == why && j < len(lines) {
			line = lines[j].line
			break
		}
	}
	if e.File == "" {
		return fmt.Errorf("%s: %s", p.FileKey(), why)
	}
	return fmt.Errorf("%s:%d: %s: %s", e.File, line, p.FileKey(), why)
}

// liveWhy says why only the simulator can run value v of p, or "".
func (p Param) liveWhy(v string) string {
	if p.LiveValue != nil {
		return p.LiveValue(v)
	}
	return p.Live
}
