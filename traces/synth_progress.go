package traces

// SynthProgress is how far SynthesizeProgress has gone: Done of Total
// requests generated in the pass Phase. With Cover, the request process is
// drawn once to count (SynthCounting) and once, rarely twice, to place the
// covering requests (SynthPlacing) before the pass that writes
// (SynthWriting); without Cover there is only the writing pass.
type SynthProgress struct {
	Phase       string
	Done, Total int
}

// The phases of SynthProgress.
const (
	SynthCounting = "cover: counting"
	SynthPlacing  = "cover: placing"
	SynthWriting  = "writing"
)

// SynthProgressEvery is how many requests of a pass go between two calls
// of SynthesizeProgress's progress function.
const SynthProgressEvery = 1 << 16

// reportSynth calls progress at the start of request i of a pass of total
// requests when i is a multiple of SynthProgressEvery, and at its end
// (i == total).
func reportSynth(progress func(SynthProgress), phase string, i, total int) {
	if progress != nil && (i%SynthProgressEvery == 0 || i == total) {
		progress(SynthProgress{Phase: phase, Done: i, Total: total})
	}
}
