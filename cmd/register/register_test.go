package main

import (
	"context"
	"errors"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/stripe/stripe-go/v76"

	"stripetask/internal/reconcile"
	"stripetask/internal/stripemock"
)

const hookURL = "https://abc123.execute-api.us-east-1.amazonaws.com/webhook"

// others are endpoints of other URLs, so that the command pages past them.
var others = []stubEndpoint{
	{ID: "we_other1", URL: "https://other.example/1", APIVersion: stripe.APIVersion, Status: "enabled", Events: []string{"*"}},
	{ID: "we_other2", URL: hookURL + "/", APIVersion: stripe.APIVersion, Status: "enabled", Events: []string{"charge.failed"}},
	{ID: "we_other3", URL: "http://abc123.execute-api.us-east-1.amazonaws.com/webhook", APIVersion: stripe.APIVersion, Status: "enabled", Events: []string{"charge.failed"}},
}

// TestCreateWritesMergedSecret: with no endpoint for the stack's
// WebhookUrl, one is created pinned to stripe-go's API version, and the
// signing secret Stripe returns is written into the stack's SecretArn,
// ahead of the newest previous one, with the endpoint's id beside it
// (replacing an older one), keeping every other key, in one write.
//
// stripe-mock's create response carries no signing secret, so Stripe is
// the stub here, answering with Stripe's real webhook_endpoint object.
func TestCreateWritesMergedSecret(t *testing.T) {
	a := startAWS(t)
	events := handlerEvents(t)
	tests := []struct {
		name, secret string
		want         map[string]any
	}{
		{name: "empty secret", secret: `{}`, want: map[string]any{"STRIPE_WEBHOOK_SECRET": newSigningSecret, "STRIPE_WEBHOOK_ENDPOINT_ID": "we_stub4"}},
		{name: "other keys kept", secret: `{"STRIPE_KEY":"` + otherKeyValue + `","SLACK_URL":"https://hooks.example/<x>&y","N":7}`,
			want: map[string]any{"STRIPE_WEBHOOK_SECRET": newSigningSecret, "STRIPE_WEBHOOK_ENDPOINT_ID": "we_stub4", "STRIPE_KEY": otherKeyValue, "SLACK_URL": "https://hooks.example/<x>&y", "N": 7.0}},
		{name: "previous kept", secret: `{"STRIPE_KEY":"` + otherKeyValue + `","STRIPE_WEBHOOK_SECRET":"` + prevSigningSecret + `"}`,
			want: map[string]any{"STRIPE_WEBHOOK_SECRET": newSigningSecret + "," + prevSigningSecret, "STRIPE_WEBHOOK_ENDPOINT_ID": "we_stub4", "STRIPE_KEY": otherKeyValue}},
		{name: "only two kept, old endpoint id replaced", secret: `{"STRIPE_WEBHOOK_SECRET":"` + prevSigningSecret + "," + olderSigningSec + `","STRIPE_WEBHOOK_ENDPOINT_ID":"we_deleted"}`,
			want: map[string]any{"STRIPE_WEBHOOK_SECRET": newSigningSecret + "," + prevSigningSecret, "STRIPE_WEBHOOK_ENDPOINT_ID": "we_stub4"}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stack := "stripetask-create-" + string(rune('a'+i))
			arn := a.createSecret(t, stack+"/secret", tt.secret)
			a.createStack(t, stack, map[string]string{OutputWebhookURL: hookURL, OutputSecretARN: arn})
			stub := startStub(t, newSigningSecret, others...)
			rec := &recorder{}
			_, version := a.secret(t, arn)

			r := runCLI(t, stub.URL, rec, nil, "-stack", stack)
			if r.code != 0 {
				t.Fatalf("exit %d", r.code)
			}
			w := rec.writes()
			if len(w) != 1 || w[0].Method != "POST" || w[0].Path != "/v1/webhook_endpoints" {
				t.Fatalf("Stripe writes %+v, want one create", w)
			}
			f := w[0].Form
			if f.Get("url") != hookURL || f.Get("api_version") != stripe.APIVersion || f.Get("description") != "stripetask" || !slices.Equal(formList(f, "enabled_events"), events) {
				t.Errorf("create parameters %v; want url %s, api_version %s, description stripetask, enabled_events %q", f, hookURL, stripe.APIVersion, events)
			}
			if gets := len(rec.all()) - 1; gets != len(others) {
				t.Errorf("%d list pages read, want %d (one endpoint per page)", gets, len(others))
			}
			got, _ := a.secret(t, arn)
			if m := decodeSecret(t, got); !reflect.DeepEqual(m, tt.want) {
				t.Errorf("secret\n%s\nwant %v", got, tt.want)
			}
			if n := a.versions(t, arn, version); n != 1 {
				t.Errorf("%d writes of the secret, want one", n)
			}
			if !strings.Contains(r.stdout, "wrote STRIPE_WEBHOOK_SECRET and STRIPE_WEBHOOK_ENDPOINT_ID to "+arn+"\n") || !strings.Contains(r.stdout, "created webhook endpoint we_stub4") {
				t.Errorf("stdout does not report the endpoint and the write")
			}
		})
	}
}

