package main

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"stripetask/internal/awsconfig"
	"stripetask/internal/dedup"
	"stripetask/internal/hungserver"
	"stripetask/internal/lambdarie"
	"stripetask/internal/moto"
	"stripetask/internal/stripemock"
)

// failures are the ways each dependency fails in TestRIEHungDependencies
// (see hungserver.Failures for the network behaviour each models).
var failures = hungserver.Failures(trickleEvery)

// trickleEvery is the interval of the slow endpoints' bytes: a quarter of
// awsconfig.ReadTimeout, so that it never fires, even on a busy machine.
const trickleEvery = awsconfig.ReadTimeout / 4

// TestRIEHungDependencies runs the webhook's bootstrap under aws-lambda-rie
// (internal/lambdarie: the real Lambda Runtime API, with Lambda's 10 s
// Init limit and the freeze between invocations) as deployed: secrets
// from Secrets Manager (SECRETS_ID), dedup in DynamoDB (DEDUP_TABLE),
// queue mode's SQS, all on moto_server, and the Stripe API on
// stripe-mock. Each case fails one dependency, hung, refusing
// connections or trickling its answer (failures), through the SDK's per-service endpoint setting
// (AWS_ENDPOINT_URL_<SERVICE>) or STRIPE_API_BASE. The first invocation
// after the cold start and the next, warm, one are both answered by the
// function itself, with its JSON status and its delivery line, before the
// function's timeout; RIE's "Task timed out" would mean the function was
// killed, its answer and line lost (Lambda's timeout:
// https://docs.aws.amazon.com/lambda/latest/dg/configuration-timeout.html).
// The Init phase ends within Lambda's 10 s
// (https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html).
// RIE counts Init into the first invocation's timeout, which real Lambda
// does not: the first answer has less time here than in Lambda.
func TestRIEHungDependencies(t *testing.T) {
	srv := moto.Start(t)
	cfg := srv.Config(t)
	// A table per case: the cases run at once, some on the same event.
	newTable := func(t *testing.T) string {
		name := "events-" + strings.NewReplacer("/", "-", " ", "-").Replace(t.Name())
		if err := dedup.CreateTable(t.Context(), dynamodb.NewFromConfig(cfg), name); err != nil {
			t.Fatal(err)
		}
		return name
	}
	q, err := sqs.NewFromConfig(cfg).CreateQueue(t.Context(), &sqs.CreateQueueInput{QueueName: aws.String("events.fifo"), Attributes: map[string]string{"FifoQueue": "true"}})
	if err != nil {
		t.Fatal(err)
	}
	stripeAPI := stripemock.Start(t)
	const secretID = "stripetask/hung"
	createSecret(t, cfg, secretID, rieEnv(stripeAPI))
	bin := lambdarie.Build(t, "./functions/webhook")
	limits := lambdarie.TemplateLimits(t, "WebhookFunction")

	charge := filepath.Join(fixturesDir, "charge.succeeded.json")             // runs a method, calls no Stripe API
	checkout := filepath.Join(fixturesDir, "checkout.session.completed.json") // its method lists line items through h.Stripe
	tests := []struct {
		dependency string
		// env returns the function's environment with the dependency at
		// url and dedup in table.
		env     func(t *testing.T, url, table string) map[string]string
		fixture string
		status  int
		error   string // the response's error
		outcome string // the delivery line's
	}{
		{
			dependency: "Secrets Manager", fixture: charge, status: 503, error: "secrets unavailable", outcome: "secrets_unavailable",
			env: func(t *testing.T, url, table string) map[string]string {
				return motoEnv(srv, "SECRETS_ID", secretID, "DEDUP_TABLE", table, "AWS_ENDPOINT_URL_SECRETS_MANAGER", url)
			},
		},
		{
			dependency: "DynamoDB", fixture: charge, status: 503, error: "dedup store unavailable", outcome: "dedup_unavailable",
			env: func(t *testing.T, url, table string) map[string]string {
				return motoEnv(srv, "SECRETS_ID", secretID, "DEDUP_TABLE", table, "AWS_ENDPOINT_URL_DYNAMODB", url)
			},
		},
		{
			dependency: "SQS", fixture: charge, status: 503, error: "queue unavailable", outcome: "queue_unavailable",
			env: func(t *testing.T, url, table string) map[string]string {
				return motoEnv(srv, "SECRETS_ID", secretID, "DEDUP_TABLE", table,
					"PROCESSING_MODE", "queue", "QUEUE_URL", aws.ToString(q.QueueUrl), "AWS_ENDPOINT_URL_SQS", url)
			},
		},
		{
			dependency: "Stripe API", fixture: checkout, status: 500, error: "handler failed", outcome: "handler_error",
			env: func(t *testing.T, url, table string) map[string]string {
				id := "stripetask/stripe-" + table
				createSecret(t, cfg, id, rieEnv(url))
				return motoEnv(srv, "SECRETS_ID", id, "DEDUP_TABLE", table)
			},
		},
	}
	for _, tt := range tests {
		for _, fl := range failures {
			t.Run(tt.dependency+"/"+fl.Name, func(t *testing.T) {
				t.Parallel()
				url, accepted := fl.Start(t)
				c := limits.Apply(lambdarie.Config{Bootstrap: bin, Env: tt.env(t, url, newTable(t))})
				c.Timeout = hungTimeout // the template's MemorySize, a shorter timeout
				f := lambdarie.Run(t, c)
				fx := loadFixture(t, tt.fixture)
				var took [2]time.Duration
				var init time.Duration
				for i, name := range []string{"cold", "warm"} {
					r, err := f.Invoke(t.Context(), resigned(t, tt.fixture))
					if err != nil {
						t.Fatal(err)
					}
					took[i] = r.Duration
					if d := r.CheckOwnAnswer(t, name, i, hungTimeout); i == 0 {
						init = d
					}
					res := parseResponse(t, string(r.Body), fx.v1)
					if res.StatusCode != tt.status || bodyField(t, res.Body, "error") != tt.error || bodyField(t, res.Body, "request_id") != fx.requestID {
						t.Errorf("%s: response %d %s, want %d {\"error\":%q,\"request_id\":%q}", name, res.StatusCode, res.Body, tt.status, tt.error, fx.requestID)
					}
					dl := oneDelivery(t, r)
					if dl["outcome"] != tt.outcome || dl["status"] != float64(tt.status) {
						t.Errorf("%s: delivery line %v, want outcome %s, status %d", name, dl, tt.outcome, tt.status)
					}
					if id := dl["event_id"]; id != fx.eventID && (id != nil || tt.outcome != "secrets_unavailable") {
						t.Errorf("%s: delivery line's event_id %v, want %s (none before the secrets authenticate it)", name, id, fx.eventID)
					}
					checkNoSecrets(t, string(r.Body), r.Output)
				}
				if accepted != nil && accepted() == 0 {
					t.Errorf("the function never reached the %s %s", fl.Name, tt.dependency)
				}
				t.Logf("measured: webhook, %s %s: Init %v, cold answer %v, warm answer %v, timeout %v",
					tt.dependency, fl.Name, init.Round(time.Millisecond), took[0].Round(time.Millisecond), took[1].Round(time.Millisecond), hungTimeout)
			})
		}
	}
}
