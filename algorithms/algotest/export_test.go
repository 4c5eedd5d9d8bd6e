package algotest

// SplitHost makes RunConcurrent's host release its lock between Schedule
// and Begin, for the suite's own tests.
var SplitHost = splitHost
