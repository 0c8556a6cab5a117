// Package frozen_test runs each function that calls Handler methods (the
// webhook, EventBridge through the webhook's binary, the queue worker and the
// reconciler) on a platform that behaves as Lambda does, and checks the
// promise that matters most there: the runs of one event never overlap and
// at most one completes, even when a method ignores its ctx and its
// execution environment is frozen after the answer, for as long as it likes,
// and thawed after a redelivery ran in another environment.
//
// What is real and what is modelled:
//   - The Lambda Runtime API is aws-lambda-rie, the emulator `sam local`
//     runs (internal/lambdarie), one per execution environment; two
//     environments share one DynamoDB table on moto_server, as concurrent
//     environments of one function share the deployed table.
//   - The freeze is modelled by lambdarie as AWS documents it: the
//     environment is frozen (SIGSTOP, every thread) from the moment the
//     runtime asks for its next invocation until one is delivered
//     (https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html).
//   - The answer is what the function posted to the Runtime API, which
//     production Lambda returns to the caller as soon as it is posted
//     (https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html);
//     RIE itself reports 502 when the runtime then exits.
//   - Redeliveries are modelled as each source documents them: Stripe retries
//     a non-2xx webhook answer
//     (https://docs.stripe.com/webhooks#automatic-retries), SQS redelivers a
//     batch item failure after the visibility timeout
//     (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html),
//     Lambda retries a failed asynchronous invocation
//     (https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html),
//     and the reconciler runs on a schedule: the test sends the same event
//     again to the other environment.
package frozen_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"stripetask/internal/dedup"
	"stripetask/internal/fakestripe"
	"stripetask/internal/fixture"
	"stripetask/internal/lambdarie"
	"stripetask/internal/moto"
	"stripetask/internal/proctest"
)

func TestMain(m *testing.M) { os.Exit(lambdarie.Main(m)) }

// The bootstrap of these tests: the functions' wiring around a Handler whose
// ChargeSucceeded ignores its ctx on an event's first run.
const bootstrapPackage = "./functions/frozen/testdata/ignorectx"

const (
	whsec       = "whsec_frozen_test_secret"
	eventSource = "aws.partner/stripe.com/ed_frozen"
	// ignoreFor is how long the first run's method sleeps without looking
	// at its ctx: past its invocation's timeout, so that it is abandoned,
	// and over by the time the first environment is thawed (after the
	// claim's lease of 30 s), so that a run that survived the freeze would
	// complete at the thaw.
	ignoreFor = 12 * time.Second
	// timeout is the function timeout of the tests' environments.
	timeout = 5 * time.Second
	// leaseWait bounds the wait for the first run's claim to lapse: its
	// lease of 30 s from its last extension, with a margin for a busy
	// machine.
	leaseWait = 90 * time.Second
)

// source is one way an event reaches a function.
type source struct {
	name string
	role string // the bootstrap's ROLE
	// resource is the function's resource in template.yaml.
	resource string
	// env adds the source's settings.
	env func(t *testing.T) []string
	// payload is the invocation that carries event evt (attempt n).
	payload func(t *testing.T, evt []byte, n int) []byte
	// retried reports whether the answer asks for the event again, and
	// done whether it acknowledges it; neither: an unexpected answer.
	retried, done func(r lambdarie.Result) bool
}

// TestFrozenAbandonedRun: in each source, a first run whose method ignores
// its ctx is answered without it at its deadline; its environment is frozen
// (or ended) after the answer; a redelivery to a second environment finds
// the claim in progress until it lapses, then runs the event; thawing the
// first environment afterwards must not bring its run back: exactly one run
// completes, and no run starts while another is alive.
func TestFrozenAbandonedRun(t *testing.T) {
	bin := lambdarie.Build(t, bootstrapPackage)
	for _, src := range sources() {
		t.Run(src.name, func(t *testing.T) {
			t.Parallel()
			frozenScenario(t, bin, src)
		})
	}
}

