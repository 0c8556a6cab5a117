package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"stripetask/internal/dedup/deduptest"
	"stripetask/internal/eventqueue"
	"stripetask/internal/lambdarie"
	"stripetask/internal/moto"
	"stripetask/internal/proctest"
	"stripetask/internal/stripemock"
	"stripetask/internal/testlog"
)

// Shape of TestRIEBusy's traffic.
const (
	busyBatches = 64 // invocations
	batchSize   = 10 // the event source mapping's BatchSize in template.yaml
	busyGroups  = 4  // message groups (Stripe objects) in each batch
	bigEvery    = 16 // every bigEvery'th batch holds the largest messages
	redoEvery   = 5  // every redoEvery'th batch is an earlier one delivered again
)

// busyBatch is one invocation of TestRIEBusy: the batch's messages, on
// their receive'th delivery.
type busyBatch struct {
	messages []busyMessage
	receive  int
}

// busyMessage is one message of TestRIEBusy.
type busyMessage struct {
	id, group string // SQS message id and MessageGroupId
	eventID   string
	typ       string
	body      []byte
}

// handledTypes are the event types handler.Handler has a method for.
var handledTypes = map[string]bool{
	"charge.succeeded":              true,
	"invoice.payment_failed":        true,
	"checkout.session.completed":    true,
	"customer.subscription.deleted": true,
}

// TestRIEBusy runs the worker's bootstrap under aws-lambda-rie
// (internal/lambdarie: the real Lambda Runtime API, frozen between
// invocations as Lambda freezes an execution environment,
// https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html),
// with the template's Timeout and MemorySize
// (https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html:
// the harness fails the test when the bootstrap's peak RSS exceeds it, as
// Lambda would end the environment), DEDUP_TABLE on moto_server and the
// Stripe API on stripe-mock, through one busy stretch of one execution
// environment. The test is the SQS event source mapping
// (https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html): it invokes
// the function with full batches of 10 messages (the template's
// BatchSize), each batch holding several message groups of a FIFO queue,
// one invocation at a time as Lambda gives an environment; every
// redoEvery'th batch is an earlier one delivered again (its
// ApproximateReceiveCount 2), as SQS does when an invocation's answer is
// lost or comes too late; and every bigEvery'th holds ten messages of
// almost 256 KiB, the largest the webhook queues
// (eventqueue.MaxMessageBytes): invoices of many lines, a 2.5 MB batch.
// Every batch is answered with no failed item, every message logs one
// delivery line with the expected outcome (handled, ignored for a type
// without a method, duplicate for a redelivery), every method runs once
// per event, and the peak RSS is logged against the MemorySize.
func TestRIEBusy(t *testing.T) {
	const table = "busy-events"
	srv := deduptest.Table(t, table)
	limits := lambdarie.TemplateLimits(t, "WorkerFunction")
	env := proctest.With(moto.SDKEnv(srv.URL()),
		"DEDUP_TABLE", table, "STRIPE_KEY", stripemock.Key, "STRIPE_API_BASE", stripemock.Start(t))
	f := lambdarie.Run(t, limits.Apply(lambdarie.Config{Bootstrap: lambdarie.Build(t, "./functions/worker"), Env: env}))

	batches := busyBatchesOf(t)
	done := map[string]bool{}         // event ids handled
	handledByType := map[string]int{} // events whose method ran, by type
	counts := map[string]int{}        // messages, by outcome
	messages, largest := 0, 0
	started := time.Now()
	for b, bb := range batches {
		batch := bb.messages
		payload := sqsBatch(t, bb)
		largest = max(largest, len(payload))
		r, err := f.Invoke(t.Context(), payload)
		if err != nil {
			t.Fatal(err)
		}
		if r.Status != 200 || r.PostedError || r.Exited || r.ColdStart != (b == 0) {
			t.Fatalf("batch %d: aws-lambda-rie answered %d %.300q (error %v, exited %v, cold start %v); output:\n%.3000s", b, r.Status, r.Body, r.PostedError, r.Exited, r.ColdStart, r.Output)
		}
		var answer struct {
			BatchItemFailures []struct {
				ItemIdentifier string `json:"itemIdentifier"`
			} `json:"batchItemFailures"`
		}
		if err := json.Unmarshal(r.Body, &answer); err != nil || len(answer.BatchItemFailures) != 0 {
			t.Fatalf("batch %d: answer %s (%v), want no failed item; output:\n%.3000s", b, r.Body, err, r.Output)
		}
		lines := map[string]string{} // event id -> outcome
		for _, l := range testlog.Messages(t, r.Output, "delivery") {
			id, _ := l["event_id"].(string)
			outcome, _ := l["outcome"].(string)
			if l["source"] != "queue" || lines[id] != "" {
				t.Errorf("batch %d: delivery line %v: want one from the queue per event", b, l)
			}
			lines[id] = outcome
		}
		if len(lines) != len(batch) {
			t.Errorf("batch %d: %d delivery lines, want %d; output:\n%.3000s", b, len(lines), len(batch), r.Output)
		}
		for _, m := range batch {
			want := "ignored"
			switch {
			case !handledTypes[m.typ]:
			case done[m.eventID]:
				want = "duplicate"
			default:
				want = "handled"
				done[m.eventID] = true
				handledByType[m.typ]++
			}
			if lines[m.eventID] != want {
				t.Errorf("batch %d: message %s (%s %s): outcome %q, want %s", b, m.id, m.typ, m.eventID, lines[m.eventID], want)
			}
			counts[want]++
		}
		if strings.Contains(r.Output, stripemock.Key) {
			t.Errorf("batch %d: the output reveals STRIPE_KEY", b)
		}
		messages += len(batch)
	}
	took := time.Since(started)

	out := f.Output()
	for typ, msg := range map[string]string{
		"charge.succeeded":              "payment received",
		"checkout.session.completed":    "checkout completed",
		"invoice.payment_failed":        "invoice payment failed",
		"customer.subscription.deleted": "subscription ended",
	} {
		if n := strings.Count(out, `"msg":"`+msg+`"`); n != handledByType[typ] || n == 0 {
			t.Errorf("%s's method logged %q %d times, want %d (once per event, at least once)", typ, msg, n, handledByType[typ])
		}
	}
	for _, want := range []string{"handled", "duplicate", "ignored"} {
		if counts[want] == 0 {
			t.Errorf("outcomes %v: none %s", counts, want)
		}
	}
	t.Logf("outcomes: %v; largest batch payload %d bytes", counts, largest)
	t.Logf("measured: worker busiest: peak RSS %.1f MiB of MemorySize %d MB, %d invocations (%d messages), %v",
		float64(f.PeakRSS())/(1<<20), limits.MemoryMB, len(batches), messages, took.Round(time.Millisecond))
}

