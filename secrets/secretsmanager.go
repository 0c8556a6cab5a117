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
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
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
	// failureBackoff is how long a failed background refresh waits before
	// the next try, while the last good value is served.
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
	// Log receives failed background refreshes; nil discards.
	Log *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// SecretsManager is a Source reading one AWS Secrets Manager secret whose
// SecretString is a JSON object of names to string values, e.g.
// {"STRIPE_KEY":"sk_live_...","STRIPE_WEBHOOK_SECRET":"whsec_..."}.
//
// The first Load fetches and waits; later Loads return the cached snapshot
// at once. Once the TTL has passed, the first Load to notice fetches again
// while concurrent Loads keep getting the previous snapshot, so no reader
// waits longer than one fetch. A failed refresh keeps serving the last good
// snapshot, logs the failure and is retried after 30 s. Without any good
// snapshot yet (a cold start that could not reach Secrets Manager) every
// Load tries again, and fails with ErrUnavailable.
//
// Errors name the secret and the cause; they never contain a value.
type SecretsManager struct {
	api  GetSecretValueAPI
	id   string
	opts SecretsManagerOptions

	cur     atomic.Pointer[snapshot]
	fetchMu sync.Mutex // one fetch at a time

	refreshMu   sync.Mutex
	lastRefresh time.Time // last fetch asked for by Refresh
}

type snapshot struct {
	m       Map
	fetched time.Time
	retryAt time.Time // after a failed refresh: not before this
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
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &SecretsManager{api: api, id: id, opts: opts}
}

// SecretsManagerFromConfig returns a source for the secret id using the AWS
// SDK's standard configuration: region, credentials chain, and endpoint
// settings such as AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_SECRETS_MANAGER.
// Requests are tried at most three times, so an unreachable service fails
// within an invocation.
func SecretsManagerFromConfig(ctx context.Context, id string, opts SecretsManagerOptions) (*SecretsManager, error) {
	cfg, err := config.LoadDefaultConfig(ctx, config.WithRetryer(func() aws.Retryer {
		return retry.AddWithMaxAttempts(retry.NewStandard(), 3)
	}))
	if err != nil {
		return nil, fmt.Errorf("secrets: loading AWS configuration: %w", err)
	}
	return NewSecretsManager(secretsmanager.NewFromConfig(cfg), id, opts), nil
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
	if !s.fetchMu.TryLock() {
		return snap.m, nil // another caller is refreshing: serve the previous snapshot
	}
	defer s.fetchMu.Unlock()
	if cur := s.cur.Load(); cur != snap {
		return cur.m, nil // refreshed meanwhile
	}
	m, err := s.fetch(ctx)
	if err != nil {
		s.opts.Log.Error("refreshing secrets failed; serving the last good value", "secret_id", s.id, "error", err.Error())
		s.cur.Store(&snapshot{m: snap.m, fetched: snap.fetched, retryAt: now.Add(failureBackoff)})
		return snap.m, nil
	}
	s.cur.Store(&snapshot{m: m, fetched: now})
	return m, nil
}

// fetchWait fetches when there is no snapshot at all; concurrent callers
// wait for the one fetch rather than each calling Secrets Manager.
func (s *SecretsManager) fetchWait(ctx context.Context) (Map, error) {
	s.fetchMu.Lock()
	defer s.fetchMu.Unlock()
	if snap := s.cur.Load(); snap != nil {
		return snap.m, nil
	}
	m, err := s.fetch(ctx)
	if err != nil {
		return nil, err
	}
	s.cur.Store(&snapshot{m: m, fetched: s.opts.Now()})
	return m, nil
}

// Refresh fetches now unless a Refresh fetched within the refresh interval;
// see Refresher. Within the interval it waits for a fetch under way and
// reports whether the snapshot changed since the call began. A failure
// leaves the snapshot as it was.
func (s *SecretsManager) Refresh(ctx context.Context) (Map, bool, error) {
	before := s.cur.Load()
	s.refreshMu.Lock()
	now := s.opts.Now()
	if !s.lastRefresh.IsZero() && now.Sub(s.lastRefresh) < s.opts.RefreshInterval {
		s.refreshMu.Unlock()
		// Wait for a fetch under way, if any, so that a caller arriving
		// during another's refresh sees its result.
		s.fetchMu.Lock()
		s.fetchMu.Unlock()
		if after := s.cur.Load(); after != nil && after != before {
			return after.m, true, nil
		}
		m, err := s.Load(ctx)
		return m, false, err
	}
	s.lastRefresh = now
	s.refreshMu.Unlock()

	s.fetchMu.Lock()
	defer s.fetchMu.Unlock()
	m, err := s.fetch(ctx)
	if err != nil {
		if snap := s.cur.Load(); snap != nil {
			return snap.m, false, err
		}
		return nil, false, err
	}
	s.cur.Store(&snapshot{m: m, fetched: now})
	return m, true, nil
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
