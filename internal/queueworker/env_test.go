package queueworker_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/stripe/stripe-go/v76"

	"stripetask/dispatch"
	"stripetask/internal/bootstrap"
	"stripetask/internal/dedup"
	"stripetask/internal/eventqueue"
	"stripetask/internal/fixture"
	"stripetask/internal/function"
	"stripetask/internal/moto"
	"stripetask/internal/pipeline"
	"stripetask/internal/queueworker"
	"stripetask/internal/testlog"
	"stripetask/internal/transport"
	"stripetask/internal/webhookhttp"
	"stripetask/secrets"
)

// Settings of the test world.
const (
	// testSecret signs the test deliveries.
	testSecret = "whsec_queueworker_test_secret_0123456789"
	// visibility is the queue's visibility timeout, in seconds: how long a
	// failed message waits before it is delivered again.
	visibility = 1
)

// recHandler is the Handler of the tests: every method reports to rec.
type recHandler struct {
	dispatch.Env
	rec *recorder
}

// CustomerSubscriptionUpdated runs for customer.subscription.updated: one
// object, a subscription, per event.
func (h *recHandler) CustomerSubscriptionUpdated(ctx context.Context, s *stripe.Subscription) error {
	return h.rec.run(ctx, &h.Env, s.ID)
}

// BalanceAvailable runs for balance.available, whose object (the balance)
// has no id.
func (h *recHandler) BalanceAvailable(ctx context.Context, b *stripe.Balance) error {
	return h.rec.run(ctx, &h.Env, "")
}

// recorder records what the methods did: per event how often they ran and
// succeeded, per object the order of the runs and whether two ran at once.
// It can make an event's run fail or panic, a given number of times.
type recorder struct {
	// hold is how long each run lasts, so that overlapping runs overlap.
	hold time.Duration
	// checkStale makes each run ask h.Stale and record the answer.
	checkStale bool

	mu        sync.Mutex
	failures  map[string]int      // event id → runs left that return an error
	panics    map[string]int      // event id → runs left that panic
	runs      map[string]int      // event id → runs
	succeeded map[string]int      // event id → runs that returned nil
	done      map[string][]string // object id → event ids, in the order they succeeded
	stale     map[string]bool     // event id → what h.Stale said
	active    map[string]int      // object id → runs in progress
	overlaps  []string            // events that started while another of their object ran
	running   int                 // runs in progress, of every object
	peak      int                 // the most runs in progress at once
}

func newRecorder() *recorder {
	return &recorder{
		failures: map[string]int{}, panics: map[string]int{}, runs: map[string]int{},
		succeeded: map[string]int{}, done: map[string][]string{}, stale: map[string]bool{},
		active: map[string]int{},
	}
}

// failNext makes the next n runs of event id return an error.
func (r *recorder) failNext(id string, n int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failures[id] = n
}

// panicNext makes the next n runs of event id panic.
func (r *recorder) panicNext(id string, n int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.panics[id] = n
}

