package main

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"stripetask/internal/awsconfig"
	"stripetask/internal/hungserver"
	"stripetask/internal/lambdarie"
	"stripetask/internal/moto"
	"stripetask/internal/proctest"
	"stripetask/internal/stripemock"
)

// failures are the ways each dependency fails in TestRIEHungDependencies
// (see hungserver.Failures for the network behaviour each models).
var failures = hungserver.Failures(trickleEvery)

// trickleEvery is the interval of the slow endpoints' bytes: a quarter of
// awsconfig.ReadTimeout, so that it never fires, even on a busy machine.
const trickleEvery = awsconfig.ReadTimeout / 4

// TestRIEHungDependencies runs the pay function's bootstrap under
// aws-lambda-rie (internal/lambdarie: the real Lambda Runtime API, with
// Lambda's 10 s Init limit and the freeze between invocations) with its
// secrets in Secrets Manager on moto_server (SECRETS_ID) and the Stripe
// API on stripe-mock, and fails one of the two, hung, refusing
// connections or trickling its answer (failures;
// AWS_ENDPOINT_URL_SECRETS_MANAGER, STRIPE_API_BASE). The first invocation
// after the cold start and the next, warm, one are both answered by the
// function itself, with its JSON error (503 without secrets; 504 when
// Stripe does not answer in time, hung or slow; 502 when it cannot be
// reached) and its request line, before the function's timeout; RIE's
// "Task timed out" would mean the function was killed, its answer and line
// lost (https://docs.aws.amazon.com/lambda/latest/dg/configuration-timeout.html).
// The Init phase ends within Lambda's 10 s
// (https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html);
// RIE counts it into the first invocation's timeout, which real Lambda
// does not.
func TestRIEHungDependencies(t *testing.T) {
	srv := moto.Start(t)
	sm := secretsmanager.NewFromConfig(srv.Config(t))
	createSecret := func(t *testing.T, id, apiBase string) {
		value, err := json.Marshal(baseEnv(apiBase))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := sm.CreateSecret(t.Context(), &secretsmanager.CreateSecretInput{Name: aws.String(id), SecretString: aws.String(string(value))}); err != nil {
			t.Fatal(err)
		}
	}
	const secretID = "stripetask/pay-hung"
	createSecret(t, secretID, stripemock.Start(t))
	bin := lambdarie.Build(t, "./functions/pay")
	limits := lambdarie.TemplateLimits(t, "PayFunction")
	motoEnv := func(kv ...string) map[string]string { return proctest.With(moto.SDKEnv(srv.URL()), kv...) }

	// secretsAt fails Secrets Manager at url; stripeAt gives the function
	// secrets whose STRIPE_API_BASE is url, as secret id.
	secretsAt := func(t *testing.T, url string) map[string]string {
		return motoEnv("SECRETS_ID", secretID, "AWS_ENDPOINT_URL_SECRETS_MANAGER", url)
	}
	stripeAt := func(id string) func(t *testing.T, url string) map[string]string {
		return func(t *testing.T, url string) map[string]string {
			createSecret(t, id, url)
			return motoEnv("SECRETS_ID", id)
		}
	}
	tests := []struct {
		dependency string
		failure    string
		env        func(t *testing.T, url string) map[string]string
		status     int
	}{
		{"Secrets Manager", "hung", secretsAt, 503},
		{"Secrets Manager", "refused", secretsAt, 503},
		{"Secrets Manager", "slow", secretsAt, 503},
		{"Secrets Manager", "slow-body", secretsAt, 503},
		{"Stripe API", "hung", stripeAt("stripetask/pay-stripe-hung"), 504},
		{"Stripe API", "refused", stripeAt("stripetask/pay-stripe-refused"), 502},
		// Stripe's answer does not come in time, as when it never answers.
		{"Stripe API", "slow", stripeAt("stripetask/pay-stripe-slow"), 504},
		{"Stripe API", "slow-body", stripeAt("stripetask/pay-stripe-slow-body"), 504},
	}
	for _, tt := range tests {
		t.Run(tt.dependency+"/"+tt.failure, func(t *testing.T) {
			t.Parallel()
			var url string
			var accepted func() int
			for _, fl := range failures {
				if fl.Name == tt.failure {
					url, accepted = fl.Start(t)
				}
			}
			c := limits.Apply(lambdarie.Config{Bootstrap: bin, Env: tt.env(t, url)})
			c.Timeout = hungTimeout // the template's MemorySize, a shorter timeout
			f := lambdarie.Run(t, c)
			var took [2]time.Duration
			var init time.Duration
			for i, name := range []string{"cold", "warm"} {
				e := readRequest(t, "customers.create.json") // a Stripe call
				r, res, body := invokeRIE(t, f, e)
				took[i] = r.Duration
				if d := r.CheckOwnAnswer(t, name, i, hungTimeout); i == 0 {
					init = d
				}
				if msg, _ := body["error"].(string); res.StatusCode != tt.status || msg == "" || body["request_id"] != e.RequestContext.RequestID {
					t.Errorf("%s: response %d %s, want %d with an error and request_id %s", name, res.StatusCode, res.Body, tt.status, e.RequestContext.RequestID)
				}
				if l := oneRequestLine(t, r); l["status"] != float64(tt.status) || l["route"] != "POST /customers" || l["request_id"] != e.RequestContext.RequestID {
					t.Errorf("%s: request line %v, want status %d, route POST /customers, request_id %s", name, l, tt.status, e.RequestContext.RequestID)
				}
			}
			if accepted != nil && accepted() == 0 {
				t.Errorf("the function never reached the %s %s", tt.failure, tt.dependency)
			}
			t.Logf("measured: pay, %s %s: Init %v, cold answer %v, warm answer %v, timeout %v",
				tt.dependency, tt.failure, init.Round(time.Millisecond), took[0].Round(time.Millisecond), took[1].Round(time.Millisecond), hungTimeout)
		})
	}
}
