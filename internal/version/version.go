// Package version holds the lvslab release version, written into every
// result file so that a figure can be traced to the code that made it.
package version

// Version is the lvslab release. It is a constant, not a build stamp, so
// that simulation outputs stay byte-identical across builds of one release.
const Version = "0.1.0"
