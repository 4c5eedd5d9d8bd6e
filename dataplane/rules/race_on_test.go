//go:build race

package rules

// raceEnabled reports whether the race detector is on: it makes sync.Pool
// drop items at random, so regexp matching allocates now and then.
const raceEnabled = true
