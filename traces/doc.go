// Package traces reads web-server logs and turns them into workloads for the
// simulator and the testbed, and characterises them.
//
// # Reading logs
//
// A [Reader] streams one log in constant memory: NCSA Common Log Format and
// Combined Log Format (told apart per file from the first parsed line), or
// comma- or tab-separated logs through a column mapping ([ParseColumns]), so
// that logs such as SEC EDGAR's CSV files can be read without conversion.
// Any of them may be gzip-compressed; compression is recognised by its magic
// bytes, never by the file name. A line that cannot be parsed is reported as
// a [*ParseError] naming the file and line, and reading goes on; a truncated
// or corrupt gzip stream is an I/O error naming the file. A log with no line
// at all, or none that parses (binary data, another format, the wrong column
// mapping), ends in an error wrapping [ErrEmpty] or [ErrNotLog], never in an
// empty workload. Times are read for the years 0000-9999, the years a log
// writes; [Escape] makes strings from logs safe to print.
//
//	rd, err := traces.Open("access.log.gz", traces.Format{})
//	...
//	defer rd.Close()
//	for {
//		rec, err := rd.Next()
//		if err == io.EOF {
//			break
//		}
//		var pe *traces.ParseError
//		if errors.As(err, &pe) {
//			continue // counted, reported
//		}
//		if err != nil {
//			return err
//		}
//		use(rec) // rec's strings alias the reader's buffer until the next Next
//	}
//
// # Workloads
//
// [Load] (files) and [LoadReader] (any io.Reader) apply a [Filter] and build
// a [Workload], the contract with package sim. [ReferenceFilter] is the
// workload rule of the reference cluster model (docs/reference-model.md,
// thesis §6.3.7): GET, status 200, a byte count greater than zero, dynamic
// requests ('?' or "cgi-bin") removed; target = URL up to the first '?' or
// '#', as logged; one size per target, the largest logged.
//
// # Characterisation
//
// [Characterize] computes a [Summary] (lines, drops by reason, targets,
// working set, status and method mix, popularity skew with a least-squares
// Zipf fit ([models.FitZipf], the estimator [FitSynthDetail] uses too, so a
// log reports one alpha), size percentiles) in one streaming pass, and
// [HitRatioCurve] the LRU hit-ratio curve of a workload by byte-weighted
// Mattson stack distances.
package traces
