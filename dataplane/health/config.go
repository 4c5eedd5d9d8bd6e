package health

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Check types.
const (
	TypeTCP  = "tcp"  // a TCP connection is accepted
	TypeHTTP = "http" // an HTTP GET answers with an expected status (and body)
	TypeNone = "none" // no check: the server is always up
)

// On-failure actions.
const (
	// ActionRemove marks a failed server down (Pool.SetDown): keepalived's
	// default and HAProxy's behaviour.
	ActionRemove = "remove"
	// ActionInhibit sets a failed server's weight to 0 and restores the
	// administrator's weight when it comes back: keepalived's
	// inhibit_on_failure. The server stays in the table (ipvsadm -L shows
	// it with weight 0) and its connections in progress go on.
	ActionInhibit = "inhibit"
)

// Observe modes.
const (
	ObserveNone = "none" // only the checks decide (default)
	// ObserveLayer4 makes live traffic a check as well (HAProxy's observe
	// layer4): a connection the layer-7 switch fails to open to the
	// server, or that the server closes or resets before answering, is an
	// error, and a connection that answered resets the count.
	ObserveLayer4 = "layer4"
)

// On-error actions: what ErrorLimit consecutive errors seen on live
// traffic do to a server that is up, as HAProxy's on-error does. Each
// also makes the next check run after FastInterval.
const (
	OnErrorFastInter   = "fastinter"    // only the sooner check
	OnErrorFailCheck   = "fail-check"   // counts as one failed check (default)
	OnErrorSuddenDeath = "sudden-death" // one more failed check takes the server down
	OnErrorMarkDown    = "mark-down"    // down at once; Rise checks bring it back
)

// DefaultErrorLimit is HAProxy's error-limit default.
const DefaultErrorLimit = 10

// Initial states.
const (
	InitialUp   = "up"   // keepalived's default, HAProxy's
	InitialDown = "down" // keepalived's alpha: a server must pass Rise checks first
)

// Defaults: HAProxy's (inter 2s, rise 2, fall 3), with the check timeout
// equal to the interval as HAProxy uses inter when "timeout check" is unset.
const (
	DefaultInterval = 2 * time.Second
	DefaultRise     = 2
	DefaultFall     = 3
	DefaultPath     = "/"
	DefaultStatus   = "200-299" // keepalived's HTTP_GET default: any 2xx
)

// MinInterval is the shortest interval and timeout accepted: a duration
// written without a unit (interval: 2) reads as nanoseconds in YAML, so
// anything shorter is taken for that mistake.
const MinInterval = time.Millisecond

// Config is one server's health check, as the services file writes it
// (the yaml tags) and the admin API reports it. The zero value of every
// field selects its default; Resolve fills them in and checks the values.
//
// keepalived's terms map onto it as follows: delay_loop is Interval,
// connect_timeout is Timeout, retry N is Fall N+1 with delay_before_retry
// as FastInterval, one success brings a server back (Rise 1),
// inhibit_on_failure is OnFailure "inhibit", alpha is Initial "down",
// HTTP_GET's url path and status_code are Path and Status. HAProxy's inter,
// fastinter, rise and fall are Interval, FastInterval, Rise and Fall.
type Config struct {
	// Type is "tcp" (default), "http" or "none".
	Type string `yaml:"type" json:"type,omitempty"`
	// Port is the port checked; 0 is the server's own port
	// (keepalived's connect_port).
	Port int `yaml:"port" json:"port,omitempty"`
	// Path is the target of an http check's GET. Default "/".
	Path string `yaml:"path" json:"path,omitempty"`
	// Host is the Host header of an http check; default the server's
	// ADDRESS:PORT.
	Host string `yaml:"host" json:"host,omitempty"`
	// Status lists the statuses that pass an http check: codes and ranges
	// separated by commas ("200", "200-299,304"). Default "200-299".
	Status string `yaml:"status" json:"status,omitempty"`
	// Expect, if not empty, must occur in the first 64 KiB of an http
	// check's response body.
	Expect string `yaml:"expect" json:"expect,omitempty"`
	// Interval is the time from the start of one check to the start of the
	// next (a check that takes longer is followed at once). Default 2 s.
	Interval time.Duration `yaml:"interval" json:"interval_ns,omitempty"`
	// FastInterval replaces Interval while the state is changing (some
	// but not enough consecutive results against the current state), so
	// that a failure is confirmed or a recovery completed sooner.
	// Default Interval.
	FastInterval time.Duration `yaml:"fast_interval" json:"fast_interval_ns,omitempty"`
	// Timeout bounds one check: connection and, for http, the response.
	// Default Interval.
	Timeout time.Duration `yaml:"timeout" json:"timeout_ns,omitempty"`
	// Rise is the number of consecutive successes that bring a down server
	// up. Default 2.
	Rise int `yaml:"rise" json:"rise,omitempty"`
	// Fall is the number of consecutive failures that take an up server
	// down. Default 3.
	Fall int `yaml:"fall" json:"fall,omitempty"`
	// Initial is the state before the first check: "up" (default) or
	// "down".
	Initial string `yaml:"initial" json:"initial,omitempty"`
	// OnFailure is what a failed server gets: "remove" (default; the
	// server is marked down) or "inhibit" (weight 0, restored on return).
	OnFailure string `yaml:"on_failure" json:"on_failure,omitempty"`

	// Observe is "none" (default) or "layer4": see ObserveLayer4. Only the
	// layer-7 switch observes its traffic (the layer-4 director refuses
	// the key: in VS/TUN and VS/DR it never sees a server's replies).
	Observe string `yaml:"observe" json:"observe,omitempty"`
	// ErrorLimit is the number of consecutive errors on live traffic that
	// trigger OnError. Default 10.
	ErrorLimit int `yaml:"error_limit" json:"error_limit,omitempty"`
	// OnError is "fastinter", "fail-check" (default), "sudden-death" or
	// "mark-down".
	OnError string `yaml:"on_error" json:"on_error,omitempty"`
}

