package secrets

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

// Defaults of the Secrets Manager source.
const (
	// DefaultTTL is how long a fetched secret is served before it is fetched
	// again.
	DefaultTTL = 5 * time.Minute
	// DefaultRefreshInterval is the least time between two refetches asked
	// for by Refresh, so a stream of bad requests cannot turn into a stream
	// of Secrets Manager calls.
	DefaultRefreshInterval = 30 * time.Second
	// DefaultFetchTimeout bounds one fetch, whoever started it and
	// whatever its context: Secrets Manager answers within tens of
	// milliseconds in its Region, so a fetch still waiting after 5 s is
	// hung (a VPC without a Secrets Manager endpoint, say), and must not
	// keep the callers that join it waiting, nor a goroutine running.
	DefaultFetchTimeout = 5 * time.Second
	// DefaultStaleWait is how long a Load that finds the snapshot past its
	// TTL waits for the fetch it starts before it serves the previous
	// snapshot, the fetch going on meanwhile: long enough for a healthy
	// fetch on a new connection, short enough that a hung Secrets Manager
	// costs an event a second, not its budget.
	DefaultStaleWait = time.Second
	// failureBackoff is how long a failed refresh waits before the next
	// try, while the last good value is served.
	failureBackoff = 30 * time.Second
)

// Refresher is a Source that can fetch again before its TTL expires, when the
// caller has reason to think its snapshot is stale: a signature that matches
// none of the cached signing secrets, say, because the secret was rotated.
type Refresher interface {
	Source
	// Refresh fetches the secrets now, unless a Refresh already fetched
	// within the source's minimum interval, and returns the current
	// snapshot and whether it was fetched by this call.
	Refresh(ctx context.Context) (m Map, fetched bool, err error)
}

// Refresh asks src for a newer snapshot when it is a Refresher. fetched is
// false when src cannot refresh or had nothing newer to give.
func Refresh(ctx context.Context, src Source) (m Map, fetched bool, err error) {
	r, ok := src.(Refresher)
	if !ok {
		return nil, false, nil
	}
	return r.Refresh(ctx)
}

