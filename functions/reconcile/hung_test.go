package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"stripetask/internal/awsconfig"
	"stripetask/internal/dedup"
	"stripetask/internal/fakestripe"
	"stripetask/internal/hungserver"
	"stripetask/internal/lambdarie"
	"stripetask/internal/moto"
	"stripetask/internal/proctest"
)

// hungTimeout is the function timeout of the hung-dependency tests: the
// function must answer before it with its own answer, whatever its
// length.
const hungTimeout = 6 * time.Second

// failures are the ways each dependency fails in TestRIEHungDependencies
// (see hungserver.Failures for the network behaviour each models).
var failures = hungserver.Failures(trickleEvery)

// trickleEvery is the interval of the slow endpoints' bytes: a quarter of
// awsconfig.ReadTimeout, so that it never fires, even on a busy machine.
const trickleEvery = awsconfig.ReadTimeout / 4

// TestRIEHungDependencies runs the reconciler's bootstrap under
// aws-lambda-rie (internal/lambdarie: the real Lambda Runtime API, with
// Lambda's 10 s Init limit and the freeze between invocations), invoked
// by its schedule, as deployed: secrets from Secrets Manager (SECRETS_ID)
// and its state and dedup in DynamoDB (DEDUP_TABLE), both on moto_server,
// and Stripe's Events API on fakestripe (stripe-mock's event list ignores
// its filters), holding a missed event. Each case fails one dependency,
// hung, refusing connections or trickling its answer (failures;
// AWS_ENDPOINT_URL_SECRETS_MANAGER,
// AWS_ENDPOINT_URL_DYNAMODB, STRIPE_API_BASE). The first invocation after
// the cold start and the next, warm, one are both answered by the function
// itself, before the function's timeout, with its own error (the pass
// failed: Lambda retries a failed scheduled invocation and its Errors
// metric counts it) and its summary line; RIE's "Task timed out" would
// mean the pass was killed, its summary lost
// (https://docs.aws.amazon.com/lambda/latest/dg/configuration-timeout.html).
// The Init phase ends within Lambda's 10 s
// (https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html);
// RIE counts it into the first invocation's timeout, which real Lambda
// does not.
func TestRIEHungDependencies(t *testing.T) {
	srv := moto.Start(t)
	cfg := srv.Config(t)
	sm := secretsmanager.NewFromConfig(cfg)
	fake := fakestripe.Start(t)
	fake.Add(t, fakestripe.Event("evt_hung_1", "charge.succeeded", time.Now().Add(-30*time.Minute).Unix(), `{"id":"ch_hung_1","object":"charge","amount":100,"currency":"usd"}`))
	createSecret := func(t *testing.T, id, apiBase string) {
		value, err := json.Marshal(map[string]string{"STRIPE_KEY": "sk_test_123", "STRIPE_API_BASE": apiBase})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := sm.CreateSecret(t.Context(), &secretsmanager.CreateSecretInput{Name: aws.String(id), SecretString: aws.String(string(value))}); err != nil {
			t.Fatal(err)
		}
	}
	const secretID = "stripetask/reconcile-hung"
	createSecret(t, secretID, fake.URL())
	bin := lambdarie.Build(t, "./functions/reconcile")
	limits := lambdarie.TemplateLimits(t, "ReconcileFunction")
	env := func(kv ...string) map[string]string {
		return proctest.With(moto.SDKEnv(srv.URL()), append([]string{"RECONCILE_GRACE", "1m"}, kv...)...)
	}

	tests := []struct {
		dependency string
		env        func(t *testing.T, url, table string) map[string]string
		error      string // in the pass's error
	}{
		{"Secrets Manager", func(t *testing.T, url, table string) map[string]string {
			return env("SECRETS_ID", secretID, "DEDUP_TABLE", table, "AWS_ENDPOINT_URL_SECRETS_MANAGER", url)
		}, "loading the secrets"},
		{"DynamoDB", func(t *testing.T, url, table string) map[string]string {
			return env("SECRETS_ID", secretID, "DEDUP_TABLE", table, "AWS_ENDPOINT_URL_DYNAMODB", url)
		}, "reading the state"},
		{"Stripe Events API", func(t *testing.T, url, table string) map[string]string {
			id := "stripetask/reconcile-stripe-" + table
			createSecret(t, id, url)
			return env("SECRETS_ID", id, "DEDUP_TABLE", table)
		}, "events"},
	}
	for _, tt := range tests {
		for _, fl := range failures {
			t.Run(tt.dependency+"/"+fl.Name, func(t *testing.T) {
				t.Parallel()
				// A table per case: the cases run at once, each a pass of its own.
				table := "reconcile-" + strings.NewReplacer("/", "-", " ", "-").Replace(t.Name())
				if err := dedup.CreateTable(t.Context(), dynamodb.NewFromConfig(cfg), table); err != nil {
					t.Fatal(err)
				}
				url, accepted := fl.Start(t)
				c := limits.Apply(lambdarie.Config{Bootstrap: bin, Env: tt.env(t, url, table)})
				c.Timeout = hungTimeout // the template's MemorySize, a shorter timeout
				f := lambdarie.Run(t, c)
				var took [2]time.Duration
				var init time.Duration
				for i, name := range []string{"cold", "warm"} {
					r, err := f.Invoke(t.Context(), []byte(scheduledEvent))
					if err != nil {
						t.Fatal(err)
					}
					took[i] = r.Duration
					if d := r.CheckOwnAnswer(t, name, i, hungTimeout); i == 0 {
						init = d
					}
					if strings.Contains(r.Output+string(r.Posted), "sk_test_123") {
						t.Errorf("%s: the output reveals STRIPE_KEY:\n%s", name, r.Output)
					}
					lines := summaries(t, r.Output)
					if len(lines) != 1 || lines[0]["request_id"] != r.RequestID || lines[0]["handled"] != 0.0 {
						t.Fatalf("%s: summary lines %v, want one of this invocation, nothing handled; output:\n%s", name, lines, r.Output)
					}
					var answer struct {
						ErrorMessage string `json:"errorMessage"`
					}
					if err := json.Unmarshal(r.Posted, &answer); err != nil || !r.PostedError || !strings.Contains(answer.ErrorMessage, tt.error) {
						t.Errorf("%s: the function posted %s (as an error: %v), want an error saying %q", name, r.Posted, r.PostedError, tt.error)
					}
					if lines[0]["level"] != "ERROR" {
						t.Errorf("%s: summary %v, want an error line", name, lines[0])
					}
				}
				if accepted != nil && accepted() == 0 {
					t.Errorf("the function never reached the %s %s", fl.Name, tt.dependency)
				}
				t.Logf("measured: reconcile, %s %s: Init %v, cold answer %v, warm answer %v, timeout %v",
					tt.dependency, fl.Name, init.Round(time.Millisecond), took[0].Round(time.Millisecond), took[1].Round(time.Millisecond), hungTimeout)
			})
		}
	}
}