func frozenScenario(t *testing.T, bin string, src source) {
	table := "frozen-" + src.name
	srv := moto.Start(t)
	if err := dedup.CreateTable(t.Context(), dynamodb.NewFromConfig(srv.ConfigFor()), table); err != nil {
		t.Fatal(err)
	}
	runs := filepath.Join(t.TempDir(), "runs")
	env := proctest.With(moto.SDKEnv(srv.URL()), append([]string{
		"ROLE", src.role, "RUNS_FILE", runs, "IGNORE_CTX_FOR", ignoreFor.String(),
		"DEDUP_TABLE", table, "STRIPE_KEY", "sk_test_frozen", "STRIPE_WEBHOOK_SECRET", whsec,
	}, src.env(t)...)...)
	// The template's MemorySize: peak RSS above it fails the test.
	mem := lambdarie.TemplateLimits(t, src.resource).MemoryMB
	envs := lambdarie.RunEnvironments(t, lambdarie.Config{Bootstrap: bin, Env: env, Timeout: timeout, MemoryMB: mem}, 2)
	a, b := envs[0], envs[1]
	evt := fakestripe.Event("evt_frozen_"+src.name, "charge.succeeded", time.Now().Add(-20*time.Minute).Unix(),
		`{"id":"ch_frozen_`+src.name+`","object":"charge","amount":100,"currency":"usd"}`)

	invoke := func(f *lambdarie.Function, n int) lambdarie.Result {
		t.Helper()
		r, err := f.Invoke(t.Context(), src.payload(t, evt, n))
		if err != nil {
			t.Fatal(err)
		}
		return r
	}

	// 1. The first run: answered without its method, in time.
	first := invoke(a, 1)
	if !src.retried(first) || first.Duration >= timeout {
		t.Fatalf("first delivery: answer %s after %v; want a retry asked for within %v; output:\n%s", first.Answer(), first.Duration, timeout, first.Output)
	}
	if !strings.Contains(first.Output, `"outcome":"handler_timeout"`) {
		t.Errorf("first delivery: no handler_timeout line; output:\n%s", first.Output)
	}
	answeredAt := time.Now()
	if !first.Exited { // still there: frozen until an invocation thaws it
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
		err := a.AwaitFrozen(ctx)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
	}

	// 2. Redeliveries to the other environment: in progress while the
	// first run's claim lives, then a run of its own.
	var second lambdarie.Result
	deadline := time.Now().Add(leaseWait)
	for n := 2; ; n++ {
		second = invoke(b, n)
		if !src.retried(second) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("still no run %v after the first answer; last answer %s; output:\n%s", leaseWait, second.Answer(), second.Output)
		}
		time.Sleep(2 * time.Second) // as a source would wait before retrying
	}
	if !src.done(second) {
		t.Fatalf("redelivery: answer %s; want the event done; output:\n%s", second.Answer(), second.Output)
	}

	// 3. The first environment thaws (an invocation reaches it) after the
	// redelivery's run has completed: its run must not resume.
	thaw := invoke(a, 99)
	// Give a resumed run the time to finish, as it would have: its sleep
	// ended long ago, so it would write its line at once.
	time.Sleep(time.Second)
	invoke(a, 100)

	lines := readRuns(t, runs)
	starts, dones := 0, 0
	for _, l := range lines {
		switch l.what {
		case "start":
			starts++
		case "done":
			dones++
		}
	}
	if dones != 1 {
		t.Errorf("%d runs completed, want exactly 1:\n%s", dones, dump(lines))
	}
	// No overlap: the second run started only after the first had gone.
	if starts >= 2 && lines[1].what == "start" && !lines[1].at.After(answeredAt) {
		t.Errorf("the second run started before the first was answered:\n%s", dump(lines))
	}
	for _, l := range lines {
		if l.what == "done" && l.pid == lines[0].pid {
			t.Errorf("the abandoned run (pid %d) completed after its environment was frozen or ended:\n%s", l.pid, dump(lines))
		}
	}
	t.Logf("%s: runs started %d, completed %d; first answered in %v (timeout %v); the first environment ended: %v; thawed as a cold start: %v",
		src.name, starts, dones, first.Duration.Round(time.Millisecond), timeout, first.Exited, thaw.ColdStart)
}

// run is one line of RUNS_FILE.
type run struct {
	what, event string
	pid         int
	at          time.Time
}

func readRuns(t *testing.T, path string) []run {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("no run was recorded: %v", err)
	}
	var out []run
	for l := range strings.SplitSeq(strings.TrimSpace(string(raw)), "\n") {
		f := strings.Fields(l)
		if len(f) != 4 {
			t.Fatalf("bad run line %q", l)
		}
		pid, _ := strconv.Atoi(f[2])
		ms, _ := strconv.ParseInt(f[3], 10, 64)
		out = append(out, run{f[0], f[1], pid, time.UnixMilli(ms)})
	}
	return out
}

func dump(lines []run) string {
	var b strings.Builder
	for _, l := range lines {
		fmt.Fprintf(&b, "  %s %s pid %d at %s\n", l.what, l.event, l.pid, l.at.Format("15:04:05.000"))
	}
	return b.String()
}