// Merge returns c with the non-zero fields of over replacing c's: a
// server's health block refines its service's.
func (c Config) Merge(over Config) Config {
	set := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	setD := func(dst *time.Duration, v time.Duration) {
		if v != 0 {
			*dst = v
		}
	}
	setI := func(dst *int, v int) {
		if v != 0 {
			*dst = v
		}
	}
	set(&c.Type, over.Type)
	setI(&c.Port, over.Port)
	set(&c.Path, over.Path)
	set(&c.Host, over.Host)
	set(&c.Status, over.Status)
	set(&c.Expect, over.Expect)
	setD(&c.Interval, over.Interval)
	setD(&c.FastInterval, over.FastInterval)
	setD(&c.Timeout, over.Timeout)
	setI(&c.Rise, over.Rise)
	setI(&c.Fall, over.Fall)
	set(&c.Initial, over.Initial)
	set(&c.OnFailure, over.OnFailure)
	if over.Observe == ObserveNone {
		c.ErrorLimit, c.OnError = 0, "" // a server that opts out keeps none of the service's observe keys
	}
	set(&c.Observe, over.Observe)
	setI(&c.ErrorLimit, over.ErrorLimit)
	set(&c.OnError, over.OnError)
	return c
}

// Resolve returns c with its defaults filled in, or an error that names
// the offending key as the services file spells it.
func (c Config) Resolve() (Config, error) {
	if c.Type == "" {
		c.Type = TypeTCP
	}
	switch c.Type {
	case TypeTCP, TypeNone:
		if c.Path != "" || c.Host != "" || c.Status != "" || c.Expect != "" {
			return c, fmt.Errorf("path, host, status and expect apply to type http only (type is %s)", c.Type)
		}
	case TypeHTTP:
		if c.Path == "" {
			c.Path = DefaultPath
		}
		if !strings.HasPrefix(c.Path, "/") || strings.ContainsAny(c.Path, " \r\n\t") {
			return c, fmt.Errorf("path %q: want an absolute path without spaces (/health)", c.Path)
		}
		if strings.ContainsAny(c.Host, " \r\n\t") {
			return c, fmt.Errorf("host %q: must not contain spaces", c.Host)
		}
		if c.Status == "" {
			c.Status = DefaultStatus
		}
		if _, err := ParseStatuses(c.Status); err != nil {
			return c, fmt.Errorf("status: %w", err)
		}
	default:
		return c, fmt.Errorf("type %q: want tcp, http or none", c.Type)
	}
	if c.Port < 0 || c.Port > 65535 {
		return c, fmt.Errorf("port %d: want 1 to 65535 (0: the server's port)", c.Port)
	}
	if c.Interval == 0 {
		c.Interval = DefaultInterval
	}
	if c.FastInterval == 0 {
		c.FastInterval = c.Interval
	}
	if c.Timeout == 0 {
		c.Timeout = c.Interval
	}
	for _, d := range []struct {
		key string
		v   time.Duration
	}{{"interval", c.Interval}, {"fast_interval", c.FastInterval}, {"timeout", c.Timeout}} {
		if d.v < MinInterval {
			return c, fmt.Errorf("%s %v: must be at least %v (write a unit: 2s, 500ms)", d.key, d.v, MinInterval)
		}
	}
	if c.Rise == 0 {
		c.Rise = DefaultRise
	}
	if c.Fall == 0 {
		c.Fall = DefaultFall
	}
	if c.Rise < 1 || c.Fall < 1 {
		return c, fmt.Errorf("rise %d, fall %d: both must be at least 1", c.Rise, c.Fall)
	}
	if c.Initial == "" {
		c.Initial = InitialUp
	}
	if c.Initial != InitialUp && c.Initial != InitialDown {
		return c, fmt.Errorf("initial %q: want up or down", c.Initial)
	}
	if c.OnFailure == "" {
		c.OnFailure = ActionRemove
	}
	if c.OnFailure != ActionRemove && c.OnFailure != ActionInhibit {
		return c, fmt.Errorf("on_failure %q: want remove or inhibit", c.OnFailure)
	}
	return c.resolveObserve()
}

