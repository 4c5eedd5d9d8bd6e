package traces

import (
	"strconv"
	"time"
)

// AppendCLF appends rec as one NCSA Common Log Format line, with a trailing
// newline, to dst:
//
//	host - - [02/Sep/2003:00:00:09 -0700] "GET / HTTP/1.1" 200 11690
//
// An empty host is written as '-' (spaces in a host as '_'), a zero time as the Unix epoch, an empty
// method as GET, a missing protocol is left out, and a byte count below 0 as
// '-'; the status has three digits. The URL is written as logged. Reading the line back gives the same
// host, time, method, URL, protocol, status and bytes.
func AppendCLF(dst []byte, rec *Record) []byte {
	host := rec.Host
	if host == "" {
		host = "-"
	}
	for i := 0; i < len(host); i++ { // a host with a space would not read back
		if c := host[i]; c == ' ' || c == '\t' {
			dst = append(dst, '_')
		} else {
			dst = append(dst, c)
		}
	}
	dst = append(dst, " - - ["...)
	t := rec.Time
	if t.IsZero() {
		t = time.Unix(0, 0).UTC()
	}
	dst = t.AppendFormat(dst, "02/Jan/2006:15:04:05 -0700")
	dst = append(dst, `] "`...)
	method := rec.Method
	if method == "" {
		method = "GET"
	}
	dst = append(dst, method...)
	dst = append(dst, ' ')
	dst = append(dst, rec.URL...)
	if rec.Proto != "" {
		dst = append(dst, ' ')
		dst = append(dst, rec.Proto...)
	}
	dst = append(dst, `" `...)
	st := min(max(rec.Status, 0), 999) // three digits, as CLF readers expect
	dst = append(dst, byte('0'+st/100), byte('0'+st/10%10), byte('0'+st%10))
	dst = append(dst, ' ')
	if rec.Bytes < 0 {
		dst = append(dst, '-')
	} else {
		dst = strconv.AppendInt(dst, rec.Bytes, 10)
	}
	return append(dst, '\n')
}
