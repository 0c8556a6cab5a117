package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"stripetask/internal/dedup"
	"stripetask/internal/fixture"
	"stripetask/internal/lambdarie"
	"stripetask/internal/moto"
	"stripetask/internal/proctest"
	"stripetask/internal/stripemock"
)

// The tests in this file run the webhook's bootstrap, built as for Lambda,
// under aws-lambda-rie: the real Lambda Runtime API.

func TestMain(m *testing.M) { os.Exit(lambdarie.Main(m)) }

// hungTimeout is the function timeout of the hung-API tests: the function
// must answer before it with its own response, whatever its length.
const hungTimeout = 6 * time.Second

// rieEnv is the environment of the webhook function under RIE, with
// apiBase as the Stripe API.
func rieEnv(apiBase string) map[string]string {
	return map[string]string{
		"STRIPE_WEBHOOK_SECRET": fixture.LocalSecret,
		"STRIPE_KEY":            stripemock.Key,
		"STRIPE_API_BASE":       apiBase,
	}
}

// runRIE runs the webhook's bootstrap under RIE, with the template's limits,
// for the rest of the test.
func runRIE(t *testing.T, env map[string]string, timeout time.Duration) *lambdarie.Function {
	t.Helper()
	// The template's timeout (unless the test gives a shorter one) and
	// MemorySize: a peak RSS above it fails the test.
	c := lambdarie.TemplateLimits(t, "WebhookFunction").Apply(lambdarie.Config{Bootstrap: lambdarie.Build(t, "./functions/webhook"), Env: env})
	if timeout != 0 {
		c.Timeout = timeout
	}
	return lambdarie.Run(t, c)
}

// invokeRIE sends a Lambda event to f and returns the result with the
// function's HTTP response, which must be JSON of the event's payload
// format (1.0 if v1). It checks that neither reveals a secret.
func invokeRIE(t *testing.T, f *lambdarie.Function, event []byte, v1 bool) (lambdarie.Result, response) {
	t.Helper()
	r, err := f.Invoke(t.Context(), event)
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != 200 {
		t.Fatalf("aws-lambda-rie answered %d %q; output:\n%s", r.Status, r.Body, r.Output)
	}
	checkNoSecrets(t, string(r.Body), r.Output)
	return r, parseResponse(t, string(r.Body), v1)
}

// resigned returns the fixture file at path signed now with the local
// secret, as Stripe would deliver it.
func resigned(tb testing.TB, path string) []byte {
	tb.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	out, err := fixture.Resign(data, fixture.LocalSecret, time.Now())
	if err != nil {
		tb.Fatalf("%s: %v", path, err)
	}
	return out
}

// oneDelivery returns the invocation's one "delivery" log line.
func oneDelivery(t *testing.T, r lambdarie.Result) map[string]any {
	t.Helper()
	dls := r.Messages(t, "delivery")
	if len(dls) != 1 {
		t.Fatalf("%d delivery log lines, want 1; output:\n%s", len(dls), r.Output)
	}
	return dls[0]
}

// TestRIEFixtures invokes the bootstrap with every webhook fixture, signed
// afresh: each is handled or ignored with a 200 and logs one delivery line.
func TestRIEFixtures(t *testing.T) {
	f := runRIE(t, rieEnv(stripemock.Start(t)), 0)
	for _, path := range fixturePaths(t) {
		name, _ := filepath.Rel(fixturesDir, path)
		t.Run(filepath.ToSlash(name), func(t *testing.T) {
			fx := loadFixture(t, path)
			r, res := invokeRIE(t, f, resigned(t, path), fx.v1)
			want := "ignored"
			if handledTypes[fx.eventType] {
				want = "handled"
			}
			if res.StatusCode != 200 || bodyField(t, res.Body, "status") != want {
				t.Errorf("response %d %s, want 200 {\"status\":%q}; output:\n%s", res.StatusCode, res.Body, want, r.Output)
			}
			dl := oneDelivery(t, r)
			if dl["event_id"] != fx.eventID || dl["outcome"] != want || dl["request_id"] != fx.requestID || dl["status"] != float64(200) {
				t.Errorf("delivery line %v, want event_id %s, outcome %s, request_id %s, status 200", dl, fx.eventID, want, fx.requestID)
			}
		})
	}
}

