package l7

import "fmt"

// Engine is how a switch runs its connections.
type Engine int

const (
	// EngineDefault selects DefaultEngine.
	EngineDefault Engine = iota
	// EngineGoroutine serves each client connection on its own goroutine,
	// with the runtime's network poller.
	EngineGoroutine
	// EngineEpoll runs one event loop per listener, each on its own OS
	// thread with its own epoll instance and back-end pools (Linux only).
	EngineEpoll
)

// DefaultEngine is the engine of a Config whose Engine is EngineDefault:
// EngineEpoll where it is supported, else EngineGoroutine. Set it before
// New (lvslab director's --engine flag does).
var DefaultEngine = platformEngine

var engineNames = map[Engine]string{EngineDefault: "default", EngineGoroutine: "goroutine", EngineEpoll: "epoll"}

func (e Engine) String() string {
	if n, ok := engineNames[e]; ok {
		return n
	}
	return fmt.Sprintf("Engine(%d)", int(e))
}

// Set parses a name ("epoll", "goroutine"), so that an Engine is a flag
// value.
func (e *Engine) Set(name string) error {
	for _, c := range Engines() {
		if c.String() == name {
			*e = c
			return nil
		}
	}
	if name == EngineEpoll.String() {
		return fmt.Errorf("engine %q is not supported on this system; want goroutine", name)
	}
	return fmt.Errorf("unknown engine %q; want %s", name, engineList())
}

// Type names the value in flag help.
func (e *Engine) Type() string { return "engine" }

// Engines returns the engines supported on this system.
func Engines() []Engine {
	if epollSupported {
		return []Engine{EngineEpoll, EngineGoroutine}
	}
	return []Engine{EngineGoroutine}
}

func engineList() string {
	s := ""
	for i, e := range Engines() {
		if i > 0 {
			s += " or "
		}
		s += e.String()
	}
	return s
}
