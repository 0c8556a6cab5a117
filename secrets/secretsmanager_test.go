package secrets_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"stripetask/internal/moto"
	"stripetask/secrets"
)

// counting wraps the real Secrets Manager client to count requests, and can
// hold them at a gate to test concurrent readers during a fetch.
type counting struct {
	api   secrets.GetSecretValueAPI
	calls atomic.Int32
	gate  chan struct{} // when set, each call waits for a receive
}

func (c *counting) GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	c.calls.Add(1)
	if c.gate != nil {
		<-c.gate
	}
	return c.api.GetSecretValue(ctx, in, opts...)
}

// clock is a settable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type env struct {
	srv   *moto.Server
	sm    *secretsmanager.Client
	api   *counting
	clock *clock
	logs  *bytes.Buffer
}

func setup(t *testing.T) *env {
	t.Helper()
	srv := moto.Start(t)
	cfg := srv.Config(t)
	sm := secretsmanager.NewFromConfig(cfg)
	return &env{srv: srv, sm: sm, api: &counting{api: sm}, clock: &clock{t: time.Unix(1_750_000_000, 0)}, logs: &bytes.Buffer{}}
}

func (e *env) source(id string) *secrets.SecretsManager {
	return secrets.NewSecretsManager(e.api, id, secrets.SecretsManagerOptions{
		Now: e.clock.Now,
		Log: slog.New(slog.NewJSONHandler(e.logs, nil)),
		// A refetch waits for its answer: on a busy machine moto's, or its
		// refusal retried by the SDK, can take longer than the default.
		// TestStaleWait tests the bound.
		StaleWait: time.Minute,
	})
}

func (e *env) create(t *testing.T, id, value string) {
	t.Helper()
	if _, err := e.sm.CreateSecret(t.Context(), &secretsmanager.CreateSecretInput{Name: aws.String(id), SecretString: aws.String(value)}); err != nil {
		t.Fatal(err)
	}
}

func (e *env) put(t *testing.T, id, value string) {
	t.Helper()
	if _, err := e.sm.PutSecretValue(t.Context(), &secretsmanager.PutSecretValueInput{SecretId: aws.String(id), SecretString: aws.String(value)}); err != nil {
		t.Fatal(err)
	}
}

const (
	v1 = `{"STRIPE_KEY":"sk_test_first_value","STRIPE_WEBHOOK_SECRET":"whsec_first_value_1234","SLACK_URL":"https://hooks.example/abc"}`
	v2 = `{"STRIPE_KEY":"sk_test_second_value","STRIPE_WEBHOOK_SECRET":"whsec_second_value_5678"}`
)