// busyBatchesOf returns TestRIEBusy's batches, in order.
func busyBatchesOf(t *testing.T) []busyBatch {
	t.Helper()
	types := []string{
		"charge.succeeded", "invoice.payment_failed", "checkout.session.completed", "customer.subscription.deleted",
		"customer.created", "invoice.paid", "charge.refunded",
	}
	bodies := map[string][]byte{}
	for _, typ := range types {
		bodies[typ] = fixtureBody(t, typ)
	}
	big := bigInvoice(t, fixtureBody(t, "invoice.payment_failed"))
	t.Logf("largest message: %d bytes (at most %d)", len(big.body), eventqueue.MaxMessageBytes)

	var out []busyBatch
	n := 0 // messages made
	for b := range busyBatches {
		if b%redoEvery == redoEvery-1 {
			again := out[b-2] // the batch before last, again
			again.receive++
			out = append(out, again)
			continue
		}
		batch := make([]busyMessage, batchSize)
		for i := range batch {
			m := &batch[i]
			m.id = fmt.Sprintf("msg-busy-%05d", n)
			m.group = fmt.Sprintf("cus_busy_%02d_%d", b, i%busyGroups)
			if b%bigEvery == bigEvery-1 {
				m.typ = "invoice.payment_failed"
				m.eventID = fmt.Sprintf("evt_busy_big_%04d", n)
				m.body = bytes.Replace(big.body, []byte(big.eventID), []byte(m.eventID), 1)
			} else {
				m.typ = types[n%len(types)]
				m.eventID = fmt.Sprintf("evt_busy_%05d", n)
				m.body = withEventID(t, bodies[m.typ], m.eventID)
			}
			if len(m.body) > eventqueue.MaxMessageBytes {
				t.Fatalf("message %s: %d bytes, more than SQS takes", m.id, len(m.body))
			}
			n++
		}
		out = append(out, busyBatch{messages: batch, receive: 1})
	}
	return out
}

