package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"stripetask/internal/awsconfig"
	"stripetask/internal/dedup"
	"stripetask/internal/hungserver"
	"stripetask/internal/lambdarie"
	"stripetask/internal/moto"
	"stripetask/internal/proctest"
	"stripetask/internal/stripemock"
	"stripetask/internal/testlog"
)

func TestMain(m *testing.M) { os.Exit(lambdarie.Main(m)) }

// hungTimeout is the function timeout of the hung-dependency tests: the
// function must answer before it with its own response, whatever its
// length.
const hungTimeout = 6 * time.Second

// failures are the ways each dependency fails in TestRIEHungDependencies
// (see hungserver.Failures for the network behaviour each models).
var failures = hungserver.Failures(trickleEvery)

// trickleEvery is the interval of the slow endpoints' bytes: a quarter of
// awsconfig.ReadTimeout, so that it never fires, even on a busy machine.
const trickleEvery = awsconfig.ReadTimeout / 4

// sqsEvent is the event Lambda's SQS event source mapping invokes the
// worker with (https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html):
// one message of the FIFO queue, carrying the Stripe event body as the
// webhook queued it, on its receive'th delivery.
func sqsEvent(t *testing.T, id string, body []byte, receive int) []byte {
	t.Helper()
	e, err := json.Marshal(map[string]any{"Records": []map[string]any{{
		"messageId": id, "receiptHandle": fmt.Sprintf("rh-%s-%d", id, receive), "body": string(body),
		"attributes": map[string]string{
			"MessageGroupId": "ch_hung", "MessageDeduplicationId": id,
			"ApproximateReceiveCount": strconv.Itoa(receive), "SentTimestamp": strconv.FormatInt(time.Now().UnixMilli(), 10),
		},
		"messageAttributes": map[string]any{}, "eventSource": "aws:sqs",
		"eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:stripetask-events.fifo", "awsRegion": "us-east-1",
	}}})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// TestRIEHungDependencies runs the worker's bootstrap under aws-lambda-rie
// (internal/lambdarie: the real Lambda Runtime API, with Lambda's 10 s
// Init limit and the freeze between invocations) as deployed: secrets from
// Secrets Manager (SECRETS_ID) and dedup in DynamoDB (DEDUP_TABLE), both
// on moto_server, and the Stripe API on stripe-mock. SQS is the worker's
// trigger, not a client of it: the test is the event source mapping.
// Each case fails one dependency, hung, refusing connections or
// trickling its answer (failures; AWS_ENDPOINT_URL_SECRETS_MANAGER, AWS_ENDPOINT_URL_DYNAMODB,
// STRIPE_API_BASE). The first invocation after the cold start and the
// next, warm, one (the message's redelivery) are both answered by the
// function itself, before the function's timeout, with a batch response
// naming the message as failed, so that SQS delivers it again
// (ReportBatchItemFailures), and its delivery line; RIE's "Task timed out"
// would fail the whole batch, its line lost
// (https://docs.aws.amazon.com/lambda/latest/dg/configuration-timeout.html).
// The Init phase ends within Lambda's 10 s
// (https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html);
// RIE counts it into the first invocation's timeout, which real Lambda
// does not.
func TestRIEHungDependencies(t *testing.T) {
	srv := moto.Start(t)
	cfg := srv.Config(t)
	sm := secretsmanager.NewFromConfig(cfg)
	createSecret := func(t *testing.T, id, apiBase string) {
		value, err := json.Marshal(map[string]string{"STRIPE_KEY": stripemock.Key, "STRIPE_API_BASE": apiBase})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := sm.CreateSecret(t.Context(), &secretsmanager.CreateSecretInput{Name: aws.String(id), SecretString: aws.String(string(value))}); err != nil {
			t.Fatal(err)
		}
	}
	const secretID = "stripetask/worker-hung"
	createSecret(t, secretID, stripemock.Start(t))
	bin := lambdarie.Build(t, "./functions/worker")
	limits := lambdarie.TemplateLimits(t, "WorkerFunction")

	tests := []struct {
		dependency string
		env        func(t *testing.T, url, table string) map[string]string
		event      string // the fixture whose event the message carries
		outcome    string // of the delivery line
	}{
		{"Secrets Manager", func(t *testing.T, url, table string) map[string]string {
			return proctest.With(moto.SDKEnv(srv.URL()), "SECRETS_ID", secretID, "DEDUP_TABLE", table, "AWS_ENDPOINT_URL_SECRETS_MANAGER", url)
		}, "charge.succeeded", "secrets_unavailable"},
		{"DynamoDB", func(t *testing.T, url, table string) map[string]string {
			return proctest.With(moto.SDKEnv(srv.URL()), "SECRETS_ID", secretID, "DEDUP_TABLE", table, "AWS_ENDPOINT_URL_DYNAMODB", url)
		}, "charge.succeeded", "dedup_unavailable"},
		{"Stripe API", func(t *testing.T, url, table string) map[string]string {
			id := "stripetask/worker-stripe-" + table
			createSecret(t, id, url)
			return proctest.With(moto.SDKEnv(srv.URL()), "SECRETS_ID", id, "DEDUP_TABLE", table)
		}, "checkout.session.completed", "handler_error"}, // its method lists line items through h.Stripe
	}
	for _, tt := range tests {
		for _, fl := range failures {
			t.Run(tt.dependency+"/"+fl.Name, func(t *testing.T) {
				t.Parallel()
				// A table per case: the cases run at once, on the same events.
				table := "events-" + strings.NewReplacer("/", "-", " ", "-").Replace(t.Name())
				if err := dedup.CreateTable(t.Context(), dynamodb.NewFromConfig(cfg), table); err != nil {
					t.Fatal(err)
				}
				url, accepted := fl.Start(t)
				c := limits.Apply(lambdarie.Config{Bootstrap: bin, Env: tt.env(t, url, table)})
				c.Timeout = hungTimeout // the template's MemorySize, a shorter timeout
				f := lambdarie.Run(t, c)
				body := fixtureBody(t, tt.event)
				var took [2]time.Duration
				var init time.Duration
				for i, name := range []string{"cold", "warm"} {
					r, err := f.Invoke(t.Context(), sqsEvent(t, "msg-hung", body, i+1))
					if err != nil {
						t.Fatal(err)
					}
					took[i] = r.Duration
					if d := r.CheckOwnAnswer(t, name, i, hungTimeout); i == 0 {
						init = d
					}
					if want := `{"batchItemFailures":[{"itemIdentifier":"msg-hung"}]}`; string(r.Body) != want {
						t.Errorf("%s: answer %s, want %s", name, r.Body, want)
					}
					lines := testlog.Messages(t, r.Output, "delivery")
					if len(lines) != 1 || lines[0]["outcome"] != tt.outcome || lines[0]["source"] != "queue" {
						t.Errorf("%s: delivery lines %v, want one from the queue with outcome %s; output:\n%s", name, lines, tt.outcome, r.Output)
					}
					if strings.Contains(r.Output, stripemock.Key) {
						t.Errorf("%s: the output reveals STRIPE_KEY:\n%s", name, r.Output)
					}
				}
				if accepted != nil && accepted() == 0 {
					t.Errorf("the function never reached the %s %s", fl.Name, tt.dependency)
				}
				t.Logf("measured: worker, %s %s: Init %v, cold answer %v, warm answer %v, timeout %v",
					tt.dependency, fl.Name, init.Round(time.Millisecond), took[0].Round(time.Millisecond), took[1].Round(time.Millisecond), hungTimeout)
			})
		}
	}
}
