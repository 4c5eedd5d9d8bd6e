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
	last      time.Time
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
// the first Update.
func (p *Progress) Start() {
	if p.now == nil {
		p.now = time.Now
	}
	p.start = p.now()
	p.last = p.start
}

// Update records that done of total cells are finished, c the latest.
// It has the signature of RunOptions.Progress.
func (p *Progress) Update(done, total int, c Cell, skipped bool) {
	if p.now == nil {
		p.now = time.Now
	}
	now := p.now()
	if p.start.IsZero() {
		p.start, p.last = now, now
	}
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
	if p.TTY {
		pad := ""
		if n := p.width - len(line); n > 0 {
			pad = fmt.Sprintf("%*s", n, "")
		}
		p.width = len(line)
		fmt.Fprintf(p.W, "\r%s%s", line, pad)
		if done == total {
			fmt.Fprintln(p.W)
		}
		return
	}
	if elapsed < p.Quiet {
		return
	}
	every := p.Every
	if every <= 0 {
		every = 10 * time.Second
	}
	due := now.Sub(p.last) >= every || done == total ||
		(p.EveryCells > 0 && done-p.lastCells >= p.EveryCells)
	if !due {
		return
	}
	p.last, p.lastCells = now, done
	fmt.Fprintln(p.W, line)
}

func (p *Progress) label() string {
	if p.Label == "" {
		return "progress"
	}
	return p.Label
}