// sources are the four ways an event reaches a Handler method.
func sources() []source {
	return []source{
		{
			name: "webhook", role: "webhook", resource: "WebhookFunction",
			env:     func(*testing.T) []string { return nil },
			payload: webhookPayload,
			retried: func(r lambdarie.Result) bool { s := httpStatus(r); return s == 500 || s == 409 || s == 503 },
			done:    func(r lambdarie.Result) bool { return httpStatus(r) == 200 },
		},
		{
			name: "eventbridge", role: "webhook", resource: "WebhookFunction",
			env:     func(*testing.T) []string { return []string{"STRIPE_EVENT_SOURCE", eventSource} },
			payload: eventBridgePayload,
			retried: func(r lambdarie.Result) bool {
				return r.PostedError || strings.Contains(string(r.Answer()), `"errorMessage"`)
			},
			done: func(r lambdarie.Result) bool {
				a := string(r.Answer())
				return !r.PostedError && (strings.Contains(a, `"status":"handled"`) || strings.Contains(a, `"status":"duplicate"`))
			},
		},
		{
			name: "worker", role: "worker", resource: "WorkerFunction",
			env:     func(*testing.T) []string { return nil },
			payload: sqsPayload,
			retried: func(r lambdarie.Result) bool { return strings.Contains(string(r.Answer()), `"itemIdentifier"`) },
			done: func(r lambdarie.Result) bool {
				a := string(r.Answer())
				return !r.PostedError && strings.Contains(a, `"batchItemFailures"`) && !strings.Contains(a, `"itemIdentifier"`)
			},
		},
		{
			name: "reconcile", role: "reconcile", resource: "ReconcileFunction",
			env: func(t *testing.T) []string {
				return []string{"STRIPE_API_BASE", reconcileStripe(t), "RECONCILE_GRACE", "1m"}
			},
			payload: func(*testing.T, []byte, int) []byte { return []byte(scheduledEvent) },
			retried: func(r lambdarie.Result) bool { return !strings.Contains(r.Output, `"handled":1`) },
			done: func(r lambdarie.Result) bool {
				return strings.Contains(r.Output, `"handled":1`) || strings.Contains(r.Output, `"already_done":1`)
			},
		},
	}
}

// httpStatus is the status of an API Gateway answer, 0 for none.
func httpStatus(r lambdarie.Result) int {
	var res struct {
		StatusCode int `json:"statusCode"`
	}
	if json.Unmarshal(r.Answer(), &res) != nil {
		return 0
	}
	return res.StatusCode
}

// webhookPayload is an API Gateway HTTP API (payload 2.0) event of a Stripe
// delivery of evt, signed now.
func webhookPayload(t *testing.T, evt []byte, n int) []byte {
	ev := map[string]any{
		"version": "2.0", "routeKey": "POST /webhook", "rawPath": "/webhook", "rawQueryString": "",
		"headers": map[string]string{
			"content-type":     "application/json; charset=utf-8",
			"stripe-signature": fixture.Sign(evt, whsec, time.Now()),
			"user-agent":       "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
		},
		"requestContext": map[string]any{
			"http":      map[string]string{"method": "POST", "path": "/webhook", "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1"},
			"requestId": fmt.Sprintf("frozen-%d", n), "routeKey": "POST /webhook", "stage": "$default",
		},
		"body": string(evt), "isBase64Encoded": false,
	}
	return mustJSON(t, ev)
}

// eventBridgePayload is the EventBridge event of a Stripe event destination
// carrying evt, as Lambda receives it.
func eventBridgePayload(t *testing.T, evt []byte, n int) []byte {
	return mustJSON(t, map[string]any{
		"version": "0", "id": fmt.Sprintf("eb-frozen-%d", n), "detail-type": "charge.succeeded", "source": eventSource,
		"account": "123456789012", "time": time.Now().UTC().Format(time.RFC3339), "region": "us-east-1",
		"resources": []string{}, "detail": json.RawMessage(evt),
	})
}

// sqsPayload is the SQS event of queue mode's message carrying evt, as the
// event source mapping delivers it (attempt n is its receive count).
func sqsPayload(t *testing.T, evt []byte, n int) []byte {
	return mustJSON(t, map[string]any{"Records": []map[string]any{{
		"messageId": "msg-frozen", "receiptHandle": fmt.Sprintf("rh-%d", n), "body": string(evt),
		"attributes": map[string]string{
			"MessageGroupId": "ch_frozen_worker", "MessageDeduplicationId": "evt_frozen_worker",
			"ApproximateReceiveCount": strconv.Itoa(n), "SentTimestamp": strconv.FormatInt(time.Now().UnixMilli(), 10),
		},
		"messageAttributes": map[string]any{}, "md5OfBody": "", "eventSource": "aws:sqs",
		"eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:stripetask-events.fifo", "awsRegion": "us-east-1",
	}}})
}

// scheduledEvent is an EventBridge scheduled event, as the reconciler's
// schedule invokes it.
const scheduledEvent = `{"version":"0","id":"53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa","detail-type":"Scheduled Event","source":"aws.events",` +
	`"account":"123456789012","time":"2026-11-26T12:00:00Z","region":"us-east-1",` +
	`"resources":["arn:aws:events:us-east-1:123456789012:rule/stripetask-ReconcileSchedule"],"detail":{}}`

// reconcileStripe starts Stripe's Events API (fakestripe: stripe-mock's list
// ignores created and types) holding the reconciler's event.
func reconcileStripe(t *testing.T) string {
	fake := fakestripe.Start(t)
	fake.Add(t, fakestripe.Event("evt_frozen_reconcile", "charge.succeeded", time.Now().Add(-20*time.Minute).Unix(),
		`{"id":"ch_frozen_reconcile","object":"charge","amount":100,"currency":"usd"}`))
	return fake.URL()
}

func mustJSON(t *testing.T, v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