// GetSecretValueAPI is the part of the Secrets Manager client the source uses.
type GetSecretValueAPI interface {
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

// SecretsManagerOptions configure a SecretsManager source.
type SecretsManagerOptions struct {
	// TTL: a snapshot older than this is fetched again (DefaultTTL if zero).
	TTL time.Duration
	// RefreshInterval bounds Refresh (DefaultRefreshInterval if zero).
	RefreshInterval time.Duration
	// FetchTimeout bounds one fetch (DefaultFetchTimeout if zero).
	FetchTimeout time.Duration
	// StaleWait bounds a Load's wait for the refetch of a snapshot past
	// its TTL (DefaultStaleWait if zero).
	StaleWait time.Duration
	// Log receives failed refreshes; nil discards.
	Log *slog.Logger
	// Now is the clock of the TTL and the intervals; nil means time.Now.
	// Timeouts always use the real clock.
	Now func() time.Time
}

// SecretsManager is a Source reading one AWS Secrets Manager secret whose
// SecretString is a JSON object of names to string values, e.g.
// {"STRIPE_KEY":"sk_live_...","STRIPE_WEBHOOK_SECRET":"whsec_..."}.
//
// There is at most one fetch at a time, and every caller waits for it on
// its own context: a Load or Refresh never waits past its context's end,
// whoever started the fetch, and fails then with ErrUnavailable (wrapping
// the context's error); Cached never waits at all. A fetch runs on the
// context of the caller that started it, detached from its cancellation
// but not from its deadline, and for FetchTimeout at most; a caller that
// joined a fetch which ran out of its starter's time, and has time left
// itself, fetches once more on its own. A caller whose context has ended
// starts no fetch.
//
// The first Load fetches and waits; later Loads return the cached snapshot
// at once. Once the TTL has passed, the first Load to notice starts a
// fetch and waits for it for StaleWait at most, then serves the previous
// snapshot, while concurrent Loads get the previous snapshot at once. A
// failed refresh keeps serving the last good snapshot, logs the failure
// and is retried after 30 s. Without any good snapshot yet (a cold start
// that could not reach Secrets Manager) every Load tries again, and fails
// with ErrUnavailable.
//
// Errors name the secret and the cause; they never contain a value.
type SecretsManager struct {
	api  GetSecretValueAPI
	id   string
	opts SecretsManagerOptions

	cur atomic.Pointer[snapshot]

	mu     sync.Mutex
	flight *flight // the fetch under way, if any
	gen    uint64  // of the last fetch started

	refreshMu   sync.Mutex
	lastRefresh time.Time // last fetch asked for by Refresh
}

type snapshot struct {
	m       Map
	fetched time.Time
	retryAt time.Time // after a failed refresh: not before this
}

// flight is one fetch. Its results are set before done is closed.
type flight struct {
	gen  uint64 // its place among the fetches, from 1
	done chan struct{}
	m    Map
	err  error
	// expired: it failed because its time ran out (its starter's deadline
	// or FetchTimeout), which says nothing about Secrets Manager's answer.
	expired bool
}

// NewSecretsManager returns a source reading the secret id (a name or ARN)
// through api.
func NewSecretsManager(api GetSecretValueAPI, id string, opts SecretsManagerOptions) *SecretsManager {
	if opts.TTL <= 0 {
		opts.TTL = DefaultTTL
	}
	if opts.RefreshInterval <= 0 {
		opts.RefreshInterval = DefaultRefreshInterval
	}
	if opts.FetchTimeout <= 0 {
		opts.FetchTimeout = DefaultFetchTimeout
	}
	if opts.StaleWait <= 0 {
		opts.StaleWait = DefaultStaleWait
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &SecretsManager{api: api, id: id, opts: opts}
}

// SecretsManagerFromConfig returns a source for the secret id read through
// a Secrets Manager client of cfg. The functions pass the one AWS SDK
// configuration of their runtime (internal/awsconfig), whose connect and
// read timeouts and retries make an unreachable service fail within an
// invocation; the endpoint comes from cfg, e.g. AWS_ENDPOINT_URL_SECRETS_MANAGER.
func SecretsManagerFromConfig(cfg aws.Config, id string, opts SecretsManagerOptions) *SecretsManager {
	return NewSecretsManager(secretsmanager.NewFromConfig(cfg), id, opts)
}

// Load returns the current snapshot; see SecretsManager.
func (s *SecretsManager) Load(ctx context.Context) (Map, error) {
	snap := s.cur.Load()
	if snap == nil {
		return s.fetchWait(ctx)
	}
	now := s.opts.Now()
	if now.Sub(snap.fetched) < s.opts.TTL || now.Before(snap.retryAt) {
		return snap.m, nil
	}
	if ctx.Err() != nil {
		return snap.m, nil // no time to refresh: the previous snapshot
	}
	s.mu.Lock()
	if s.flight != nil {
		s.mu.Unlock()
		return snap.m, nil // another caller is refreshing: serve the previous snapshot
	}
	if cur := s.cur.Load(); cur != snap {
		s.mu.Unlock()
		return cur.m, nil // refreshed meanwhile
	}
	f := s.startLocked(ctx)
	s.mu.Unlock()
	wait, cancel := context.WithTimeout(ctx, s.opts.StaleWait)
	defer cancel()
	if m, err := s.await(wait, f); err == nil {
		return m, nil
	}
	// Failed (and logged), or still under way: the last good snapshot.
	return s.cur.Load().m, nil
}

// Cached returns the current snapshot, even past its TTL, without fetching
// or waiting; false before the first fetch has succeeded.
func (s *SecretsManager) Cached() (Map, bool) {
	if snap := s.cur.Load(); snap != nil {
		return snap.m, true
	}
	return nil, false
}

// fetchWait fetches when there is no snapshot at all; concurrent callers
// wait for the one fetch rather than each calling Secrets Manager, each on
// its own context.
func (s *SecretsManager) fetchWait(ctx context.Context) (Map, error) {
	var after uint64 // a fetch to join must be newer than this
	for {
		s.mu.Lock()
		if snap := s.cur.Load(); snap != nil {
			s.mu.Unlock()
			return snap.m, nil
		}
		f, started := s.flight, false
		if f == nil || f.gen <= after {
			if ctx.Err() != nil {
				s.mu.Unlock()
				return nil, s.noAnswer(ctx) // no time for a fetch of ours
			}
			f, started = s.startLocked(ctx), true
		}
		s.mu.Unlock()
		m, err := s.await(ctx, f)
		// f.expired is read only once f is done, which ctx.Err() == nil
		// implies here.
		if err == nil || started || ctx.Err() != nil || !f.expired {
			return m, err
		}
		// It ran out of its starter's time, not ours: fetch on ours.
		after = f.gen
	}
}

// Refresh fetches now unless a Refresh fetched within the refresh interval;
// see Refresher. Within the interval it waits for a fetch under way and
// reports whether the snapshot changed since the call began. A fetch under
// way that began before the call is waited for, then a new one made. A
// failure keeps the snapshot (and, as every failed refetch does, puts the
// next refetch for its TTL off by 30 s); like every wait, this one ends
// with ctx.
func (s *SecretsManager) Refresh(ctx context.Context) (Map, bool, error) {
	before := s.cur.Load()
	s.refreshMu.Lock()
	now := s.opts.Now()
	if !s.lastRefresh.IsZero() && now.Sub(s.lastRefresh) < s.opts.RefreshInterval {
		s.refreshMu.Unlock()
		// Wait for a fetch under way, if any, so that a caller arriving
		// during another's refresh sees its result.
		s.mu.Lock()
		f := s.flight
		s.mu.Unlock()
		if f != nil {
			s.await(ctx, f) // its failure is its starter's to report
		}
		if after := s.cur.Load(); after != nil && after != before {
			return after.m, true, nil
		}
		m, err := s.Load(ctx)
		return m, false, err
	}
	s.lastRefresh = now
	s.refreshMu.Unlock()

	s.mu.Lock()
	after := s.gen // a fetch begun before this call may predate a rotation
	s.mu.Unlock()
	for {
		s.mu.Lock()
		f := s.flight
		if f == nil {
			if ctx.Err() != nil {
				s.mu.Unlock()
				return s.current(), false, s.noAnswer(ctx)
			}
			f = s.startLocked(ctx)
		}
		s.mu.Unlock()
		m, err := s.await(ctx, f)
		if f.gen <= after { // an older fetch
			if ctx.Err() == nil {
				continue // it ended: now ours
			}
			err = s.noAnswer(ctx)
		}
		if err != nil {
			return s.current(), false, err
		}
		return m, true, nil
	}
}

// current is the current snapshot's map, or nil without one.
func (s *SecretsManager) current() Map {
	m, _ := s.Cached()
	return m
}

// startLocked starts a fetch on ctx (see SecretsManager) and makes it the
// one under way. s.mu is held.
func (s *SecretsManager) startLocked(ctx context.Context) *flight {
	s.gen++
	f := &flight{gen: s.gen, done: make(chan struct{})}
	s.flight = f
	deadline := time.Now().Add(s.opts.FetchTimeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	fctx, cancel := context.WithDeadline(context.WithoutCancel(ctx), deadline)
	go func() {
		defer cancel()
		s.run(fctx, f)
	}()
	return f
}

// run is one fetch: it stores its snapshot, or on failure keeps the last
// good one (logging, and backing off from refetching), then ends the
// flight.
func (s *SecretsManager) run(ctx context.Context, f *flight) {
	m, err := s.fetch(ctx)
	now := s.opts.Now()
	if err == nil {
		s.cur.Store(&snapshot{m: m, fetched: now})
	} else {
		f.expired = ctx.Err() != nil
		if prev := s.cur.Load(); prev != nil {
			s.opts.Log.Error("refreshing secrets failed; serving the last good value", "secret_id", s.id, "error", err.Error())
			s.cur.Store(&snapshot{m: prev.m, fetched: prev.fetched, retryAt: now.Add(failureBackoff)})
		}
	}
	f.m, f.err = m, err
	s.mu.Lock()
	if s.flight == f {
		s.flight = nil
	}
	s.mu.Unlock()
	close(f.done)
}

// await waits for f's result until ctx ends.
func (s *SecretsManager) await(ctx context.Context, f *flight) (Map, error) {
	select {
	case <-f.done:
		return f.m, f.err
	case <-ctx.Done():
		return nil, s.noAnswer(ctx)
	}
}

// noAnswer is the error of a caller whose ctx ended before the fetch did.
func (s *SecretsManager) noAnswer(ctx context.Context) error {
	return fmt.Errorf("%w: Secrets Manager secret %q: no answer in time: %w", ErrUnavailable, s.id, context.Cause(ctx))
}

// fetch reads and parses the secret.
func (s *SecretsManager) fetch(ctx context.Context) (Map, error) {
	out, err := s.api.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(s.id)})
	if err != nil {
		return nil, fmt.Errorf("%w: Secrets Manager secret %q: %w", ErrUnavailable, s.id, err)
	}
	if out.SecretString == nil {
		return nil, fmt.Errorf("%w: Secrets Manager secret %q has no SecretString (binary secrets are not supported)", ErrUnavailable, s.id)
	}
	m, err := parseSecretString(*out.SecretString)
	if err != nil {
		return nil, fmt.Errorf("%w: Secrets Manager secret %q: %w", ErrUnavailable, s.id, err)
	}
	return m, nil
}

// ErrFormat reports a SecretString that is not a JSON object of strings.
var ErrFormat = errors.New("SecretString must be a JSON object of names to string values")

// parseSecretString decodes a JSON object of string values. Its errors name
// keys and byte offsets, never content: encoding/json's own messages quote
// the offending character, which would leak part of a secret into a log.
func parseSecretString(s string) (Map, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal([]byte(s), &raw); err != nil {
		if se, ok := errors.AsType[*json.SyntaxError](err); ok {
			return nil, fmt.Errorf("%w: not valid JSON (error at byte %d)", ErrFormat, se.Offset)
		}
		return nil, fmt.Errorf("%w: not a JSON object", ErrFormat)
	}
	if raw == nil {
		return nil, fmt.Errorf("%w: null", ErrFormat)
	}
	m := make(Map, len(raw))
	var bad []string
	for k, v := range raw {
		var str string
		if err := json.Unmarshal(v, &str); err != nil {
			bad = append(bad, k)
			continue
		}
		m[k] = str
	}
	if len(bad) > 0 {
		slices.Sort(bad)
		return nil, fmt.Errorf("%w: the value of %s is not a string", ErrFormat, strings.Join(bad, ", "))
	}
	return m, nil
}
