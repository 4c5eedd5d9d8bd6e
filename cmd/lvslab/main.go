// Command lvslab is a laboratory for cluster load-balancing schedulers:
// a trace-driven simulator, a scheduler playground and web-log tools.
//
// Run "lvslab --help" for the commands.
package main

import (
	"fmt"
	"os"
)

func main() {
	if err := newRootCmd().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "lvslab:", err)
		os.Exit(1)
	}
}
