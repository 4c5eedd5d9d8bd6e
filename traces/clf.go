package traces

import (
	"bytes"
	"time"
)

// clfState is the per-reader state of the Common/Combined Log Format parser:
// a one-entry cache of the last timestamp (consecutive lines usually share
// their second) and the fixed zones seen.
type clfState struct {
	lastTS   []byte
	lastTime time.Time
	zones    map[int]*time.Location
}

// parse parses one line of NCSA Common Log Format
//
//	host ident authuser [02/Sep/2003:00:00:09 -0700] "GET / HTTP/1.1" 200 11690
//
// optionally followed by the Combined fields ` "referer" "user-agent"` and
// anything else (ignored). It returns whether the Combined fields were
// present, and the reason the line does not parse ("" if it does).
//
// Real logs contain quotes inside the request line (escaped or not), request
// lines without a protocol, IPv6 clients, '-' byte counts, user fields with
// spaces, zones such as +0545, and truncated user agents; all of these parse.
// The request line ends at the first quote followed by a space, a three-digit
// status and a space.
func (st *clfState) parse(b []byte, rec *Record) (combined bool, reason string) {
	if len(b) == 0 {
		return false, "empty line"
	}
	sp := bytes.IndexByte(b, ' ')
	if sp <= 0 {
		return false, "no host field"
	}
	rec.Host = str(b[:sp])
	rest := b[sp+1:]

	lb := bytes.IndexByte(rest, '[')
	if lb < 0 {
		return false, "no [time] field"
	}
	rb := bytes.IndexByte(rest[lb:], ']')
	if rb < 0 {
		return false, "unterminated [time] field"
	}
	t, why := st.time(rest[lb+1 : lb+rb])
	if why != "" {
		return false, why
	}
	rec.Time = t
	rest = rest[lb+rb+1:]

	if len(rest) < 2 || rest[0] != ' ' || rest[1] != '"' {
		return false, `no quoted request after [time]`
	}
	rest = rest[2:]
	end := -1
	for off := 0; off < len(rest); {
		q := bytes.IndexByte(rest[off:], '"')
		if q < 0 {
			break
		}
		p := off + q
		if statusFollows(rest[p+1:]) {
			end = p
			break
		}
		off = p + 1
	}
	if end < 0 {
		return false, "request line not followed by status and bytes"
	}
	if why := splitRequest(rest[:end], rec); why != "" {
		return false, why
	}
	rest = rest[end+2:] // past `" `
	rec.Status = int(rest[0]-'0')*100 + int(rest[1]-'0')*10 + int(rest[2]-'0')
	rest = rest[4:]

	// bytes: digits or '-', up to a space or the end.
	n := bytes.IndexByte(rest, ' ')
	if n < 0 {
		n = len(rest)
	}
	bf := rest[:n]
	switch {
	case len(bf) == 1 && bf[0] == '-':
		rec.Bytes = -1
	default:
		v, ok := parseUint(bf)
		if !ok {
			return false, "bytes field is neither a number nor '-'"
		}
		rec.Bytes = v
	}
	rest = rest[n:]

	// Combined: ` "referer" "user-agent"`; tolerated when truncated.
	if len(rest) >= 2 && rest[0] == ' ' && rest[1] == '"' {
		rest = rest[2:]
		q := closingQuote(rest)
		if q < 0 {
			rec.Referer = str(rest)
			return false, ""
		}
		rec.Referer = str(rest[:q])
		rest = rest[q+1:]
		if len(rest) >= 2 && rest[0] == ' ' && rest[1] == '"' {
			rest = rest[2:]
			q := closingQuote(rest)
			if q < 0 {
				q = len(rest) // truncated user agent
			}
			rec.UserAgent = str(rest[:q])
			return true, ""
		}
	}
	return false, ""
}

// closingQuote returns the index of the quote ending a quoted field of b:
// the first '"' followed by a space or the end of the line and not escaped by
// a backslash, or -1.
func closingQuote(b []byte) int {
	for off := 0; off < len(b); {
		q := bytes.IndexByte(b[off:], '"')
		if q < 0 {
			return -1
		}
		p := off + q
		if (p == 0 || b[p-1] != '\\') && (p+1 == len(b) || b[p+1] == ' ') {
			return p
		}
		off = p + 1
	}
	return -1
}