// TestRIEStatusCodes runs the main rows of the webhook's status table
// through the Runtime API, each on a function of its own.
func TestRIEStatusCodes(t *testing.T) {
	env := rieEnv("http://127.0.0.1:1") // charge.succeeded calls no Stripe API
	src := filepath.Join(fixturesDir, "charge.succeeded.json")
	sign := func(e *event, secret string) {
		e.Headers["stripe-signature"] = fixture.Sign([]byte(e.Body), secret, time.Now())
	}
	tests := []struct {
		name    string
		env     map[string]string
		modify  func(e *event)
		status  int
		error   string    // a fragment of the response's error
		outcome string    // of the delivery line
		header  [2]string // a header the response must carry
	}{
		{
			name: "bad signature", env: env, status: 400, error: "signature", outcome: "bad_signature",
			modify: func(e *event) { sign(e, otherSecret) },
		},
		{
			name: "wrong method", env: env, status: 405, error: "method not allowed", outcome: "method_not_allowed", header: [2]string{"Allow", "POST"},
			modify: func(e *event) { e.RequestContext.HTTP.Method = "GET" },
		},
		{
			name: "wrong Basic credentials", env: proctest.With(env, "BASIC_AUTH", basicUser+":"+basicPass),
			status: 401, error: "unauthorized", outcome: "unauthorized", header: [2]string{"WWW-Authenticate", "Basic"},
			modify: func(e *event) { e.Headers["authorization"] = basicAuth(basicUser, "wrong-password") },
		},
		{
			name: "not an event", env: env, status: 400, error: "not a Stripe event", outcome: "not_event",
			modify: func(e *event) {
				setBody(e, []byte(`{"object":"list","data":[]}`), false)
				sign(e, fixture.LocalSecret)
			},
		},
		{
			name: "unsigned", env: env, status: 400, error: "missing Stripe-Signature", outcome: "bad_signature",
			modify: func(e *event) { delete(e.Headers, "stripe-signature") },
		},
		{
			name: "no authentication configured", env: proctest.With(env, "STRIPE_WEBHOOK_SECRET", ""),
			status: 503, error: "not configured", outcome: "auth_not_configured",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := readEvent(t, src)
			sign(&e, fixture.LocalSecret)
			if tt.modify != nil {
				tt.modify(&e)
			}
			payload, err := json.Marshal(e)
			if err != nil {
				t.Fatal(err)
			}
			r, res := invokeRIE(t, runRIE(t, tt.env, 0), payload, false)
			if res.StatusCode != tt.status || !strings.Contains(bodyField(t, res.Body, "error"), tt.error) || bodyField(t, res.Body, "request_id") != e.RequestContext.RequestID {
				t.Errorf("response %d %s, want %d with an error containing %q and request_id %s", res.StatusCode, res.Body, tt.status, tt.error, e.RequestContext.RequestID)
			}
			if name, want := tt.header[0], tt.header[1]; name != "" && !strings.Contains(res.header(name), want) {
				t.Errorf("response header %s = %q, want it to contain %q; headers %v", name, res.header(name), want, res.Headers)
			}
			if dl := oneDelivery(t, r); dl["outcome"] != tt.outcome || dl["status"] != float64(tt.status) {
				t.Errorf("delivery line %v, want outcome %s, status %d", dl, tt.outcome, tt.status)
			}
		})
	}
}

// motoEnv is a function's environment for moto: the AWS SDK's settings,
// and kv's NAME, value pairs.
func motoEnv(srv *moto.Server, kv ...string) map[string]string {
	return proctest.With(moto.SDKEnv(srv.URL()), kv...)
}

// createSecret creates the Secrets Manager secret id holding secrets as a
// JSON object, as the README says to.
func createSecret(tb testing.TB, cfg aws.Config, id string, secrets map[string]string) {
	tb.Helper()
	value, err := json.Marshal(secrets)
	if err != nil {
		tb.Fatal(err)
	}
	in := &secretsmanager.CreateSecretInput{Name: aws.String(id), SecretString: aws.String(string(value))}
	if _, err := secretsmanager.NewFromConfig(cfg).CreateSecret(tb.Context(), in); err != nil {
		tb.Fatal(err)
	}
}

// TestRIESecretsManagerDedup runs the bootstrap as deployed: secrets from
// Secrets Manager (SECRETS_ID) and exactly-once handling in DynamoDB
// (DEDUP_TABLE), both on moto. A delivery is handled; Stripe's redelivery
// of it is answered duplicate without running the method again.
func TestRIESecretsManagerDedup(t *testing.T) {
	srv := moto.Start(t)
	cfg := srv.Config(t)
	const secretID, table = "stripetask/rie", "rie-events"
	createSecret(t, cfg, secretID, rieEnv(stripemock.Start(t)))
	if err := dedup.CreateTable(t.Context(), dynamodb.NewFromConfig(cfg), table); err != nil {
		t.Fatal(err)
	}
	// No secret in the function's environment: only where to find them.
	f := runRIE(t, motoEnv(srv, "SECRETS_ID", secretID, "DEDUP_TABLE", table), 0)

	path := filepath.Join(fixturesDir, "checkout.session.completed.json")
	fx := loadFixture(t, path)
	for i, want := range []string{"handled", "duplicate"} {
		r, res := invokeRIE(t, f, resigned(t, path), false)
		if res.StatusCode != 200 || bodyField(t, res.Body, "status") != want {
			t.Fatalf("delivery %d: %d %s, want 200 %s; output:\n%s", i, res.StatusCode, res.Body, want, r.Output)
		}
		if dl := oneDelivery(t, r); dl["outcome"] != want || dl["event_id"] != fx.eventID {
			t.Errorf("delivery %d: line %v, want outcome %s, event_id %s", i, dl, want, fx.eventID)
		}
	}
	if n := strings.Count(f.Output(), `"msg":"checkout completed"`); n != 1 {
		t.Errorf("the method ran %d times, want 1; output:\n%s", n, f.Output())
	}
}
