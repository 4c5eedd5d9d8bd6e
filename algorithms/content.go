package algorithms

import (
	"fmt"
	"time"
)

// Content is content-based scheduling (thesis §6.3.6): requests of
// different kinds go to different servers, e.g. CGI requests to the CGI
// servers, and among the servers of its kind a request goes to the
// least-connection one:
//
//	if definedServerSet[r] == ∅ { n = least-connection node in defaultServerSet }
//	else { n = least-connection node in definedServerSet[r] }
//
// The defined sets are Options.Classes, keyed by Request.Class. A class
// that is not in Classes, or maps to an empty list, uses the default set:
// the pool's servers that no class names, or the whole pool when every
// server is named. Only usable servers are picked; ties go to the server
// earliest in the pool. A request whose set has no usable server gets
// ErrNoServer (it is not sent outside its set). Class lists may name
// servers that are not (yet) in the pool; they are ignored until added.
type Content struct {
	groups contentGroups
}

// ContentLBLCR is the improved content-based scheduling of thesis §6.3.6:
// LBLC/R ([LBLCR]) restricted to the request's static server set (the
// defined set of its class, or the default set, as for [Content]). Each
// static set has its own serverSet table keyed by Request.Key; the
// imbalance test's "some node with conns < low" and the least-connection
// node added on imbalance range over the static set's usable servers.
// Each table is bounded as [LBLCR]'s is (Options.MaxEntries targets,
// Options.TableExpiry), and ages only when its class is scheduled.
type ContentLBLCR struct {
	th     locThresholds
	groups contentGroups
	opts   Options // for the tables of classes, made on first use
	dflt   locSets
	class  map[string]*locSets
}

var (
	_ Scheduler = (*Content)(nil)
	_ Scheduler = (*ContentLBLCR)(nil)

	errContentNoServer      = fmt.Errorf("content: %w", ErrNoServer)
	errContentLBLCRNoServer = fmt.Errorf("content-lblcr: %w", ErrNoServer)
)

// NewContent returns a content-based scheduler over opts.Classes.
func NewContent(opts Options) *Content {
	return &Content{groups: newContentGroups(opts.Classes)}
}

// Name returns "content".
func (*Content) Name() string { return "content" }

// Schedule returns the least-connection usable server of r.Class's set.
func (c *Content) Schedule(_ time.Duration, r *Request, p *Pool) (ServerID, error) {
	_, cands := c.groups.usable(p, contentClass(r))
	i, ok := locLeast(p, cands, locThresholds{})
	if !ok {
		return 0, errContentNoServer
	}
	return p.At(i).ID, nil
}

// NewContentLBLCR returns the improved content-based scheduler. It reads
// Options.Classes, Options.Low, Options.High, Options.SetExpiry,
// Options.MaxEntries and Options.TableExpiry.
func NewContentLBLCR(opts Options) (*ContentLBLCR, error) {
	th, err := newLocThresholds("content-lblcr", opts)
	if err != nil {
		return nil, err
	}
	dflt, err := newLocSets("content-lblcr", opts)
	if err != nil {
		return nil, err
	}
	return &ContentLBLCR{
		th:     th,
		groups: newContentGroups(opts.Classes),
		opts:   Options{SetExpiry: opts.SetExpiry, MaxEntries: opts.MaxEntries, TableExpiry: opts.TableExpiry},
		dflt:   dflt,
		class:  make(map[string]*locSets),
	}, nil
}

// Name returns "content-lblcr".
func (*ContentLBLCR) Name() string { return "content-lblcr" }

// Schedule runs LBLC/R for r.Key within r.Class's static server set.
func (c *ContentLBLCR) Schedule(now time.Duration, r *Request, p *Pool) (ServerID, error) {
	class, cands := c.groups.usable(p, contentClass(r))
	id, ok := locSchedule(c.table(class, true), now, locKey(r), p, cands, c.th)
	if !ok {
		return 0, errContentLBLCRNoServer
	}
	return id, nil
}