// run is the body of every method.
func (r *recorder) run(ctx context.Context, env *dispatch.Env, object string) error {
	id := env.Event.ID
	r.mu.Lock()
	r.runs[id]++
	if object != "" {
		r.active[object]++
		if r.active[object] > 1 {
			r.overlaps = append(r.overlaps, fmt.Sprintf("%s started while another event of %s ran", id, object))
		}
	}
	r.running++
	r.peak = max(r.peak, r.running)
	fail, panics := r.failures[id] > 0, r.panics[id] > 0
	if fail {
		r.failures[id]--
	}
	if panics {
		r.panics[id]--
	}
	r.mu.Unlock()
	defer func() { // also when the run panics
		r.mu.Lock()
		defer r.mu.Unlock()
		r.running--
		if object != "" {
			r.active[object]--
		}
	}()
	if r.hold > 0 {
		select {
		case <-time.After(r.hold):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if r.checkStale {
		stale, err := env.Stale(ctx)
		if err != nil {
			return fmt.Errorf("stale check: %w", err)
		}
		r.mu.Lock()
		r.stale[id] = stale
		r.mu.Unlock()
	}
	if panics {
		panic("test panic in " + id)
	}
	if fail {
		return fmt.Errorf("test failure of %s", id)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.succeeded[id]++
	if object != "" {
		r.done[object] = append(r.done[object], id)
	}
	return nil
}

// count returns how often event id ran, and how often it succeeded.
func (r *recorder) count(id string) (runs, succeeded int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.runs[id], r.succeeded[id]
}

// allSucceeded reports whether every event of ids succeeded at least once.
func (r *recorder) allSucceeded(ids []string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, id := range ids {
		if r.succeeded[id] == 0 {
			return false
		}
	}
	return true
}

// world is one moto_server (SQS and DynamoDB) with a dedup table, the
// recording Handler and the log every function of the test writes to.
type world struct {
	srv   *moto.Server
	sqs   *sqs.Client
	ddb   *dynamodb.Client
	table string // the dedup table's name
	rec   *recorder
	log   *testlog.Buffer
	deps  function.Deps
	d     *dispatch.Dispatcher
	store *dedup.DynamoDB
}

// newWorld starts a moto_server of the test's own and returns a world on
// it.
func newWorld(t testing.TB) *world {
	t.Helper()
	return newWorldOn(t, moto.Start(t))
}

// newWorldOn points the AWS SDK at srv (moto.Server.Env, so the test
// cannot run in parallel) and returns a world on it, with a dedup table
// named after the test.
func newWorldOn(t testing.TB, srv *moto.Server) *world {
	t.Helper()
	cfg := srv.Config(t)
	w := newBareWorld(t)
	w.srv, w.sqs, w.ddb = srv, sqs.NewFromConfig(cfg), dynamodb.NewFromConfig(cfg)
	w.table = "events-" + tableChars.ReplaceAllString(t.Name(), "-")
	if err := createTable(t, w); err != nil {
		t.Fatal(err)
	}
	store, err := dedup.DynamoDBFromConfig(t.Context(), w.table, dedup.Options{})
	if err != nil {
		t.Fatal(err)
	}
	w.store = store
	return w
}

// tableChars matches what a DynamoDB table name may not hold.
var tableChars = regexp.MustCompile(`[^a-zA-Z0-9_.-]+`)

// newBareWorld is a world without AWS: no moto_server, no dedup store, for
// a test that gives the webhook a queue of its own.
func newBareWorld(t testing.TB) *world {
	t.Helper()
	w := &world{rec: newRecorder(), log: &testlog.Buffer{}}
	log := bootstrap.NewLogger(w.log, slog.LevelInfo)
	w.deps = function.Deps{
		Secrets:   secrets.Static{"STRIPE_WEBHOOK_SECRET": testSecret, "STRIPE_KEY": "sk_test_queueworker"},
		Log:       log,
		RequestID: transport.RequestID,
	}
	var err error
	if w.d, err = dispatch.New(recHandler{rec: w.rec}, dispatch.WithLogger(log)); err != nil {
		t.Fatal(err)
	}
	return w
}

// createQueues creates the FIFO queue name.fifo, with a visibility timeout
// of one second, and its dead-letter FIFO queue name-dlq.fifo, which takes
// a message received maxReceive times without being deleted. It returns
// both URLs.
func (w *world) createQueues(t testing.TB, name string, maxReceive int) (queueURL, dlqURL string) {
	t.Helper()
	ctx := t.Context()
	dlq, err := w.sqs.CreateQueue(ctx, &sqs.CreateQueueInput{
		QueueName:  aws.String(name + "-dlq.fifo"),
		Attributes: map[string]string{"FifoQueue": "true"},
	})
	if err != nil {
		t.Fatalf("creating the dead-letter queue: %v", err)
	}
	attrs, err := w.sqs.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl:       dlq.QueueUrl,
		AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameQueueArn},
	})
	if err != nil {
		t.Fatal(err)
	}
	redrive, _ := json.Marshal(map[string]string{
		"deadLetterTargetArn": attrs.Attributes[string(types.QueueAttributeNameQueueArn)],
		"maxReceiveCount":     strconv.Itoa(maxReceive),
	})
	q, err := w.sqs.CreateQueue(ctx, &sqs.CreateQueueInput{
		QueueName: aws.String(name + ".fifo"),
		Attributes: map[string]string{
			"FifoQueue":         "true",
			"VisibilityTimeout": strconv.Itoa(visibility),
			"RedrivePolicy":     string(redrive),
		},
	})
	if err != nil {
		t.Fatalf("creating the queue: %v", err)
	}
	return aws.ToString(q.QueueUrl), aws.ToString(dlq.QueueUrl)
}

