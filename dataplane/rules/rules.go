// Package rules reads TCPHA-style content rules and schedules requests by
// them (content-based scheduling, thesis §6.3.6).
//
// # The file
//
// One directive per line; blank lines and lines starting with '#' are
// ignored:
//
//	# images and downloads on the big-disk servers, CGI on its own server
//	group = disks rs2 rs3
//	rule = disks \.(gif|jpg|png)$
//	rule = rs4 ^/cgi-bin/
//	rule = rs1 .*
//
// "rule = <server> <regex>" sends a request whose target (path and query,
// as sent) matches the regular expression (Go RE2 syntax, unanchored as in
// TCPHA: "jpg$" matches any target ending in jpg) to <server>: a real
// server's name (or its address as written in the configuration), or a
// group. "group = <name> <server>..." names a set of servers. Rules are
// tried in order and the first match wins. The last rule must be the
// catch-all, whose pattern is exactly ".*" or "*" and matches every
// target; a file without one is an error naming its last rule's line, and
// a rule after it (which could never match) is an error too.
//
// # Scheduling
//
// [Scheduler] restricts each request to the servers of its rule and lets a
// registered scheduler pick among them: with "wlc" a rule naming a group
// is weighted least-connection within the group, with "lblc" it keeps each
// URL on one server of the group. The switch sets Request.Class to the
// matched rule's class ([Rule.Class]).
package rules

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"regexp/syntax"
	"strings"
)

// Rule is one "rule = <server> <regex>" line.
type Rule struct {
	Line     int      // line number in the file, from 1
	Target   string   // the server or group named
	Pattern  string   // the regular expression as written
	Servers  []string // the servers it names (a group expanded), in order
	CatchAll bool     // the pattern is ".*" or "*"

	re *regexp.Regexp
}

// Class is the Request.Class of requests the rule matches: the name of its
// server or group, so rules naming the same target share a class.
func (r *Rule) Class() string { return r.Target }

// Set is a parsed rule file.
type Set struct {
	File   string
	Rules  []Rule              // in file order; the last is the catch-all
	Groups map[string][]string // group name -> servers
}

// ParseFile reads the rule file at path. known reports whether a name is a
// real server.
func ParseFile(path string, known func(string) bool) (*Set, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("rules: %w", err)
	}
	defer f.Close()
	return Parse(path, f, known)
}

// Parse reads a rule file named name (for messages) from r.
func Parse(name string, r io.Reader, known func(string) bool) (*Set, error) {
	set := &Set{File: name, Groups: map[string][]string{}}
	fail := func(line int, format string, args ...any) error {
		return fmt.Errorf("%s:%d: %s", name, line, fmt.Sprintf(format, args...))
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	line := 0
	catchAll := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" || text[0] == '#' {
			continue
		}
		key, value, ok := strings.Cut(text, "=")
		if !ok {
			return nil, fail(line, "want \"rule = <server> <regex>\" or \"group = <name> <server>...\", got %q", text)
		}
		key, value = strings.TrimSpace(key), strings.TrimSpace(value)
		switch key {
		case "group":
			f := strings.Fields(value)
			if len(f) < 2 {
				return nil, fail(line, "a group needs a name and at least one server: \"group = <name> <server>...\"")
			}
			g := f[0]
			if known(g) {
				return nil, fail(line, "group %q has the name of a server", g)
			}
			if _, dup := set.Groups[g]; dup {
				return nil, fail(line, "group %q defined twice", g)
			}
			seen := map[string]bool{}
			for _, s := range f[1:] {
				if !known(s) {
					return nil, fail(line, "group %q: unknown server %q", g, s)
				}
				if seen[s] {
					return nil, fail(line, "group %q names server %q twice", g, s)
				}
				seen[s] = true
			}
			set.Groups[g] = f[1:]
		case "rule":
			if catchAll != 0 {
				return nil, fail(line, "this rule is never matched: the catch-all rule at line %d matches every request first", catchAll)
			}
			var target, pattern string
			if i := strings.IndexAny(value, " \t"); i >= 0 {
				target, pattern = value[:i], strings.TrimSpace(value[i:])
			} else {
				target, pattern = value, ""
			}
			if target == "" || pattern == "" {
				return nil, fail(line, "want \"rule = <server> <regex>\", got %q", text)
			}
			rule := Rule{Line: line, Target: target, Pattern: pattern}
			switch {
			case known(target):
				rule.Servers = []string{target}
			case set.Groups[target] != nil:
				rule.Servers = set.Groups[target]
			default:
				return nil, fail(line, "unknown server or group %q (groups must be defined before use)", target)
			}
			if pattern == ".*" || pattern == "*" {
				rule.CatchAll = true
				catchAll = line
			} else {
				re, err := regexp.Compile(pattern)
				if err != nil {
					return nil, fail(line, "bad regular expression %q: %v", pattern, unwrapRegexp(err))
				}
				rule.re = re
			}
			set.Rules = append(set.Rules, rule)
		default:
			return nil, fail(line, "unknown directive %q (want rule or group)", key)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s:%d: %w", name, line+1, err)
	}
	if len(set.Rules) == 0 {
		return nil, fail(max(line, 1), "no rules: at least a catch-all \"rule = <server> .*\" is required")
	}
	if catchAll == 0 {
		last := set.Rules[len(set.Rules)-1].Line
		return nil, fail(last, "no catch-all rule: add \"rule = <server> .*\" after this last rule so that every request matches")
	}
	return set, nil
}

// unwrapRegexp drops the "error parsing regexp: " prefix.
func unwrapRegexp(err error) error {
	var se *syntax.Error
	if errors.As(err, &se) {
		return fmt.Errorf("%s: `%s`", se.Code, se.Expr)
	}
	return err
}

// Match returns the first rule whose pattern matches target. It always
// returns a rule (the catch-all matches everything) and does not allocate.
func (s *Set) Match(target []byte) *Rule {
	for i := range s.Rules {
		r := &s.Rules[i]
		if r.CatchAll || r.re.Match(target) {
			return r
		}
	}
	return &s.Rules[len(s.Rules)-1]
}

// Classes returns the class of every rule with the names of the servers
// it names.
func (s *Set) Classes() map[string][]string {
	out := make(map[string][]string)
	for _, r := range s.Rules {
		out[r.Class()] = r.Servers
	}
	return out
}
