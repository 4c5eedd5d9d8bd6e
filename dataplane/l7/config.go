package l7

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/lvslab/lvslab/algorithms"
	"github.com/lvslab/lvslab/dataplane/httpx"
	"github.com/lvslab/lvslab/dataplane/rules"
)

// Config configures a Switch. The zero value of every field selects its
// default.
type Config struct {
	// Limits bound request heads (414 and 431 beyond them).
	Limits httpx.Limits

	// ClientTimeout bounds the wait for a complete request head, from the
	// first wait for it (so a slow client cannot stretch it), and for each
	// read of a request body. A new connection that sends no complete
	// request in time gets 408; an idle keep-alive connection is closed
	// silently. Default 10 s. (EngineEpoll defers accepting a connection
	// until its first bytes arrive, for at most about a second, so a
	// client that sends nothing meets this timeout that much later.)
	ClientTimeout time.Duration

	// ConnectTimeout bounds a connection attempt to a back end (502 when
	// it fails). Default 3 s.
	ConnectTimeout time.Duration

	// BackendTimeout bounds the wait for each read from a back end: 504 if
	// nothing of the response was relayed yet, else the client connection
	// is closed. Default 30 s.
	BackendTimeout time.Duration

	// MaxIdle is the number of idle keep-alive connections kept per back
	// end (per back end and event loop with EngineEpoll). Default 64.
	MaxIdle int

	// IdleBackendTimeout drops pooled back-end connections unused for this
	// long (back ends close idle connections themselves; reusing a stale
	// one costs a retry). Default 30 s.
	IdleBackendTimeout time.Duration

	// Rules, if not nil, classify requests by target (Request.Class is the
	// matched rule's class) for content-based scheduling.
	Rules *rules.Set

	// Engine is how connections are run; EngineDefault selects
	// DefaultEngine.
	Engine Engine

	// Observe, if not nil, is told the outcome of every new connection to
	// a back end: nil when the first response head arrived on it, else the
	// error when it could not be opened or the back end closed or reset it
	// before answering (passive health checking: health.Group.Observe).
	// A connection that opens and is then reset is thus one error, not a
	// success followed by an error.
	Observe func(id algorithms.ServerID, err error)

	// Logf, if not nil, receives one line per unusual event (a back end
	// failing, a malformed response). Client errors are only counted.
	Logf func(format string, args ...any)
}

// Defaults.
const (
	DefaultClientTimeout      = 10 * time.Second
	DefaultConnectTimeout     = 3 * time.Second
	DefaultBackendTimeout     = 30 * time.Second
	DefaultMaxIdle            = 64
	DefaultIdleBackendTimeout = 30 * time.Second
)

// withDefaults returns c with zero fields set to their defaults.
func (c Config) withDefaults() Config {
	c.Limits = c.Limits.WithDefaults()
	if c.ClientTimeout == 0 {
		c.ClientTimeout = DefaultClientTimeout
	}
	if c.ConnectTimeout == 0 {
		c.ConnectTimeout = DefaultConnectTimeout
	}
	if c.BackendTimeout == 0 {
		c.BackendTimeout = DefaultBackendTimeout
	}
	if c.MaxIdle == 0 {
		c.MaxIdle = DefaultMaxIdle
	}
	if c.IdleBackendTimeout == 0 {
		c.IdleBackendTimeout = DefaultIdleBackendTimeout
	}
	if c.Engine == EngineDefault {
		c.Engine = DefaultEngine
	}
	return c
}

func (c Config) validate() error {
	switch {
	case c.ClientTimeout < 0, c.ConnectTimeout < 0, c.BackendTimeout < 0, c.IdleBackendTimeout < 0:
		return errors.New("l7: timeouts must be positive (0 selects the default)")
	case c.MaxIdle < 0:
		return fmt.Errorf("l7: MaxIdle %d must be >= 0", c.MaxIdle)
	case c.Engine != EngineDefault && !slices.Contains(Engines(), c.Engine):
		return fmt.Errorf("l7: engine %v is not supported on this system; want %s", c.Engine, engineList())
	}
	return c.Limits.Validate()
}