// webhook returns the webhook's HTTP handler in queue mode, sending to
// the queue at url, as bootstrap.Webhook builds it with
// PROCESSING_MODE=queue: the same pipeline, with the queue.
func (w *world) webhook(t testing.TB, url string) *webhookhttp.Handler {
	t.Helper()
	q, err := eventqueue.FromConfig(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	return w.webhookWith(t, q)
}

// webhookWith returns the webhook's HTTP handler with q as its queue (nil:
// sync mode).
func (w *world) webhookWith(t testing.TB, q pipeline.Queue) *webhookhttp.Handler {
	t.Helper()
	cfg := pipeline.Config{Deps: w.deps, Dispatcher: w.d, Function: "webhook"}
	if w.store != nil { // a nil *DynamoDB is no store
		cfg.Dedup = w.store
	}
	if q != nil {
		cfg.Queue = q
	}
	h := webhookhttp.New(webhookhttp.Config{Deps: w.deps, Pipeline: pipeline.New(cfg)})
	if _, err := h.Warm(t.Context()); err != nil {
		t.Fatal(err)
	}
	return h
}

// worker returns the queue worker, as bootstrap.Worker builds it: the
// pipeline with the dedup store and no queue.
func (w *world) worker(t testing.TB) *queueworker.Worker {
	t.Helper()
	cfg := pipeline.Config{Deps: w.deps, Dispatcher: w.d, Function: "worker"}
	if w.store != nil { // a nil *DynamoDB is no store
		cfg.Dedup = w.store
	}
	p := pipeline.New(cfg)
	if _, err := p.Warm(t.Context()); err != nil {
		t.Fatal(err)
	}
	return queueworker.New(p)
}

// deliver posts body to h as Stripe does, signed now, and returns the
// status and the body of the answer.
func deliver(h http.Handler, body []byte) (int, string) {
	r := httptest.NewRequest(http.MethodPost, "/webhook", bytes.NewReader(body))
	r.Header.Set("Stripe-Signature", fixture.Sign(body, testSecret, time.Now()))
	rr := httptest.NewRecorder()
	h.ServeHTTP(rr, r)
	return rr.Code, rr.Body.String()
}

// receive reads up to 10 messages from the queue at url without waiting,
// with their system attributes.
func (w *world) receive(ctx context.Context, url string) ([]types.Message, error) {
	out, err := w.sqs.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
		QueueUrl:                    aws.String(url),
		MaxNumberOfMessages:         10,
		MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll},
	})
	if err != nil {
		return nil, fmt.Errorf("receiving from %s: %w", url, err)
	}
	return out.Messages, nil
}

// batch turns received messages into the event Lambda's event source
// mapping hands the function.
func batch(msgs []types.Message) events.SQSEvent {
	var e events.SQSEvent
	for _, m := range msgs {
		e.Records = append(e.Records, events.SQSMessage{
			MessageId:     aws.ToString(m.MessageId),
			ReceiptHandle: aws.ToString(m.ReceiptHandle),
			Body:          aws.ToString(m.Body),
			Attributes:    m.Attributes,
			EventSource:   "aws:sqs",
		})
	}
	return e
}

// esmRound does what Lambda's SQS event source mapping does once: it
// receives a batch, invokes wk.Handle with it (with an invocation
// deadline), and deletes the messages not reported as failures. It
// returns the batch and Handle's answer.
func (w *world) esmRound(ctx context.Context, wk *queueworker.Worker, url string) (events.SQSEvent, events.SQSEventResponse, error) {
	msgs, err := w.receive(ctx, url)
	if err != nil || len(msgs) == 0 {
		return events.SQSEvent{}, events.SQSEventResponse{}, err
	}
	b := batch(msgs)
	invocation, cancel := context.WithTimeout(ctx, 30*time.Second)
	res, err := wk.Handle(invocation, b)
	cancel()
	if err != nil {
		return b, res, fmt.Errorf("worker.Handle: %w", err)
	}
	failed := map[string]bool{}
	for _, f := range res.BatchItemFailures {
		failed[f.ItemIdentifier] = true
	}
	for _, m := range b.Records {
		if failed[m.MessageId] {
			continue
		}
		if _, err := w.sqs.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: aws.String(m.ReceiptHandle)}); err != nil {
			return b, res, fmt.Errorf("deleting %s: %w", m.MessageId, err)
		}
	}
	return b, res, nil
}