// Set returns a copy of the server set of target key within class's
// static set, in the order the members were added, or nil.
func (c *ContentLBLCR) Set(class, key string) []ServerID {
	cl, _ := c.groups.resolve(class)
	if t := c.table(cl, false); t != nil {
		return t.members(key)
	}
	return nil
}

// table returns the serverSet table of a resolved class ("" with
// defined=false being the default set); create makes a missing one.
func (c *ContentLBLCR) table(class contentGroup, create bool) *locSets {
	if !class.defined {
		return &c.dflt
	}
	t := c.class[class.name]
	if t == nil && create {
		s, _ := newLocSets("content-lblcr", c.opts) // validated by NewContentLBLCR
		t = &s
		c.class[class.name] = t
	}
	return t
}

func init() {
	Register(Info{
		Name:        "content",
		Description: "content-based: least-connection server within the request class's defined server set",
		Source:      "thesis §6.3.6",
		New:         func(o Options) (Scheduler, error) { return NewContent(o), nil },
	})
	Register(Info{
		Name:        "content-lblcr",
		Description: "improved content-based: LBLC/R restricted to the request class's server set",
		Source:      "thesis §6.3.6",
		New:         func(o Options) (Scheduler, error) { return NewContentLBLCR(o) },
	})
}

func contentClass(r *Request) string {
	if r == nil {
		return ""
	}
	return r.Class
}

// contentGroup names a static server set: a defined class or the default.
type contentGroup struct {
	name    string
	defined bool
}

// contentGroups resolves classes to the usable servers of their static
// sets, cached per pool generation.
type contentGroups struct {
	classes map[string]map[ServerID]bool // non-empty defined sets
	named   map[ServerID]bool            // servers named by some class

	gen   uint64
	valid bool
	stamp uint64                   // counts refreshes: a cache entry is current if it has this stamp
	dflt  []int                    // usable positions of the default set
	cache map[string]*contentCache // usable positions of defined sets, filled lazily
}

// contentCache is the usable positions of one defined set, current when
// stamp is the groups' stamp. Entries are kept and refilled in place when
// the pool changes, so a refresh allocates nothing once a class has been
// seen.
type contentCache struct {
	stamp uint64
	pos   []int
}

func newContentGroups(classes map[string][]ServerID) contentGroups {
	g := contentGroups{
		classes: make(map[string]map[ServerID]bool),
		named:   make(map[ServerID]bool),
		cache:   make(map[string]*contentCache),
	}
	for name, ids := range classes {
		if len(ids) == 0 {
			continue // an empty defined set is ∅: the default set applies
		}
		set := make(map[ServerID]bool, len(ids))
		for _, id := range ids {
			set[id] = true
			g.named[id] = true
		}
		g.classes[name] = set
	}
	return g
}

// resolve maps a request class to its static set.
func (g *contentGroups) resolve(class string) (contentGroup, map[ServerID]bool) {
	if set, ok := g.classes[class]; ok {
		return contentGroup{name: class, defined: true}, set
	}
	return contentGroup{}, nil
}

// usable returns the static set of class and the positions of its usable
// servers in pool order (owned by g, valid until the pool changes).
func (g *contentGroups) usable(p *Pool, class string) (contentGroup, []int) {
	if !g.valid || g.gen != p.Generation() {
		g.gen, g.valid = p.Generation(), true
		g.stamp++
		g.dflt = locPositions(g.dflt, p)
		all := true
		for i := range p.Servers() {
			if !g.named[p.At(i).ID] {
				all = false
				break
			}
		}
		for i := range p.Servers() {
			if s := p.At(i); s.Usable() && (all || !g.named[s.ID]) {
				g.dflt = append(g.dflt, i)
			}
		}
	}
	grp, set := g.resolve(class)
	if !grp.defined {
		return grp, g.dflt
	}
	c := g.cache[class]
	if c == nil {
		c = &contentCache{}
		g.cache[class] = c
	}
	if c.stamp != g.stamp {
		c.stamp, c.pos = g.stamp, locPositions(c.pos, p)
		for i := range p.Servers() {
			if s := p.At(i); s.Usable() && set[s.ID] {
				c.pos = append(c.pos, i)
			}
		}
	}
	return grp, c.pos
}