func TestLoadCacheAndTTL(t *testing.T) {
	e := setup(t)
	e.create(t, "prod/stripetask", v1)
	src := e.source("prod/stripetask")
	ctx := t.Context()

	m, err := src.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if m["STRIPE_KEY"] != "sk_test_first_value" || m["SLACK_URL"] != "https://hooks.example/abc" || len(m) != 3 {
		t.Fatalf("first load: %v", keysOf(m))
	}
	for range 100 {
		if _, err := src.Load(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if n := e.api.calls.Load(); n != 1 {
		t.Fatalf("101 loads within the TTL made %d requests, want 1", n)
	}

	e.put(t, "prod/stripetask", v2)
	e.clock.Add(secrets.DefaultTTL - time.Second)
	if m, _ := src.Load(ctx); m["STRIPE_KEY"] != "sk_test_first_value" {
		t.Fatal("refreshed before the TTL")
	}
	e.clock.Add(2 * time.Second)
	if m, _ := src.Load(ctx); m["STRIPE_KEY"] != "sk_test_second_value" {
		t.Fatal("not refreshed after the TTL")
	}
	if n := e.api.calls.Load(); n != 2 {
		t.Fatalf("%d requests, want 2", n)
	}
}

func TestRefreshDoesNotBlockReaders(t *testing.T) {
	e := setup(t)
	e.create(t, "s", v1)
	src := e.source("s")
	if _, err := src.Load(t.Context()); err != nil {
		t.Fatal(err)
	}
	e.put(t, "s", v2)
	e.clock.Add(secrets.DefaultTTL + time.Second)

	e.api.gate = make(chan struct{})
	refreshed := make(chan secrets.Map)
	go func() {
		m, _ := src.Load(context.Background()) // this one fetches, held at the gate
		refreshed <- m
	}()
	for e.api.calls.Load() != 2 {
		time.Sleep(time.Millisecond)
	}
	// While the fetch is held, other readers get the previous snapshot at once.
	for range 10 {
		m, err := src.Load(t.Context())
		if err != nil || m["STRIPE_KEY"] != "sk_test_first_value" {
			t.Fatalf("reader during refresh: %v %v", keysOf(m), err)
		}
	}
	close(e.api.gate)
	if m := <-refreshed; m["STRIPE_KEY"] != "sk_test_second_value" {
		t.Fatalf("the refreshing reader got %v", keysOf(m))
	}
	if n := e.api.calls.Load(); n != 2 {
		t.Fatalf("%d requests, want 2", n)
	}
}

func TestFailedRefreshKeepsLastGood(t *testing.T) {
	e := setup(t)
	e.create(t, "s", v1)
	src := e.source("s")
	if _, err := src.Load(t.Context()); err != nil {
		t.Fatal(err)
	}
	e.srv.Down()
	e.clock.Add(secrets.DefaultTTL + time.Second)
	m, err := src.Load(t.Context())
	if err != nil || m["STRIPE_KEY"] != "sk_test_first_value" {
		t.Fatalf("during an outage: %v %v", keysOf(m), err)
	}
	if !strings.Contains(e.logs.String(), `"secret_id":"s"`) || !strings.Contains(e.logs.String(), "serving the last good value") {
		t.Fatalf("failed refresh not logged: %s", e.logs)
	}
	calls := e.api.calls.Load()
	src.Load(t.Context())
	if e.api.calls.Load() != calls {
		t.Fatal("retried at once after a failure, want a back-off")
	}

	e.srv.Up() // moto starts empty
	e.create(t, "s", v2)
	e.clock.Add(31 * time.Second)
	if m, _ := src.Load(t.Context()); m["STRIPE_KEY"] != "sk_test_second_value" {
		t.Fatalf("not refreshed after the outage: %v", keysOf(m))
	}
	noValues(t, e.logs.String())
}

func TestColdStartOutage(t *testing.T) {
	e := setup(t)
	src := e.source("s")
	e.srv.Down()
	for range 2 { // every load tries again
		if _, err := src.Load(t.Context()); !errors.Is(err, secrets.ErrUnavailable) || !strings.Contains(err.Error(), `"s"`) {
			t.Fatalf("got %v, want ErrUnavailable naming the secret", err)
		}
	}
	e.srv.Up()
	e.create(t, "s", v1)
	if m, err := src.Load(t.Context()); err != nil || m["STRIPE_KEY"] != "sk_test_first_value" {
		t.Fatalf("after the outage: %v %v", keysOf(m), err)
	}
}

func TestBadSecrets(t *testing.T) {
	e := setup(t)
	tests := []struct {
		name, value string
		want        []string // substrings of the error
		sentinel    error
	}{
		{"not json", `STRIPE_KEY=sk_live_leaky`, []string{`"not json"`, "not valid JSON (error at byte 1)"}, secrets.ErrFormat},
		{"array", `["sk_live_leaky"]`, []string{"not a JSON object"}, secrets.ErrFormat},
		{"null", `null`, []string{"null"}, secrets.ErrFormat},
		{"not strings", `{"STRIPE_KEY":"sk_live_leaky","PORT":8080,"NESTED":{"k":"sk_live_leaky"}}`, []string{"the value of NESTED, PORT is not a string"}, secrets.ErrFormat},
		{"missing", "", []string{`"missing"`, "ResourceNotFoundException"}, secrets.ErrUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.value != "" {
				e.create(t, tt.name, tt.value)
			}
			_, err := e.source(tt.name).Load(t.Context())
			if !errors.Is(err, tt.sentinel) || !errors.Is(err, secrets.ErrUnavailable) {
				t.Fatalf("got %v, want %v and ErrUnavailable", err, tt.sentinel)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "leaky") {
				t.Errorf("error leaks a value: %v", err)
			}
		})
	}
}

// TestAccessDenied runs moto with IAM enforced: the first three requests
// (create a user and its key, create the secret) go through, then the
// user, who has no policy, is refused.
func TestAccessDenied(t *testing.T) {
	srv := moto.Start(t, "INITIAL_NO_AUTH_ACTION_COUNT=3")
	ctx := t.Context()
	cfg := srv.Config(t)
	im := iam.NewFromConfig(cfg)
	if _, err := im.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("webhook")}); err != nil {
		t.Fatal(err)
	}
	key, err := im.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("webhook")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := secretsmanager.NewFromConfig(cfg).CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("s"), SecretString: aws.String(v1)}); err != nil {
		t.Fatal(err)
	}
	cfg.Credentials = credentials.NewStaticCredentialsProvider(*key.AccessKey.AccessKeyId, *key.AccessKey.SecretAccessKey, "")
	src := secrets.NewSecretsManager(secretsmanager.NewFromConfig(cfg), "s", secrets.SecretsManagerOptions{})
	_, err = src.Load(ctx)
	// Real Secrets Manager answers AccessDeniedException in JSON; moto answers
	// 403 with an XML body the SDK cannot decode, so the status is what the
	// message can show here.
	if !errors.Is(err, secrets.ErrUnavailable) || !strings.Contains(err.Error(), "StatusCode: 403") || !strings.Contains(err.Error(), `"s"`) {
		t.Fatalf("got %v, want an access-denied ErrUnavailable naming the secret", err)
	}
	noValues(t, err.Error())
}