// consume runs n event source mappings on the queue at url at once, each
// invoking wk with its batches, until done reports true (checked between
// batches) or timeout passes, which fails the test. It returns the most
// batches that were being handled at once.
func (w *world) consume(t testing.TB, wk *queueworker.Worker, url string, n int, timeout time.Duration, done func() bool) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	defer cancel()
	var (
		mu            sync.Mutex
		inFlight, top int
		errs          []error
		wg            sync.WaitGroup
	)
	for range n {
		wg.Go(func() {
			for ctx.Err() == nil && !done() {
				mu.Lock()
				inFlight++
				top = max(top, inFlight)
				mu.Unlock()
				b, _, err := w.esmRound(ctx, wk, url)
				mu.Lock()
				inFlight--
				mu.Unlock()
				if err != nil {
					if ctx.Err() == nil {
						mu.Lock()
						errs = append(errs, err)
						mu.Unlock()
					}
					return
				}
				if len(b.Records) == 0 {
					time.Sleep(20 * time.Millisecond)
				}
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		t.Error(err)
	}
	if !done() {
		t.Fatalf("the queue's events were not all handled within %s", timeout)
	}
	return top
}

// depth returns how many messages the queue at url holds, visible or in
// flight.
func (w *world) depth(url string) (int, error) {
	out, err := w.sqs.GetQueueAttributes(context.Background(), &sqs.GetQueueAttributesInput{
		QueueUrl: aws.String(url),
		AttributeNames: []types.QueueAttributeName{
			types.QueueAttributeNameApproximateNumberOfMessages,
			types.QueueAttributeNameApproximateNumberOfMessagesNotVisible,
		},
	})
	if err != nil {
		return 0, fmt.Errorf("reading the depth of %s: %w", url, err)
	}
	n := 0
	for _, v := range out.Attributes {
		i, err := strconv.Atoi(v)
		if err != nil {
			return 0, fmt.Errorf("queue attribute %q: %w", v, err)
		}
		n += i
	}
	return n, nil
}

// queueDepth is depth, failing the test on an error.
func (w *world) queueDepth(t testing.TB, url string) int {
	t.Helper()
	n, err := w.depth(url)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// createTable creates the dedup table (again, after moto restarted).
func createTable(t testing.TB, w *world) error {
	t.Helper()
	return dedup.CreateTable(t.Context(), w.ddb, w.table)
}

// postSigned posts body to url as Stripe does, signed now, and returns the
// status and the body of the answer.
func postSigned(ctx context.Context, url string, body []byte) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Stripe-Signature", fixture.Sign(body, testSecret, time.Now()))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", fmt.Errorf("posting to %s: %w", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, "", fmt.Errorf("reading the answer: %w", err)
	}
	return resp.StatusCode, string(b), nil
}

// deliveries returns the "delivery" log lines of source ("webhook" or
// "queue") about event id.
func (w *world) deliveries(t testing.TB, source, id string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, l := range w.log.Messages(t, "delivery") {
		if l["source"] == source && l["event_id"] == id {
			out = append(out, l)
		}
	}
	return out
}

// outcomes returns the outcomes of lines, in order.
func outcomes(lines []map[string]any) []string {
	var out []string
	for _, l := range lines {
		out = append(out, fmt.Sprint(l["outcome"]))
	}
	return out
}

// subEvent is a customer.subscription.updated event about subscription
// sub, created at created (Unix seconds), with extra fields in its object.
func subEvent(id, sub string, created int64, extra map[string]any) []byte {
	obj := map[string]any{"id": sub, "object": "subscription", "status": "active"}
	for k, v := range extra {
		obj[k] = v
	}
	return eventBody(id, "customer.subscription.updated", created, obj)
}

// eventBody is a Stripe event as Stripe delivers it.
func eventBody(id, typ string, created int64, obj map[string]any) []byte {
	b, err := json.Marshal(map[string]any{
		"id": id, "object": "event", "type": typ, "created": created,
		"api_version": stripe.APIVersion, "livemode": false, "pending_webhooks": 1,
		"data": map[string]any{"object": obj},
	})
	if err != nil {
		panic(err)
	}
	return b
}

// sameOrder fails the test unless got lists want's events, in its order.
func sameOrder(t testing.TB, what string, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("%s: ran in the order %v, want %v", what, got, want)
	}
}
