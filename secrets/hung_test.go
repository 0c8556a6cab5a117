package secrets_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"stripetask/internal/hungserver"
	"stripetask/internal/moto"
	"stripetask/secrets"
)

// The tests in this file model a Secrets Manager that accepts connections
// and never answers, as an interface endpoint whose security group admits
// the function but whose service is impaired does, and connections time
// out in a VPC without an endpoint for it (and without a NAT gateway:
// https://docs.aws.amazon.com/secretsmanager/latest/userguide/vpc-endpoint-overview.html).
// The endpoint is internal/hungserver; the client is the real AWS SDK one,
// with the SDK's defaults (no read timeout), so that only the source's own
// bounds end a fetch.

// hungClient returns a Secrets Manager client of an endpoint that never
// answers, and a count of the connections it accepted.
func hungClient(t *testing.T) (*counting, func() int) {
	t.Helper()
	url, accepted := hungserver.Start(t)
	moto.PointSDK(t, url)
	cfg, err := config.LoadDefaultConfig(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return &counting{api: secretsmanager.NewFromConfig(cfg)}, accepted
}

// slack is what a bounded wait may exceed its bound by on a busy machine.
const slack = 2 * time.Second

// loadResult is the outcome of a Load in a goroutine.
type loadResult struct {
	err  error
	took time.Duration
}

// loadAsync runs src.Load(ctx) in a goroutine.
func loadAsync(ctx context.Context, src secrets.Source) <-chan loadResult {
	ch := make(chan loadResult, 1)
	start := time.Now()
	go func() {
		_, err := src.Load(ctx)
		ch <- loadResult{err, time.Since(start)}
	}()
	return ch
}

// waitFor waits, 30 s at most, until cond holds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 30 s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// checkTimedOut fails unless r is an ErrUnavailable for running out of
// time, returned after at least min and within min+slack.
func checkTimedOut(t *testing.T, name string, r loadResult, min time.Duration) {
	t.Helper()
	if !errors.Is(r.err, secrets.ErrUnavailable) || !errors.Is(r.err, context.DeadlineExceeded) {
		t.Errorf("%s: %v, want ErrUnavailable and context.DeadlineExceeded", name, r.err)
	}
	if r.took < min || r.took > min+slack {
		t.Errorf("%s: returned after %v, want %v to %v", name, r.took, min, min+slack)
	}
}

// TestHungFetchWithoutDeadline: a fetch started on a context without a
// deadline (the cold start's prefetch, before it had one) ends at
// FetchTimeout.
func TestHungFetchWithoutDeadline(t *testing.T) {
	api, accepted := hungClient(t)
	const fetchTimeout = time.Second
	src := secrets.NewSecretsManager(api, "hung", secrets.SecretsManagerOptions{FetchTimeout: fetchTimeout})
	r := <-loadAsync(context.Background(), src)
	checkTimedOut(t, "Load without a deadline", r, fetchTimeout)
	if accepted() == 0 {
		t.Error("no connection reached the endpoint")
	}
}

// TestJoinerReturnsAtItsDeadline: a Load, a Refresh and a Cached that
// arrive while another caller's fetch hangs return by their own deadline
// (Cached at once), not the fetch's; the fetch ends at FetchTimeout.
func TestJoinerReturnsAtItsDeadline(t *testing.T) {
	api, _ := hungClient(t)
	const fetchTimeout = 4 * time.Second
	src := secrets.NewSecretsManager(api, "hung", secrets.SecretsManagerOptions{FetchTimeout: fetchTimeout})
	first := loadAsync(context.Background(), src)
	waitFor(t, "the first fetch", func() bool { return api.calls.Load() == 1 })

	const own = 300 * time.Millisecond
	ctx, cancel := context.WithTimeout(t.Context(), own)
	defer cancel()
	checkTimedOut(t, "joining Load", <-loadAsync(ctx, src), own)

	ctx, cancel = context.WithTimeout(t.Context(), own)
	defer cancel()
	start := time.Now()
	_, fetched, err := src.Refresh(ctx)
	checkTimedOut(t, "Refresh", loadResult{err, time.Since(start)}, own)
	if fetched {
		t.Error("Refresh reports a fetch")
	}

	start = time.Now()
	if m, ok := src.Cached(); ok || m != nil || time.Since(start) > slack {
		t.Errorf("Cached before any fetch succeeded: %v %v after %v, want nothing at once", keysOf(m), ok, time.Since(start))
	}
	if n := api.calls.Load(); n != 1 {
		t.Errorf("%d requests, want 1: the joiners must wait for the fetch under way", n)
	}
	checkTimedOut(t, "the first Load", <-first, fetchTimeout-slack/2)
}

// TestJoinerOfExpiredFetch: a caller that joined a fetch which ran out of
// its starter's (shorter) time fetches once more on its own time.
func TestJoinerOfExpiredFetch(t *testing.T) {
	api, _ := hungClient(t)
	src := secrets.NewSecretsManager(api, "hung", secrets.SecretsManagerOptions{FetchTimeout: time.Minute})
	short, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	first := loadAsync(short, src)
	waitFor(t, "the first fetch", func() bool { return api.calls.Load() == 1 })
	const own = 2 * time.Second
	long, cancel2 := context.WithTimeout(t.Context(), own)
	defer cancel2()
	second := loadAsync(long, src)
	checkTimedOut(t, "the short Load", <-first, 0)
	checkTimedOut(t, "the joiner", <-second, own-slack/2)
	if n := api.calls.Load(); n != 2 {
		t.Errorf("%d requests, want 2: the joiner fetches again once the first fetch expired", n)
	}
}

// TestStaleWait: past the TTL, with Secrets Manager holding the refetch,
// Load serves the previous snapshot after StaleWait; once the refetch
// answers, the next Load has the new value without another request.
func TestStaleWait(t *testing.T) {
	e := setup(t)
	e.create(t, "s", v1)
	const staleWait = 200 * time.Millisecond
	src := secrets.NewSecretsManager(e.api, "s", secrets.SecretsManagerOptions{Now: e.clock.Now, StaleWait: staleWait})
	if _, err := src.Load(t.Context()); err != nil {
		t.Fatal(err)
	}
	e.put(t, "s", v2)
	e.clock.Add(secrets.DefaultTTL + time.Second)
	e.api.gate = make(chan struct{})
	start := time.Now()
	m, err := src.Load(t.Context())
	took := time.Since(start)
	if err != nil || m["STRIPE_KEY"] != "sk_test_first_value" {
		t.Fatalf("Load during a held refetch: %v %v, want the previous snapshot", keysOf(m), err)
	}
	if took < staleWait || took > staleWait+slack {
		t.Errorf("Load during a held refetch returned after %v, want %v to %v", took, staleWait, staleWait+slack)
	}
	close(e.api.gate)
	waitFor(t, "the refetch", func() bool {
		m, _ := src.Cached()
		return m["STRIPE_KEY"] == "sk_test_second_value"
	})
	if m, err := src.Load(t.Context()); err != nil || m["STRIPE_KEY"] != "sk_test_second_value" {
		t.Fatalf("after the refetch: %v %v", keysOf(m), err)
	}
	if n := e.api.calls.Load(); n != 2 {
		t.Errorf("%d requests, want 2", n)
	}
}

// other is a Source that is not a Cacher.
type other struct{}

func (other) Load(context.Context) (secrets.Map, error) { return secrets.Map{"K": "v"}, nil }

// TestCached: the snapshot held, without a request: a Static's map; a
// SecretsManager's last good snapshot, past its TTL and with Secrets
// Manager down included; nothing before a first success or for a Source
// that cannot say.
func TestCached(t *testing.T) {
	if m, ok := secrets.Cached(secrets.Static{"K": "v"}); !ok || m["K"] != "v" {
		t.Errorf("Static: %v %v", m, ok)
	}
	if m, ok := secrets.Cached(other{}); ok || m != nil {
		t.Errorf("a Source that is no Cacher: %v %v", m, ok)
	}
	e := setup(t)
	e.create(t, "s", v1)
	src := e.source("s")
	if m, ok := secrets.Cached(src); ok || m != nil {
		t.Errorf("before the first fetch: %v %v", keysOf(m), ok)
	}
	if _, err := src.Load(t.Context()); err != nil {
		t.Fatal(err)
	}
	e.srv.Down()
	e.clock.Add(secrets.DefaultTTL + time.Hour)
	for range 3 {
		if m, ok := secrets.Cached(src); !ok || m["STRIPE_KEY"] != "sk_test_first_value" {
			t.Errorf("past the TTL with Secrets Manager down: %v %v", keysOf(m), ok)
		}
	}
	if n := e.api.calls.Load(); n != 1 {
		t.Errorf("%d requests, want 1: Cached must not fetch", n)
	}
}

// TestEndedContextStartsNoFetch: a caller whose context has ended (a log
// line's redaction, say) gets what is held, or ErrUnavailable, and starts
// no request.
func TestEndedContextStartsNoFetch(t *testing.T) {
	e := setup(t)
	e.create(t, "s", v1)
	src := e.source("s")
	ended, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := src.Load(ended); !errors.Is(err, secrets.ErrUnavailable) || !errors.Is(err, context.Canceled) {
		t.Errorf("cold, ended: %v, want ErrUnavailable and context.Canceled", err)
	}
	if _, _, err := src.Refresh(ended); !errors.Is(err, secrets.ErrUnavailable) {
		t.Errorf("Refresh, cold, ended: %v, want ErrUnavailable", err)
	}
	if n := e.api.calls.Load(); n != 0 {
		t.Fatalf("%d requests with an ended context, want 0", n)
	}
	if _, err := src.Load(t.Context()); err != nil {
		t.Fatal(err)
	}
	e.clock.Add(secrets.DefaultTTL + time.Second)
	if m, err := src.Load(ended); err != nil || m["STRIPE_KEY"] != "sk_test_first_value" {
		t.Errorf("stale, ended: %v %v, want the previous snapshot", keysOf(m), err)
	}
	if n := e.api.calls.Load(); n != 1 {
		t.Errorf("%d requests, want 1: a stale Load with an ended context must not refetch", n)
	}
	if e.logs.Len() != 0 {
		t.Errorf("logged: %s", e.logs)
	}
}