func TestRefreshOnMiss(t *testing.T) {
	e := setup(t)
	e.create(t, "s", v1)
	src := e.source("s")
	ctx := t.Context()
	if _, err := src.Load(ctx); err != nil {
		t.Fatal(err)
	}
	e.put(t, "s", v2)
	// The first miss-driven refresh fetches, right after the cold-start load.
	m, fetched, err := src.Refresh(ctx)
	if err != nil || !fetched || m["STRIPE_WEBHOOK_SECRET"] != "whsec_second_value_5678" {
		t.Fatalf("first refresh: %v %v %v", keysOf(m), fetched, err)
	}
	// Within 30 s, further refreshes do not fetch.
	e.clock.Add(29 * time.Second)
	calls := e.api.calls.Load()
	for range 5 {
		if _, fetched, _ := src.Refresh(ctx); fetched {
			t.Fatal("refreshed again within 30 s")
		}
	}
	if e.api.calls.Load() != calls {
		t.Fatalf("%d extra requests within 30 s", e.api.calls.Load()-calls)
	}
	e.clock.Add(2 * time.Second)
	if _, fetched, _ := src.Refresh(ctx); !fetched {
		t.Fatal("no refresh after 30 s")
	}
	// Loads do not count against the refresh interval.
	e.clock.Add(31 * time.Second)
	src.Load(ctx)
	if _, fetched, _ := src.Refresh(ctx); !fetched {
		t.Fatal("a Load delayed the next refresh")
	}
}

func keysOf(m secrets.Map) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}

// noValues fails if any secret value of the fixtures appears in s.
func noValues(t *testing.T, s string) {
	t.Helper()
	for _, v := range []string{"sk_test_first_value", "whsec_first_value_1234", "sk_test_second_value", "whsec_second_value_5678", "hooks.example"} {
		if strings.Contains(s, v) {
			t.Errorf("output contains the secret value %q", v)
		}
	}
}
