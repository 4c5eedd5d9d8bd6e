package workbench

import (
	"fmt"
	"io"
	"os"
	"time"

	"golang.org/x/term"
)

// Progress reports a long run's progress. On a terminal it rewrites one
// line in place ("\r"); elsewhere (a log file, a batch job) it prints a
// plain line every Every of wall time or every EveryCells cells, whichever
// comes first, and a last line when the run ends. With Quiet, a run that
// ends within Quiet prints no plain line at all.
type Progress struct {
	W          io.Writer
	TTY        bool
	Every      time.Duration // plain mode: at most one line per Every (default 10 s)
	EveryCells int           // plain mode: a line every this many cells (0: time only)
	Label      string        // prefix of every line ("sweep")
	Quiet      time.Duration // plain mode: no line before the run has lasted this long

	now       func() time.Time
	start     time.Time
	last      time.Time // last plain line
	lastTTY   time.Time // last terminal line
	lastCells int
	width     int
	skipped   int
}

// IsTerminal reports whether w is a terminal (golang.org/x/term).
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// Start records that the run starts now: elapsed time, the estimate of
// the time left and Quiet count from here. Without Start they count from
// the first Update or Report.
func (p *Progress) Start() {
	p.start = time.Time{}
	p.clock()
}

// Update records that done of total cells are finished, c the latest.
// It has the signature of RunOptions.Progress.
func (p *Progress) Update(done, total int, c Cell, skipped bool) {
	now := p.clock()
	if skipped {
		p.skipped++
	}
	elapsed := now.Sub(p.start)
	line := fmt.Sprintf("%s: %d/%d cells (%.0f%%)", p.label(), done, total, 100*float64(done)/float64(max(total, 1)))
	if p.skipped > 0 {
		line += fmt.Sprintf(", %d already done", p.skipped)
	}
	line += fmt.Sprintf(", %s elapsed", elapsed.Round(time.Second))
	if ran := done - p.skipped; ran > 0 && done < total {
		eta := time.Duration(float64(elapsed) / float64(ran) * float64(total-done))
		line += fmt.Sprintf(", ~%s left", eta.Round(time.Second))
	}
	line += ", last " + c.String()
	if p.print(now, line, done == total, p.EveryCells > 0 && done-p.lastCells >= p.EveryCells) {
		p.lastCells = done
	}
}

// Report records that done of total units of work (lines written,
// requests drawn: unit names them) are finished, note saying what is
// being done. It prints as Update does, a line on a terminal at most
// every 200 ms since Report is meant to be called often.
func (p *Progress) Report(done, total int64, unit, note string) {
	now := p.clock()
	finished := done >= total
	if p.TTY && !finished && now.Sub(p.lastTTY) < 200*time.Millisecond {
		return
	}
	elapsed := now.Sub(p.start)
	line := fmt.Sprintf("%s: %d/%d %s (%.0f%%), %s elapsed", p.label(), done, total, unit,
		100*float64(done)/float64(max(total, 1)), elapsed.Round(time.Second))
	if done > 0 && !finished {
		eta := time.Duration(float64(elapsed) / float64(done) * float64(total-done))
		line += fmt.Sprintf(", ~%s left", eta.Round(time.Second))
	}
	if note != "" {
		line += ", " + note
	}
	p.print(now, line, finished, false)
}

func (p *Progress) clock() time.Time {
	if p.now == nil {
		p.now = time.Now
	}
	now := p.now()
	if p.start.IsZero() {
		p.start, p.last = now, now
	}
	return now
}

// print writes line: on a terminal in place, else when it is due (Every
// since the last line, the run finished, or due) and the run has lasted
// Quiet. It reports whether it wrote a plain line.
func (p *Progress) print(now time.Time, line string, finished, due bool) bool {
	if p.TTY {
		pad := ""
		if n := p.width - len(line); n > 0 {
			pad = fmt.Sprintf("%*s", n, "")
		}
		p.width = len(line)
		p.lastTTY = now
		fmt.Fprintf(p.W, "\r%s%s", line, pad)
		if finished {
			fmt.Fprintln(p.W)
		}
		return false
	}
	if now.Sub(p.start) < p.Quiet {
		return false
	}
	every := p.Every
	if every <= 0 {
		every = 10 * time.Second
	}
	if !due && !finished && now.Sub(p.last) < every {
		return false
	}
	p.last = now
	fmt.Fprintln(p.W, line)
	return true
}

func (p *Progress) label() string {
	if p.Label == "" {
		return "progress"
	}
	return p.Label
}
