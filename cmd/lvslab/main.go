// Command lvslab is a laboratory for cluster load-balancing schedulers:
// a trace-driven simulator, a scheduler playground and web-log tools.
//
// Run "lvslab --help" for the commands.
package main

import (
	"fmt"
	"io"
	"os"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

// run executes lvslab with args and returns its exit status: 0, or 1 after
// printing the error to stderr.
func run(args []string, stdout, stderr io.Writer) int {
	cmd := newRootCmd()
	cmd.SetArgs(args)
	cmd.SetOut(stdout)
	cmd.SetErr(stderr)
	if err := cmd.Execute(); err != nil {
		fmt.Fprintln(stderr, "lvslab:", err)
		return 1
	}
	return 0
}