// TestCreateAllEvents: a Handler with Default and -all-events subscribes
// the new endpoint to "*".
func TestCreateAllEvents(t *testing.T) {
	a := startAWS(t)
	arn := a.createSecret(t, "all", `{}`)
	stub := startStub(t, newSigningSecret)
	rec := &recorder{}
	r := runCLI(t, stub.URL, rec, func(c *Config) { c.Handler = dispatcherOf(withDefault{}) }, "-url", hookURL, "-secret-id", arn, "-all-events")
	if r.code != 0 {
		t.Fatalf("exit %d", r.code)
	}
	w := rec.writes()
	if len(w) != 1 || !slices.Equal(formList(w[0].Form, "enabled_events"), []string{"*"}) {
		t.Fatalf("writes %+v, want one create with enabled_events [*]", w)
	}
}

// TestNoEventsFailsFirst: a Handler with nothing to subscribe to fails
// before anything is read from Stripe or AWS.
func TestNoEventsFailsFirst(t *testing.T) {
	rec := &recorder{}
	awsCalled := false
	r := runCLI(t, "http://127.0.0.1:1", rec, func(c *Config) {
		c.Handler = dispatcherOf(noMethods{})
		c.AWS = func(context.Context) (AWSClients, error) { awsCalled = true; return AWSClients{}, errors.New("unused") }
	})
	if r.code != 1 || !strings.Contains(r.stderr, "no method named after an event type") {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	if len(rec.all()) != 0 || awsCalled {
		t.Errorf("requests were made: Stripe %v, AWS %v", rec.all(), awsCalled)
	}
	r = runCLI(t, "http://127.0.0.1:1", rec, func(c *Config) { c.Handler = dispatcherOf(misspelled{}) }, "-url", hookURL)
	if r.code != 1 || !strings.Contains(r.stderr, "did you mean ChargeSucceeded") {
		t.Fatalf("a Handler the runtime refuses: exit %d, stderr %q", r.code, r.stderr)
	}
}

// TestCreateWithStripeMock runs the create path against stripe-mock, whose
// create response has no signing secret: the command deletes the endpoint
// again rather than leave one whose secret is lost, and writes nothing.
func TestCreateWithStripeMock(t *testing.T) {
	a := startAWS(t)
	base := stripemock.Start(t)
	arn := a.createSecret(t, "mock", `{"STRIPE_WEBHOOK_SECRET":"`+prevSigningSecret+`"}`)
	before, version := a.secret(t, arn)
	rec := &recorder{}
	r := runCLI(t, base, rec, nil, "-url", hookURL, "-secret-id", arn)
	if r.code != 1 || !strings.Contains(r.stderr, "no signing secret") || !strings.Contains(r.stderr, "deleted the new endpoint") {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	w := rec.writes()
	if len(w) != 2 || w[0].Method != "POST" || w[0].Path != "/v1/webhook_endpoints" || w[1].Method != "DELETE" {
		t.Fatalf("writes %+v, want a create and its delete", w)
	}
	if f := w[0].Form; f.Get("api_version") != stripe.APIVersion || f.Get("url") != hookURL {
		t.Errorf("create parameters %v", f)
	}
	if after, v := a.secret(t, arn); after != before || v != version {
		t.Error("the secret changed")
	}
}

// TestUpdate: an endpoint with the URL gets its events replaced and is
// re-enabled, and its id is stored in the secret (once: a run that finds it
// there writes nothing); the signing secret in Secrets Manager keeps its
// value; an endpoint already up to date is not written.
func TestUpdate(t *testing.T) {
	a := startAWS(t)
	events := handlerEvents(t)
	const signing = `"STRIPE_WEBHOOK_SECRET":"` + prevSigningSecret + `"`
	arn := a.createSecret(t, "update", `{`+signing+`}`)
	a.createStack(t, "stripetask-update", map[string]string{OutputWebhookURL: hookURL, OutputSecretARN: arn})
	tests := []struct {
		name       string
		existing   stubEndpoint
		wantWrite  bool
		wantOut    []string
		wantParams map[string]string
		storedID   string // STRIPE_WEBHOOK_ENDPOINT_ID before the run; "" for none
	}{
		{name: "disabled, other events", existing: stubEndpoint{ID: "we_mine", URL: hookURL, APIVersion: stripe.APIVersion, Status: "disabled", Events: []string{"charge.failed", events[0]}},
			wantWrite: true, wantOut: []string{"updated webhook endpoint we_mine", "removed: charge.failed", "status: disabled -> enabled", "signing secret: unchanged"},
			wantParams: map[string]string{"disabled": "false"}},
		{name: "enabled, other events", existing: stubEndpoint{ID: "we_mine", URL: hookURL, APIVersion: stripe.APIVersion, Status: "enabled", Events: []string{"charge.failed"}},
			wantWrite: true, wantOut: []string{"updated webhook endpoint we_mine", "added: " + events[0]}, wantParams: map[string]string{"disabled": ""}},
		{name: "up to date, id stored before", existing: stubEndpoint{ID: "we_mine", URL: hookURL, APIVersion: stripe.APIVersion, Status: "enabled", Events: reversed(events)},
			wantOut: []string{"webhook endpoint we_mine is up to date", "STRIPE_WEBHOOK_ENDPOINT_ID in " + arn + " is up to date"}, storedID: "we_mine"},
		{name: "up to date, another id stored", existing: stubEndpoint{ID: "we_mine", URL: hookURL, APIVersion: stripe.APIVersion, Status: "enabled", Events: reversed(events)},
			wantOut: []string{"webhook endpoint we_mine is up to date", "wrote STRIPE_WEBHOOK_ENDPOINT_ID to " + arn}, storedID: "we_deleted"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			initial := `{` + signing + `}`
			if tt.storedID != "" {
				initial = `{` + signing + `,"STRIPE_WEBHOOK_ENDPOINT_ID":"` + tt.storedID + `"}`
			}
			a.putSecret(t, arn, initial)
			before, version := a.secret(t, arn)
			stub := startStub(t, newSigningSecret, others[0], others[1], tt.existing, others[2])
			rec := &recorder{}
			r := runCLI(t, stub.URL, rec, nil, "-stack", "stripetask-update")
			if r.code != 0 {
				t.Fatalf("exit %d", r.code)
			}
			w := rec.writes()
			switch {
			case !tt.wantWrite && len(w) != 0:
				t.Fatalf("writes %+v, want none", w)
			case tt.wantWrite:
				if len(w) != 1 || w[0].Method != "POST" || w[0].Path != "/v1/webhook_endpoints/we_mine" {
					t.Fatalf("writes %+v, want one update of we_mine", w)
				}
				f := w[0].Form
				if !slices.Equal(formList(f, "enabled_events"), events) {
					t.Errorf("enabled_events %q, want %q", formList(f, "enabled_events"), events)
				}
				for k, v := range tt.wantParams {
					if f.Get(k) != v {
						t.Errorf("%s=%q, want %q", k, f.Get(k), v)
					}
				}
				for _, k := range []string{"url", "api_version", "description"} {
					if f.Has(k) {
						t.Errorf("the update sets %s", k)
					}
				}
			}
			for _, s := range tt.wantOut {
				if !strings.Contains(r.stdout, s) {
					t.Errorf("stdout lacks %q", s)
				}
			}
			after, v := a.secret(t, arn)
			if tt.storedID == "we_mine" {
				if after != before || v != version {
					t.Error("the secret was written, though it held the endpoint's id")
				}
				return
			}
			want := map[string]any{"STRIPE_WEBHOOK_SECRET": prevSigningSecret, "STRIPE_WEBHOOK_ENDPOINT_ID": "we_mine"}
			if m := decodeSecret(t, after); !reflect.DeepEqual(m, want) || a.versions(t, arn, version) != 1 {
				t.Errorf("secret %s after %d writes, want %v in one", after, a.versions(t, arn, version), want)
			}
			// Run again: nothing left to write, anywhere.
			rec = &recorder{}
			r = runCLI(t, stub.URL, rec, nil, "-stack", "stripetask-update")
			if _, v2 := a.secret(t, arn); r.code != 0 || len(rec.writes()) != 0 || v2 != v {
				t.Errorf("a second run: exit %d, Stripe writes %+v, secret rewritten %v", r.code, rec.writes(), v2 != v)
			}
		})
	}
}

// TestUpdateWithStripeMock runs the update path against stripe-mock's
// fixture endpoint. It has no pinned api_version, so the command refuses
// until -allow-api-version-mismatch, then updates its events.
func TestUpdateWithStripeMock(t *testing.T) {
	a := startAWS(t)
	base := stripemock.Start(t)
	fixture := listFixture(t, base)
	if fixture.APIVersion != "" {
		t.Fatalf("stripe-mock's fixture endpoint has api_version %q; this test expects none", fixture.APIVersion)
	}
	arn := a.createSecret(t, "mock-update", `{"STRIPE_WEBHOOK_SECRET":"`+prevSigningSecret+`"}`)
	before, version := a.secret(t, arn)

	rec := &recorder{}
	r := runCLI(t, base, rec, nil, "-url", fixture.URL, "-secret-id", arn)
	if r.code != 1 || !strings.Contains(r.stderr, "no pinned api_version") || !strings.Contains(r.stderr, "-allow-api-version-mismatch") {
		t.Fatalf("without the flag: exit %d, stderr %q", r.code, r.stderr)
	}
	if w := rec.writes(); len(w) != 0 {
		t.Fatalf("writes %+v, want none", w)
	}

	r = runCLI(t, base, rec, nil, "-url", fixture.URL, "-secret-id", arn, "-dry-run", "-allow-api-version-mismatch")
	if r.code != 0 || !strings.Contains(r.stdout, "dry run: would update webhook endpoint "+fixture.ID) || !strings.Contains(r.stdout, "would write STRIPE_WEBHOOK_ENDPOINT_ID to "+arn) {
		t.Fatalf("dry run: exit %d", r.code)
	}
	if w := rec.writes(); len(w) != 0 {
		t.Fatalf("the dry run wrote %+v", w)
	}
	if after, v := a.secret(t, arn); after != before || v != version {
		t.Error("the dry run wrote the secret")
	}

	r = runCLI(t, base, rec, nil, "-url", fixture.URL, "-secret-id", arn, "-allow-api-version-mismatch")
	if r.code != 0 || !strings.Contains(r.stdout, "warning: endpoint "+fixture.ID+" has no pinned api_version") {
		t.Fatalf("with the flag: exit %d", r.code)
	}
	w := rec.writes()
	if len(w) != 1 || w[0].Path != "/v1/webhook_endpoints/"+fixture.ID || !slices.Equal(formList(w[0].Form, "enabled_events"), handlerEvents(t)) {
		t.Fatalf("writes %+v, want one update of %s with the handler's events", w, fixture.ID)
	}
	want := map[string]any{"STRIPE_WEBHOOK_SECRET": prevSigningSecret, "STRIPE_WEBHOOK_ENDPOINT_ID": fixture.ID}
	if after, _ := a.secret(t, arn); !reflect.DeepEqual(decodeSecret(t, after), want) {
		t.Errorf("secret %s, want %v: the signing secret as it was, the endpoint's id beside it", after, want)
	}
}

// TestAPIVersionMismatch: an existing endpoint on another API version is
// not updated as if pinned; the error says why and what to do.
func TestAPIVersionMismatch(t *testing.T) {
	stub := startStub(t, newSigningSecret, stubEndpoint{ID: "we_old", URL: hookURL, APIVersion: "2020-08-27", Status: "enabled", Events: []string{"charge.succeeded"}})
	rec := &recorder{}
	for _, args := range [][]string{{"-url", hookURL}, {"-url", hookURL, "-dry-run"}} {
		r := runCLI(t, stub.URL, rec, nil, args...)
		for _, s := range []string{"api_version 2020-08-27", "decodes " + stripe.APIVersion, "cannot change an endpoint's api_version", "delete", "we_old", "run register again"} {
			if !strings.Contains(r.stderr, s) {
				t.Errorf("%v: stderr lacks %q", args, s)
			}
		}
		if r.code != 1 {
			t.Errorf("%v: exit %d", args, r.code)
		}
	}
	if w := rec.writes(); len(w) != 0 {
		t.Fatalf("writes %+v, want none", w)
	}
}

// TestDuplicateURL: two endpoints with the URL are an error, not a guess.
func TestDuplicateURL(t *testing.T) {
	dup := stubEndpoint{URL: hookURL, APIVersion: stripe.APIVersion, Status: "enabled", Events: []string{"charge.succeeded"}}
	a, b := dup, dup
	a.ID, b.ID = "we_a", "we_b"
	stub := startStub(t, newSigningSecret, a, others[0], b)
	rec := &recorder{}
	r := runCLI(t, stub.URL, rec, nil, "-url", hookURL)
	if r.code != 1 || !strings.Contains(r.stderr, "2 Stripe webhook endpoints have the URL") || !strings.Contains(r.stderr, "we_a, we_b") {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	if w := rec.writes(); len(w) != 0 {
		t.Fatalf("writes %+v", w)
	}
}

// TestDryRunCreate: the plan is printed, the secret is read (checked) but
// not written, and nothing is sent to Stripe but the list.
func TestDryRunCreate(t *testing.T) {
	a := startAWS(t)
	arn := a.createSecret(t, "dry", `{"STRIPE_KEY":"`+otherKeyValue+`","STRIPE_WEBHOOK_SECRET":"`+prevSigningSecret+`"}`)
	a.createStack(t, "stripetask-dry", map[string]string{OutputWebhookURL: hookURL, OutputSecretARN: arn})
	before, version := a.secret(t, arn)
	stub := startStub(t, newSigningSecret, others...)
	rec := &recorder{}
	r := runCLI(t, stub.URL, rec, nil, "-stack", "stripetask-dry", "-dry-run")
	if r.code != 0 {
		t.Fatalf("exit %d", r.code)
	}
	for _, s := range []string{
		"webhook URL: " + hookURL + " (output WebhookUrl of stack stripetask-dry)",
		"dry run: would create webhook endpoint for " + hookURL + " (api_version " + stripe.APIVersion + ")",
		"enabled_events: " + eventList(handlerEvents(t)),
		"would write STRIPE_WEBHOOK_SECRET and STRIPE_WEBHOOK_ENDPOINT_ID to " + arn + " (output SecretArn of stack stripetask-dry; previous signing secret kept after it)",
		"dry run: nothing changed",
	} {
		if !strings.Contains(r.stdout, s) {
			t.Errorf("stdout lacks %q", s)
		}
	}
	if w := rec.writes(); len(w) != 0 {
		t.Fatalf("writes %+v, want none", w)
	}
	if after, v := a.secret(t, arn); after != before || v != version {
		t.Error("the secret was written")
	}
}

// TestSecretCheckedBeforeCreate: when the signing secret would have nowhere
// to go, the command fails before creating the endpoint, dry run or not.
func TestSecretCheckedBeforeCreate(t *testing.T) {
	a := startAWS(t)
	notJSON := a.createSecret(t, "notjson", "STRIPE_WEBHOOK_SECRET="+prevSigningSecret)
	array := a.createSecret(t, "array", `["`+prevSigningSecret+`"]`)
	notString := a.createSecret(t, "notstring", `{"STRIPE_WEBHOOK_SECRET":42}`)
	bin, err := a.sm.CreateSecret(t.Context(), &secretsmanager.CreateSecretInput{Name: aws.String("binary"), SecretBinary: []byte(prevSigningSecret)})
	if err != nil {
		t.Fatal(err)
	}
	a.createStack(t, "no-secret-output", map[string]string{OutputWebhookURL: hookURL})
	tests := []struct {
		name    string
		args    []string
		wantErr []string
	}{
		{name: "no secret id", args: []string{"-url", hookURL}, wantErr: []string{"pass -secret-id", "give stack stripetask a SecretArn output"}},
		{name: "stack without SecretArn", args: []string{"-stack", "no-secret-output"}, wantErr: []string{"pass -secret-id"}},
		{name: "secret does not exist", args: []string{"-url", hookURL, "-secret-id", "stripetask/missing"}, wantErr: []string{`"stripetask/missing" does not exist`, "nothing was created"}},
		{name: "not JSON", args: []string{"-url", hookURL, "-secret-id", notJSON}, wantErr: []string{"not valid JSON", "nothing was created"}},
		{name: "array", args: []string{"-url", hookURL, "-secret-id", array}, wantErr: []string{"not a JSON object", "nothing was created"}},
		{name: "signing secret not a string", args: []string{"-url", hookURL, "-secret-id", notString}, wantErr: []string{"STRIPE_WEBHOOK_SECRET is not a string"}},
		{name: "binary", args: []string{"-url", hookURL, "-secret-id", aws.ToString(bin.ARN)}, wantErr: []string{"binary"}},
	}
	for _, tt := range tests {
		for _, dry := range []bool{false, true} {
			args := tt.args
			if dry {
				args = append(slices.Clone(args), "-dry-run")
			}
			t.Run(tt.name+map[bool]string{true: " dry run"}[dry], func(t *testing.T) {
				stub := startStub(t, newSigningSecret, others...)
				rec := &recorder{}
				r := runCLI(t, stub.URL, rec, nil, args...)
				if r.code != 1 {
					t.Fatalf("exit %d", r.code)
				}
				for _, s := range tt.wantErr {
					if !strings.Contains(r.stderr, s) {
						t.Errorf("stderr lacks %q", s)
					}
				}
				if w := rec.writes(); len(w) != 0 {
					t.Fatalf("Stripe writes %+v, want none", w)
				}
			})
		}
	}
}

// failingPut is the moto Secrets Manager client with PutSecretValue failing.
type failingPut struct{ SecretsAPI }

func (failingPut) PutSecretValue(context.Context, *secretsmanager.PutSecretValueInput, ...func(*secretsmanager.Options)) (*secretsmanager.PutSecretValueOutput, error) {
	return nil, errors.New("AccessDeniedException: not authorized to perform secretsmanager:PutSecretValue")
}

// TestPutFailureDeletesEndpoint: if the signing secret cannot be stored
// after all, the new endpoint is deleted, so that running again works.
func TestPutFailureDeletesEndpoint(t *testing.T) {
	a := startAWS(t)
	arn := a.createSecret(t, "put-fails", `{}`)
	stub := startStub(t, newSigningSecret)
	rec := &recorder{}
	r := runCLI(t, stub.URL, rec, func(c *Config) {
		c.AWS = func(ctx context.Context) (AWSClients, error) {
			real, err := defaultAWS(ctx)
			real.SecretsManager = failingPut{real.SecretsManager}
			return real, err
		}
	}, "-url", hookURL, "-secret-id", arn)
	if r.code != 1 || !strings.Contains(r.stderr, "AccessDeniedException") || !strings.Contains(r.stderr, "deleted the new endpoint we_stub1 again") {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	w := rec.writes()
	if len(w) != 2 || w[1].Method != http.MethodDelete || w[1].Path != "/v1/webhook_endpoints/we_stub1" {
		t.Fatalf("writes %+v, want a create and its delete", w)
	}
	if left := stub.current(); len(left) != 0 {
		t.Errorf("endpoints left: %+v", left)
	}
}

// TestStackErrors: a missing stack or output is reported clearly.
func TestStackErrors(t *testing.T) {
	a := startAWS(t)
	a.createStack(t, "no-url", map[string]string{OutputSecretARN: "arn:aws:secretsmanager:us-east-1:123456789012:secret:x"})
	a.createStack(t, "bad-url", map[string]string{OutputWebhookURL: "not a url"})
	tests := []struct {
		name, stack, wantErr string
	}{
		{"no stack", "nope", `CloudFormation stack "nope" does not exist`},
		{"no WebhookUrl output", "no-url", "stack no-url has no WebhookUrl output"},
		{"WebhookUrl not a URL", "bad-url", "not an absolute https URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recorder{}
			r := runCLI(t, "http://127.0.0.1:1", rec, nil, "-stack", tt.stack)
			if r.code != 1 || !strings.Contains(r.stderr, tt.wantErr) {
				t.Fatalf("exit %d, stderr %q, want %q", r.code, r.stderr, tt.wantErr)
			}
			if len(rec.all()) != 0 {
				t.Errorf("Stripe was called: %+v", rec.all())
			}
		})
	}
}

func reversed(s []string) []string {
	c := slices.Clone(s)
	slices.Reverse(c)
	return c
}

// TestUpdateEndpointIDPaths: how an update stores the endpoint's id when
// it cannot simply write it. Without a secret to write to, the endpoint is
// updated all the same and a note says what is missing; with an unusable
// secret nothing is changed; when the write fails after the endpoint was
// updated, the error says to run register again (which then writes only
// the id).
func TestUpdateEndpointIDPaths(t *testing.T) {
	a := startAWS(t)
	notJSON := a.createSecret(t, "update-notjson", "STRIPE_WEBHOOK_SECRET="+prevSigningSecret)
	good := a.createSecret(t, "update-putfails", `{"STRIPE_WEBHOOK_SECRET":"`+prevSigningSecret+`"}`)
	mine := stubEndpoint{ID: "we_mine", URL: hookURL, APIVersion: stripe.APIVersion, Status: "disabled", Events: []string{"charge.failed"}}
	putFails := func(c *Config) {
		c.AWS = func(ctx context.Context) (AWSClients, error) {
			real, err := defaultAWS(ctx)
			real.SecretsManager = failingPut{real.SecretsManager}
			return real, err
		}
	}
	tests := []struct {
		name         string
		args         []string
		setup        func(*Config)
		code         int
		stripeWrites int
		out, errOut  string
	}{
		{name: "no secret", args: []string{"-url", hookURL}, code: 0, stripeWrites: 1,
			out: "note: no Secrets Manager secret to store the endpoint's id in as STRIPE_WEBHOOK_ENDPOINT_ID"},
		{name: "secret not JSON", args: []string{"-url", hookURL, "-secret-id", notJSON}, code: 1, stripeWrites: 0,
			errOut: "checked before updating the Stripe webhook endpoint; nothing was changed"},
		{name: "write fails", args: []string{"-url", hookURL, "-secret-id", good}, setup: putFails, code: 1, stripeWrites: 1,
			errOut: "the webhook endpoint we_mine is registered, but storing STRIPE_WEBHOOK_ENDPOINT_ID in"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stub := startStub(t, newSigningSecret, mine)
			rec := &recorder{}
			r := runCLI(t, stub.URL, rec, tt.setup, tt.args...)
			if r.code != tt.code || len(rec.writes()) != tt.stripeWrites || !strings.Contains(r.stdout, tt.out) || !strings.Contains(r.stderr, tt.errOut) {
				t.Errorf("exit %d, %d Stripe writes; want %d, %d, stdout with %q, stderr with %q", r.code, len(rec.writes()), tt.code, tt.stripeWrites, tt.out, tt.errOut)
			}
		})
	}
	// After the failed write, a run that can write stores the id alone.
	stub := startStub(t, newSigningSecret, stubEndpoint{ID: "we_mine", URL: hookURL, APIVersion: stripe.APIVersion, Status: "enabled", Events: handlerEvents(t)})
	rec := &recorder{}
	r := runCLI(t, stub.URL, rec, nil, "-url", hookURL, "-secret-id", good)
	got, _ := a.secret(t, good)
	if want := map[string]any{"STRIPE_WEBHOOK_SECRET": prevSigningSecret, "STRIPE_WEBHOOK_ENDPOINT_ID": "we_mine"}; r.code != 0 || len(rec.writes()) != 0 || !reflect.DeepEqual(decodeSecret(t, got), want) {
		t.Errorf("run again: exit %d, Stripe writes %+v, secret %s; want only the id written", r.code, rec.writes(), got)
	}
}

// TestEndpointIDName: register writes the id where the reconciler's
// watchdog reads it.
func TestEndpointIDName(t *testing.T) {
	if EndpointIDName != reconcile.EndpointIDSecret {
		t.Errorf("register writes %s, the reconciler reads %s", EndpointIDName, reconcile.EndpointIDSecret)
	}
}

// TestConnect checks make register -connect: it creates a Connect endpoint
// (connect=true) beside the account endpoint of the URL, appends its
// signing secret to STRIPE_WEBHOOK_SECRET and leaves the account endpoint's
// id; run again, it updates that Connect endpoint and writes nothing.
func TestConnect(t *testing.T) {
	a := startAWS(t)
	events := handlerEvents(t)
	arn := a.createSecret(t, "stripetask-connect/secret", `{"STRIPE_WEBHOOK_SECRET":"`+prevSigningSecret+`","STRIPE_WEBHOOK_ENDPOINT_ID":"we_account","K":"v"}`)
	a.createStack(t, "stripetask-connect", map[string]string{OutputWebhookURL: hookURL, OutputSecretARN: arn})
	account := stubEndpoint{ID: "we_account", URL: hookURL, APIVersion: stripe.APIVersion, Status: "enabled", Events: events, Metadata: map[string]string{"stripetask_scope": "account"}}
	stub := startStub(t, newSigningSecret, account)

	// Create.
	rec := &recorder{}
	r := runCLI(t, stub.URL, rec, nil, "-stack", "stripetask-connect", "-connect")
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stdout)
	}
	w := rec.writes()
	if len(w) != 1 || w[0].Path != "/v1/webhook_endpoints" || w[0].Form.Get("connect") != "true" || w[0].Form.Get("metadata[stripetask_scope]") != "connect" || !slices.Equal(formList(w[0].Form, "enabled_events"), events) {
		t.Fatalf("Stripe writes %+v, want one Connect create with the Handler's events", w)
	}
	eps := stub.current()
	if len(eps) != 2 || !eps[1].Connect || eps[0].ID != "we_account" {
		t.Fatalf("endpoints %+v", eps)
	}
	got, _ := a.secret(t, arn)
	want := map[string]any{"STRIPE_WEBHOOK_SECRET": prevSigningSecret + "," + newSigningSecret, "STRIPE_WEBHOOK_CONNECT_SECRET": newSigningSecret, "STRIPE_WEBHOOK_ENDPOINT_ID": "we_account", "K": "v"}
	if m := decodeSecret(t, got); !reflect.DeepEqual(m, want) {
		t.Fatalf("secret %s\nwant %v", got, want)
	}
	if strings.Contains(r.stdout, "whsec_") {
		t.Fatal("a signing secret was printed")
	}

	// Update: the Connect endpoint is found by its metadata and updated;
	// the account endpoint and the secret are left alone.
	_, version := a.secret(t, arn)
	rec = &recorder{}
	r = runCLI(t, stub.URL, rec, nil, "-stack", "stripetask-connect", "-connect")
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stdout)
	}
	if w := rec.writes(); len(w) != 0 || !strings.Contains(r.stdout, "is up to date") {
		t.Fatalf("second run wrote %+v\n%s", w, r.stdout)
	}
	if n := a.versions(t, arn, version); n != 0 {
		t.Fatalf("the secret was written %d times on update", n)
	}

	// Without -connect, the account endpoint is the one updated.
	rec = &recorder{}
	if r := runCLI(t, stub.URL, rec, nil, "-stack", "stripetask-connect"); r.code != 0 || !strings.Contains(r.stdout, "we_account") {
		t.Fatalf("account run: exit %d\n%s", r.code, r.stdout)
	}
}