// statusFollows reports whether b starts with a space, three digits and a space.
func statusFollows(b []byte) bool {
	return len(b) >= 5 && b[0] == ' ' && isDigit(b[1]) && isDigit(b[2]) && isDigit(b[3]) && b[4] == ' '
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// parseUint parses a non-empty decimal number of at most 18 digits.
func parseUint(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 18 {
		return 0, false
	}
	var v int64
	for _, c := range b {
		if !isDigit(c) {
			return 0, false
		}
		v = v*10 + int64(c-'0')
	}
	return v, true
}

// splitRequest splits a request line "METHOD URL [PROTO]" into rec. The URL
// may contain spaces and quotes; the protocol is the last word when it starts
// with "HTTP/".
func splitRequest(req []byte, rec *Record) string {
	if len(req) == 0 || (len(req) == 1 && req[0] == '-') {
		return "empty request line"
	}
	sp := bytes.IndexByte(req, ' ')
	if sp <= 0 {
		return "request line has no URL"
	}
	rec.Method = str(req[:sp])
	url := bytes.Trim(req[sp+1:], " ")
	if ls := bytes.LastIndexByte(url, ' '); ls >= 0 && bytes.HasPrefix(url[ls+1:], []byte("HTTP/")) {
		rec.Proto = str(url[ls+1:])
		url = bytes.TrimRight(url[:ls], " ")
	} else if bytes.HasPrefix(url, []byte("HTTP/")) {
		return "request line has no URL"
	}
	if len(url) == 0 {
		return "request line has no URL"
	}
	rec.URL = str(url)
	return ""
}

var monthIndex = [...]string{"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"}

// time parses a CLF timestamp "02/Sep/2003:00:00:09 -0700". The day may have
// one digit, the seconds a fraction; the zone may be ±hhmm, ±hh:mm, ±hh, Z,
// UTC or GMT, or be missing (UTC).
func (st *clfState) time(ts []byte) (time.Time, string) {
	if st.lastTS != nil && bytes.Equal(ts, st.lastTS) {
		return st.lastTime, ""
	}
	t, ok := st.parseTime(ts)
	if !ok {
		return time.Time{}, "bad [time] field"
	}
	st.lastTS = append(st.lastTS[:0], ts...)
	st.lastTime = t
	return t, ""
}

func (st *clfState) parseTime(b []byte) (time.Time, bool) {
	i := 0
	num := func(min, max int) (int, bool) {
		start := i
		v := 0
		for i < len(b) && isDigit(b[i]) && i-start < max {
			v = v*10 + int(b[i]-'0')
			i++
		}
		return v, i-start >= min
	}
	expect := func(c byte) bool {
		if i < len(b) && b[i] == c {
			i++
			return true
		}
		return false
	}
	day, ok := num(1, 2)
	if !ok || !expect('/') || i+3 > len(b) {
		return time.Time{}, false
	}
	month := 0
	for m, name := range monthIndex {
		if (b[i]|0x20) == name[0] && (b[i+1]|0x20) == name[1] && (b[i+2]|0x20) == name[2] {
			month = m + 1
			break
		}
	}
	i += 3
	if month == 0 || !expect('/') {
		return time.Time{}, false
	}
	year, ok := num(4, 4)
	if !ok || !expect(':') {
		return time.Time{}, false
	}
	hour, ok1 := num(2, 2)
	ok2 := expect(':')
	min, ok3 := num(2, 2)
	ok4 := expect(':')
	sec, ok5 := num(2, 2)
	if !(ok1 && ok2 && ok3 && ok4 && ok5) || hour > 23 || min > 59 || sec > 60 ||
		day < 1 || day > daysIn(year, month) {
		return time.Time{}, false
	}
	nsec := 0
	if expect('.') {
		start := i
		scale := 100000000
		for i < len(b) && isDigit(b[i]) {
			nsec += int(b[i]-'0') * scale
			scale /= 10
			i++
		}
		if i == start {
			return time.Time{}, false
		}
	}
	off, ok := 0, true
	if i < len(b) {
		if !expect(' ') {
			return time.Time{}, false
		}
		off, ok = parseZone(b[i:])
		if !ok {
			return time.Time{}, false
		}
	}
	unix := daysFromCivil(year, month, day)*86400 + int64(hour*3600+min*60+sec) - int64(off)
	return time.Unix(unix, int64(nsec)).In(st.zone(off)), true
}

// parseZone parses ±hhmm, ±hh:mm, ±hh, Z, UTC or GMT into seconds east of UTC.
func parseZone(z []byte) (int, bool) {
	switch string(z) {
	case "Z", "UTC", "GMT", "z", "utc", "gmt":
		return 0, true
	}
	if len(z) < 3 || (z[0] != '+' && z[0] != '-') {
		return 0, false
	}
	d := z[1:]
	if len(d) == 5 && d[2] == ':' {
		d = []byte{d[0], d[1], d[3], d[4]}
	}
	if len(d) != 2 && len(d) != 4 {
		return 0, false
	}
	for _, c := range d {
		if !isDigit(c) {
			return 0, false
		}
	}
	h := int(d[0]-'0')*10 + int(d[1]-'0')
	m := 0
	if len(d) == 4 {
		m = int(d[2]-'0')*10 + int(d[3]-'0')
	}
	if h > 23 || m > 59 {
		return 0, false
	}
	off := h*3600 + m*60
	if z[0] == '-' {
		off = -off
	}
	return off, true
}

func (st *clfState) zone(off int) *time.Location {
	if off == 0 {
		return time.UTC
	}
	if loc, ok := st.zones[off]; ok {
		return loc
	}
	if st.zones == nil {
		st.zones = map[int]*time.Location{}
	}
	loc := time.FixedZone("", off)
	if len(st.zones) < 64 { // bounded: fuzzed or hostile logs cannot grow it
		st.zones[off] = loc
	}
	return loc
}

func isLeap(y int) bool { return y%4 == 0 && (y%100 != 0 || y%400 == 0) }

func daysIn(y, m int) int {
	switch m {
	case 2:
		if isLeap(y) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// daysFromCivil returns the days since 1970-01-01 of a proleptic Gregorian
// date (Howard Hinnant's algorithm).
func daysFromCivil(y, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 {
		era = (y - 399) / 400
	}
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era)*146097 + int64(doe) - 719468
}
