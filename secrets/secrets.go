// Package secrets supplies named secret values (API keys, signing secrets,
// passwords) to the functions at run time.
//
// A Source hands out a Map, a read-only snapshot of every secret by name. The
// environment source treats each environment variable as a secret of the same
// name, which is what `sam local invoke --env-vars`, a .env file or plain
// exports provide. Package secrets knows nothing of Stripe or of events.
package secrets

import (
	"cmp"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"slices"
	"strings"
)

// Map holds secret values by name. A Map returned by a Source is a snapshot
// shared by concurrent readers: read it, never modify it.
type Map map[string]string

// List returns the named secret split at commas, with surrounding spaces and
// empty items dropped. It suits secrets that hold several values, such as a
// list of signing secrets kept during a rotation. A missing secret yields nil.
func (m Map) List(name string) []string {
	v := m[name]
	if v == "" {
		return nil
	}
	var out []string
	for item := range strings.SplitSeq(v, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

// ErrUnavailable reports that a Source could not produce its secrets. Errors
// returned by Load wrap it, so callers can answer "try again later" with
// errors.Is whatever the cause.
var ErrUnavailable = errors.New("secrets unavailable")

// Source supplies the current secrets.
type Source interface {
	// Load returns the current snapshot. It is called for every request, so
	// implementations cache; it must be safe for concurrent use. A non-nil
	// error wraps ErrUnavailable and never contains a secret value.
	Load(ctx context.Context) (Map, error)
}

// Static is a Source that always returns the same Map.
type Static Map

// Load returns m.
func (m Static) Load(context.Context) (Map, error) { return Map(m), nil }

// Cached returns m; see Cacher.
func (m Static) Cached() (Map, bool) { return Map(m), true }

// Cacher is a Source that can hand out the snapshot it holds without any
// network call or wait. Static and SecretsManager are Cachers.
type Cacher interface {
	Source
	// Cached returns the snapshot held now, if any, at once: it never
	// fetches, never waits for a fetch under way and never fails.
	Cached() (m Map, ok bool)
}

// Cached returns the snapshot src holds now, without any network call or
// wait, whatever the state of its backend: a Static's Map; a
// SecretsManager's last good snapshot, even past its TTL. ok is false when
// src holds none yet (a cold start whose first fetch has not succeeded)
// or is not a Cacher. It suits the work that must not wait on the secrets'
// backend, such as redacting the log line of a refusal that happened
// because the secrets could not be loaded. For a Static or a
// SecretsManager it is the snapshot Load hands out now, or handed out
// last; a value rotated out before that snapshot is not in it.
func Cached(src Source) (m Map, ok bool) {
	if c, is := src.(Cacher); is {
		return c.Cached()
	}
	return nil, false
}

// FromEnviron returns a Source whose secrets are the given environment, in the
// "NAME=value" form of os.Environ. It is read once: later changes to the
// process environment are not seen.
func FromEnviron(environ []string) Static {
	m := make(Map, len(environ))
	for _, kv := range environ {
		name, value, ok := strings.Cut(kv, "=")
		if ok && name != "" {
			m[name] = value
		}
	}
	return Static(m)
}

// minRedact is the shortest secret value Redact replaces: shorter values
// ("1", "true") would mangle the text without protecting anything.
const minRedact = 6

// Redact returns s with every secret value of m in it, and every item of a
// comma-separated value, replaced by the secret's name in brackets, e.g.
// "[STRIPE_KEY]". Errors and panics from code that handles secrets may quote
// one (an API key in a URL, say); logs must not. Longer values are replaced
// first, so that a secret containing another is replaced whole, never
// half.
func (m Map) Redact(s string) string {
	type value struct{ v, name string }
	var found []value
	add := func(v, name string) {
		if len(v) >= minRedact && strings.Contains(s, v) {
			found = append(found, value{v, name})
		}
	}
	for name, v := range m {
		add(v, name)
		if strings.Contains(v, ",") {
			for _, item := range m.List(name) {
				add(item, name)
			}
		}
	}
	if len(found) == 0 {
		return s
	}
	// Longest first; ties by name, so the result never depends on the
	// map's order.
	slices.SortFunc(found, func(a, b value) int {
		if c := cmp.Compare(len(b.v), len(a.v)); c != 0 {
			return c
		}
		return cmp.Compare(a.name, b.name)
	})
	for _, f := range found {
		s = strings.ReplaceAll(s, f.v, "["+f.name+"]")
	}
	return s
}

// MatchAny reports whether got equals one of wants. It takes the same time
// whatever the content and length of got and of each want: both sides are
// hashed, and every want is compared. Use it for passwords and API tokens.
func MatchAny(got string, wants ...string) bool {
	g := sha256.Sum256([]byte(got))
	match := 0
	for _, w := range wants {
		h := sha256.Sum256([]byte(w))
		match |= subtle.ConstantTimeCompare(g[:], h[:])
	}
	return match == 1
}