// withEventID returns the Stripe event body with its id replaced by id.
func withEventID(t *testing.T, body []byte, id string) []byte {
	t.Helper()
	var head struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(body, &head); err != nil || head.ID == "" {
		t.Fatalf("an event without an id: %v", err)
	}
	return bytes.ReplaceAll(body, []byte(`"`+head.ID+`"`), []byte(`"`+id+`"`))
}

// bigEvent is an event body whose id is a placeholder of the length of
// the ids that replace it.
type bigEvent struct {
	eventID string
	body    []byte
}

// bigInvoice returns the invoice event body with as many copies of its
// line, each with 4 metadata pairs at Stripe's limits (40-character keys,
// 500-character values: https://docs.stripe.com/metadata), as keep it
// within eventqueue.MaxMessageBytes, at most Stripe's 250 lines.
func bigInvoice(t *testing.T, body []byte) bigEvent {
	t.Helper()
	const placeholder = "evt_busy_big_0000" // the length of the ids of busyBatchesOf
	var ev map[string]any
	if err := json.Unmarshal(withEventID(t, body, placeholder), &ev); err != nil {
		t.Fatal(err)
	}
	lines := ev["data"].(map[string]any)["object"].(map[string]any)["lines"].(map[string]any)
	line := lines["data"].([]any)[0].(map[string]any)
	var data []any
	var best []byte
	for i := range 250 {
		l := make(map[string]any, len(line))
		for k, v := range line {
			l[k] = v
		}
		l["id"] = fmt.Sprintf("il_busy_%03d", i)
		md := map[string]string{}
		for j := range 4 {
			k := fmt.Sprintf("line_%03d_%d_", i, j)
			md[k+strings.Repeat("k", 40-len(k))] = strings.Repeat("Rosen Cafe and Baeckerei, Berlin. ", 20)[:500]
		}
		l["metadata"] = md
		data = append(data, l)
		lines["data"], lines["total_count"] = data, len(data)
		b, err := json.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) > eventqueue.MaxMessageBytes {
			break
		}
		best = b
	}
	if len(best) < eventqueue.MaxMessageBytes-8<<10 {
		t.Fatalf("the largest invoice is %d bytes, want within 8 KiB of %d", len(best), eventqueue.MaxMessageBytes)
	}
	return bigEvent{eventID: placeholder, body: best}
}

// sqsBatch is the event Lambda's SQS event source mapping invokes the
// worker with (https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html):
// the messages of one receive from the FIFO queue, in the queue's order,
// each carrying a Stripe event body as the webhook queued it. A message
// delivered again has a new receipt handle and a higher
// ApproximateReceiveCount.
func sqsBatch(t *testing.T, b busyBatch) []byte {
	t.Helper()
	records := make([]map[string]any, len(b.messages))
	now := strconv.FormatInt(time.Now().UnixMilli(), 10)
	for i, m := range b.messages {
		records[i] = map[string]any{
			"messageId": m.id, "receiptHandle": fmt.Sprintf("rh-%s-%d", m.id, time.Now().UnixNano()), "body": string(m.body),
			"attributes": map[string]string{
				"MessageGroupId": m.group, "MessageDeduplicationId": m.eventID, "SequenceNumber": strconv.Itoa(1e6 + i),
				"ApproximateReceiveCount": strconv.Itoa(b.receive), "SentTimestamp": now, "ApproximateFirstReceiveTimestamp": now,
			},
			"messageAttributes": map[string]any{}, "eventSource": "aws:sqs",
			"eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:stripetask-events.fifo", "awsRegion": "us-east-1",
		}
	}
	e, err := json.Marshal(map[string]any{"Records": records})
	if err != nil {
		t.Fatal(err)
	}
	return e
}