// CheckObserver refuses a check that observes traffic (Observe other than
// none) for a host that does not report its traffic to Group.Observe
// (observer false): the layer-4 director, which in VS/TUN and VS/DR never
// sees a server's replies.
func (c Config) CheckObserver(observer bool) error {
	if !observer && c.Observe != "" && c.Observe != ObserveNone {
		return fmt.Errorf("observe %s applies to mode l7 only (the layer-4 director does not see a server's connection errors)", c.Observe)
	}
	return nil
}

// resolveObserve fills in and checks the observe keys.
func (c Config) resolveObserve() (Config, error) {
	if c.Observe == "" {
		c.Observe = ObserveNone
	}
	switch c.Observe {
	case ObserveNone:
		if c.ErrorLimit != 0 || c.OnError != "" {
			return c, errors.New("error_limit and on_error apply with observe: layer4 only")
		}
		return c, nil
	case ObserveLayer4:
	default:
		return c, fmt.Errorf("observe %q: want none or layer4", c.Observe)
	}
	if c.Type == TypeNone {
		return c, errors.New("observe: layer4 needs a check (type tcp or http) to bring a server back")
	}
	if c.ErrorLimit == 0 {
		c.ErrorLimit = DefaultErrorLimit
	}
	if c.ErrorLimit < 1 {
		return c, fmt.Errorf("error_limit %d: must be at least 1", c.ErrorLimit)
	}
	if c.OnError == "" {
		c.OnError = OnErrorFailCheck
	}
	switch c.OnError {
	case OnErrorFastInter, OnErrorFailCheck, OnErrorSuddenDeath, OnErrorMarkDown:
	default:
		return c, fmt.Errorf("on_error %q: want fastinter, fail-check, sudden-death or mark-down", c.OnError)
	}
	return c, nil
}

// Describe returns a short text of the check ("tcp", "http GET /health").
func (c Config) Describe() string {
	s := c.Type
	if c.Type == TypeHTTP {
		s += " GET " + c.Path
	}
	if c.Port != 0 {
		s += " port " + strconv.Itoa(c.Port)
	}
	if c.Observe == ObserveLayer4 {
		s += fmt.Sprintf(", observe layer4 (%d errors: %s)", c.ErrorLimit, c.OnError)
	}
	return s
}

// Statuses is a set of HTTP status codes, as inclusive ranges.
type Statuses [][2]int

// ParseStatuses parses "200", "200-299" or a comma-separated list of
// codes and ranges. Every code is between 100 and 599.
func ParseStatuses(s string) (Statuses, error) {
	if strings.TrimSpace(s) == "" {
		return nil, errors.New("empty: want codes or ranges such as 200 or 200-299,304")
	}
	var out Statuses
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		lo, hi, isRange := strings.Cut(part, "-")
		a, err1 := strconv.Atoi(strings.TrimSpace(lo))
		b := a
		var err2 error
		if isRange {
			b, err2 = strconv.Atoi(strings.TrimSpace(hi))
		}
		switch {
		case err1 != nil || err2 != nil:
			return nil, fmt.Errorf("%q: want a code (200) or a range (200-299)", part)
		case a < 100 || b > 599 || a > b:
			return nil, fmt.Errorf("%q: codes are 100 to 599, a range low-high", part)
		}
		out = append(out, [2]int{a, b})
	}
	return out, nil
}

// Has reports whether code is in the set.
func (s Statuses) Has(code int) bool {
	for _, r := range s {
		if code >= r[0] && code <= r[1] {
			return true
		}
	}
	return false
}
