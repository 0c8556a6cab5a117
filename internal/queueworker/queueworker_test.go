package queueworker_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"stripetask/internal/bootstrap"
	"stripetask/internal/eventqueue"
	"stripetask/internal/moto"
	"stripetask/internal/pipeline"
	"stripetask/internal/proctest"
	"stripetask/internal/queueworker"
	"stripetask/internal/testlog"
)

// TestQueueMode runs queue mode's tests against one moto_server (SQS and
// DynamoDB), each with its own queues, dedup table and Handler, so that
// the package starts moto_server twice rather than once a test.
func TestQueueMode(t *testing.T) {
	srv := moto.Start(t)
	tests := []struct {
		name string
		run  func(t *testing.T, w *world)
	}{
		{"WebhookQueuesEvents", testWebhookQueuesEvents},
		{"WorkerRetriesOnlyTheFailedGroup", testWorkerRetriesOnlyTheFailedGroup},
		{"DeadLetterQueue", testDeadLetterQueue},
		{"ConcurrentDeliveriesRunOnce", testConcurrentDeliveriesRunOnce},
		{"ObjectsOneAtATimeInOrder", testObjectsOneAtATimeInOrder},
		{"StaleThroughQueue", testStaleThroughQueue},
		{"UnsendableRunsSynchronously", testUnsendableRunsSynchronously},
		{"Poll", testPoll},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.run(t, newWorldOn(t, srv)) })
	}
}

// testWebhookQueuesEvents delivers events to the webhook in queue mode:
// an event with a method is answered queued, and is then in the queue
// with its data.object's id as message group (the event's own id when the
// object has none), its id as deduplication id and the delivery's exact
// bytes as body; the method has not run. An event without a method is
// ignored and queues nothing.
func testWebhookQueuesEvents(t *testing.T, w *world) {
	url, _ := w.createQueues(t, "events", 3)
	h := w.webhook(t, url)
	tests := []struct {
		name        string
		body        []byte
		wantBody    string
		wantGroup   string // "" when nothing is queued
		wantDedupID string
	}{
		{"subscription", subEvent("evt_q_sub", "sub_q_1", 1700000000, nil), `{"status":"queued"}`, "sub_q_1", "evt_q_sub"},
		{"object without id", eventBody("evt_q_balance", "balance.available", 1700000000, map[string]any{"object": "balance", "livemode": false}), `{"status":"queued"}`, "evt_q_balance", "evt_q_balance"},
		{"no method", eventBody("evt_q_ignored", "charge.refunded", 1700000000, map[string]any{"id": "ch_q_1", "object": "charge"}), `{"status":"ignored"}`, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, resp := deliver(h, tt.body)
			if code != http.StatusOK || strings.TrimSpace(resp) != tt.wantBody {
				t.Fatalf("answer %d %s, want 200 %s", code, resp, tt.wantBody)
			}
			// Right after the answer: the queue already has the message.
			msgs, err := w.receive(t.Context(), url)
			if err != nil {
				t.Fatal(err)
			}
			if tt.wantGroup == "" {
				if len(msgs) != 0 {
					t.Fatalf("%d messages queued, want none", len(msgs))
				}
				return
			}
			if len(msgs) != 1 {
				t.Fatalf("%d messages in the queue after the answer, want 1", len(msgs))
			}
			m := msgs[0]
			if g := m.Attributes["MessageGroupId"]; g != tt.wantGroup {
				t.Errorf("MessageGroupId %q, want %q", g, tt.wantGroup)
			}
			if d := m.Attributes["MessageDeduplicationId"]; d != tt.wantDedupID {
				t.Errorf("MessageDeduplicationId %q, want %q", d, tt.wantDedupID)
			}
			if aws.ToString(m.Body) != string(tt.body) {
				t.Errorf("the message's body differs from the delivery's")
			}
			if runs, _ := w.rec.count(tt.wantDedupID); runs != 0 {
				t.Errorf("the method ran %d times in the webhook, want 0", runs)
			}
			if got := outcomes(w.deliveries(t, "webhook", tt.wantDedupID)); !slices.Equal(got, []string{"queued"}) {
				t.Errorf("webhook log outcomes %v, want [queued]", got)
			}
		})
	}
}

// blockingSQS is an SQS that holds each SendMessage until release is
// closed, then answers err, or success.
type blockingSQS struct {
	called  chan struct{}
	release chan struct{}
	err     error
}

func (s *blockingSQS) SendMessage(ctx context.Context, in *sqs.SendMessageInput, _ ...func(*sqs.Options)) (*sqs.SendMessageOutput, error) {
	close(s.called)
	<-s.release
	if s.err != nil {
		return nil, s.err
	}
	return &sqs.SendMessageOutput{MessageId: aws.String("m-1")}, nil
}

// TestQueuedOnlyOnceSent holds SQS's answer to the webhook's send: the
// webhook does not answer before it, answers queued when SQS took the
// message and 503 when it did not, and never runs the method meanwhile.
func TestQueuedOnlyOnceSent(t *testing.T) {
	w := newBareWorld(t)
	tests := []struct {
		name     string
		sendErr  error
		wantCode int
		wantBody string
	}{
		{"accepted", nil, http.StatusOK, `{"status":"queued"}`},
		{"refused", errors.New("connection refused"), http.StatusServiceUnavailable, `"error":"queue unavailable"`},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := &blockingSQS{called: make(chan struct{}), release: make(chan struct{}), err: tt.sendErr}
			h := w.webhookWith(t, eventqueue.New(api, "https://sqs.us-east-1.amazonaws.com/1/events.fifo"))
			id := fmt.Sprintf("evt_held_%d", i)
			type answer struct {
				code int
				body string
			}
			answered := make(chan answer, 1)
			go func() {
				code, body := deliver(h, subEvent(id, "sub_held", 1700000000, nil))
				answered <- answer{code, body}
			}()
			<-api.called
			select {
			case a := <-answered:
				t.Fatalf("answered %d %s while SQS had not answered the send", a.code, a.body)
			case <-time.After(200 * time.Millisecond):
			}
			close(api.release)
			a := <-answered
			if a.code != tt.wantCode || !strings.Contains(a.body, tt.wantBody) {
				t.Fatalf("answer %d %s, want %d with %s", a.code, a.body, tt.wantCode, tt.wantBody)
			}
			if runs, _ := w.rec.count(id); runs != 0 {
				t.Fatalf("the method ran %d times in the webhook, want 0", runs)
			}
		})
	}
}

// TestQueueOutage runs the webhook as its binary does (bootstrap.Webhook
// with PROCESSING_MODE=queue) and stops SQS: the delivery is answered 503
// queue_unavailable and nothing runs, so Stripe keeps the event. Once SQS
// is back, Stripe's retry of the same delivery is queued and the worker
// runs it, once.
func TestQueueOutage(t *testing.T) {
	w := newWorld(t)
	url, _ := w.createQueues(t, "outage", 3)
	webhookMain := func(ctx context.Context, p bootstrap.Process) int {
		return bootstrap.Webhook(ctx, recHandler{rec: w.rec}, p)
	}
	s := proctest.Serve(t, webhookMain, map[string]string{
		"STRIPE_WEBHOOK_SECRET": testSecret,
		"STRIPE_KEY":            "sk_test_queueworker",
		"PROCESSING_MODE":       "queue",
		"QUEUE_URL":             url,
		"DEDUP_TABLE":           w.table,
	})
	body := subEvent("evt_outage", "sub_outage", 1700000000, nil)
	post := func() (int, string) {
		t.Helper()
		code, resp, err := postSigned(t.Context(), s.URL+"/webhook", body)
		if err != nil {
			t.Fatal(err)
		}
		return code, resp
	}

	w.srv.Down()
	began := time.Now()
	code, resp := post()
	if code != http.StatusServiceUnavailable || !strings.Contains(resp, `"error":"queue unavailable"`) {
		t.Fatalf("with SQS down: %d %s, want 503 queue unavailable", code, resp)
	}
	if took := time.Since(began); took > 5*time.Second {
		t.Errorf("the 503 took %s; an unreachable SQS should fail fast", took.Round(time.Millisecond))
	}
	if !strings.Contains(s.Stderr.String(), `"outcome":"queue_unavailable"`) {
		t.Errorf("no queue_unavailable delivery line in the log:\n%s", s.Stderr)
	}
	if runs, _ := w.rec.count("evt_outage"); runs != 0 {
		t.Fatalf("the method ran %d times during the outage, want 0", runs)
	}

	// SQS is back, empty (moto keeps nothing): the same queue and table
	// again, at the same URL.
	w.srv.Up()
	if again, _ := w.createQueues(t, "outage", 3); again != url {
		t.Fatalf("the queue's URL changed: %s, was %s", again, url)
	}
	if err := createTable(t, w); err != nil {
		t.Fatal(err)
	}
	if code, resp := post(); code != http.StatusOK || strings.TrimSpace(resp) != `{"status":"queued"}` {
		t.Fatalf("Stripe's retry after the outage: %d %s, want 200 queued", code, resp)
	}
	w.consume(t, w.worker(t), url, 1, 20*time.Second, func() bool { return w.rec.allSucceeded([]string{"evt_outage"}) })
	if runs, ok := w.rec.count("evt_outage"); runs != 1 || ok != 1 {
		t.Fatalf("the method ran %d times (%d successful), want once", runs, ok)
	}
	if n := w.queueDepth(t, url); n != 0 {
		t.Fatalf("%d messages left in the queue", n)
	}
}

// testWorkerRetriesOnlyTheFailedGroup gives the worker one batch of two
// groups in which one event fails, by an error or a panic: the worker
// reports that event and the later one of its group as failures, without
// running the later one, and nothing of the other group; the events before
// it and the other group's are deleted. The queue delivers the two failed
// messages again, alone and in order, and they run.
func testWorkerRetriesOnlyTheFailedGroup(t *testing.T, w *world) {
	w.rec.hold = 50 * time.Millisecond // long enough for the groups to overlap
	wk := w.worker(t)
	tests := []struct {
		name        string
		fail        func(id string)
		wantOutcome string
	}{
		{"error", func(id string) { w.rec.failNext(id, 1) }, "handler_error"},
		{"panic", func(id string) { w.rec.panicNext(id, 1) }, "handler_panic"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			url, _ := w.createQueues(t, "retry-"+tt.name, 5)
			h := w.webhook(t, url)
			ev := func(n string) string { return "evt_" + tt.name + "_" + n }
			a, b := "sub_"+tt.name+"_a", "sub_"+tt.name+"_b"
			// Arrival order: a1 b1 a2 b2 a3; a2 fails once.
			sent := []struct{ id, sub string }{{ev("a1"), a}, {ev("b1"), b}, {ev("a2"), a}, {ev("b2"), b}, {ev("a3"), a}}
			for i, s := range sent {
				if code, resp := deliver(h, subEvent(s.id, s.sub, 1700000000+int64(i), nil)); code != http.StatusOK {
					t.Fatalf("%s: %d %s", s.id, code, resp)
				}
			}
			tt.fail(ev("a2"))

			first, res, err := w.esmRound(t.Context(), wk, url)
			if err != nil {
				t.Fatal(err)
			}
			if len(first.Records) != len(sent) {
				t.Fatalf("the first batch has %d messages, want all %d", len(first.Records), len(sent))
			}
			idOf := map[string]string{} // message id → event id
			for i, m := range first.Records {
				idOf[m.MessageId] = sent[i].id
			}
			var failed []string
			for _, f := range res.BatchItemFailures {
				failed = append(failed, idOf[f.ItemIdentifier])
			}
			if want := []string{ev("a2"), ev("a3")}; !slices.Equal(failed, want) {
				t.Fatalf("batch item failures %v, want %v", failed, want)
			}
			wantRuns := map[string]int{ev("a1"): 1, ev("b1"): 1, ev("a2"): 1, ev("b2"): 1, ev("a3"): 0}
			for id, want := range wantRuns {
				if runs, _ := w.rec.count(id); runs != want {
					t.Errorf("after the first batch, %s ran %d times, want %d", id, runs, want)
				}
			}
			if got := outcomes(w.deliveries(t, "queue", ev("a2"))); !slices.Equal(got, []string{tt.wantOutcome}) {
				t.Errorf("a2's outcomes %v, want [%s]", got, tt.wantOutcome)
			}

			// After the visibility timeout only the failed group's two
			// messages come back, in their order.
			time.Sleep(visibility*time.Second + 200*time.Millisecond)
			second, res, err := w.esmRound(t.Context(), wk, url)
			if err != nil {
				t.Fatal(err)
			}
			var again []string
			for _, m := range second.Records {
				again = append(again, m.Attributes["MessageDeduplicationId"])
				if n := m.Attributes["ApproximateReceiveCount"]; n != "2" {
					t.Errorf("ApproximateReceiveCount %s, want 2", n)
				}
			}
			if !slices.Equal(again, []string{ev("a2"), ev("a3")}) {
				t.Fatalf("delivered again: %v, want [a2 a3]", again)
			}
			if len(res.BatchItemFailures) != 0 {
				t.Fatalf("the retry failed: %v", res.BatchItemFailures)
			}
			for _, id := range []string{ev("a1"), ev("b1"), ev("a2"), ev("b2"), ev("a3")} {
				if _, ok := w.rec.count(id); ok != 1 {
					t.Errorf("%s succeeded %d times, want once", id, ok)
				}
			}
			sameOrder(t, a, w.rec.done[a], []string{ev("a1"), ev("a2"), ev("a3")})
			if n := w.queueDepth(t, url); n != 0 {
				t.Fatalf("%d messages left in the queue, want none", n)
			}
		})
	}
	if w.rec.peak < 2 {
		t.Errorf("the groups of a batch never ran at once (peak %d)", w.rec.peak)
	}
}

// testDeadLetterQueue makes one event fail every time: it runs
// maxReceiveCount times, then SQS moves it to the dead-letter queue, with
// the later event of its group, which never ran (it may not run before
// the failed one), in their order; another group's event runs.
func testDeadLetterQueue(t *testing.T, w *world) {
	const maxReceive = 2
	url, dlq := w.createQueues(t, "poison", maxReceive)
	h := w.webhook(t, url)
	sent := []struct{ id, sub string }{{"evt_poison", "sub_p"}, {"evt_after", "sub_p"}, {"evt_other", "sub_o"}}
	for i, s := range sent {
		if code, resp := deliver(h, subEvent(s.id, s.sub, 1700000000+int64(i), nil)); code != http.StatusOK {
			t.Fatalf("%s: %d %s", s.id, code, resp)
		}
	}
	w.rec.failNext("evt_poison", 1000)
	wk := w.worker(t)
	deadline := time.Now().Add(20 * time.Second)
	for w.queueDepth(t, dlq) < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("nothing reached the dead-letter queue in 20 s")
		}
		if _, _, err := w.esmRound(t.Context(), wk, url); err != nil {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	want := map[string][2]int{"evt_poison": {maxReceive, 0}, "evt_after": {0, 0}, "evt_other": {1, 1}}
	for id, w2 := range want {
		if runs, ok := w.rec.count(id); runs != w2[0] || ok != w2[1] {
			t.Errorf("%s ran %d times (%d successful), want %d (%d)", id, runs, ok, w2[0], w2[1])
		}
	}
	if n := w.queueDepth(t, url); n != 0 {
		t.Errorf("%d messages left in the queue", n)
	}
	msgs, err := w.receive(t.Context(), dlq)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range msgs {
		got = append(got, m.Attributes["MessageDeduplicationId"])
		if g := m.Attributes["MessageGroupId"]; g != "sub_p" {
			t.Errorf("dead letter in group %q, want sub_p", g)
		}
	}
	if !slices.Equal(got, []string{"evt_poison", "evt_after"}) {
		t.Fatalf("dead-letter queue holds %v, want [evt_poison evt_after]", got)
	}
}

// testConcurrentDeliveriesRunOnce delivers one event 50 times at once to
// the webhook in queue mode while two workers consume the queue: every
// delivery is answered queued, and the method runs once (SQS drops the
// copies sent within its deduplication window; the dedup table answers
// duplicate to any copy that got through).
func testConcurrentDeliveriesRunOnce(t *testing.T, w *world) {
	const n = 50
	url, _ := w.createQueues(t, "burst", 3)
	h := w.webhook(t, url)
	body := subEvent("evt_burst", "sub_burst", 1700000000, nil)
	var (
		start   = make(chan struct{})
		wg      sync.WaitGroup
		mu      sync.Mutex
		answers = map[string]int{}
		sent    = make(chan struct{})
	)
	for range n {
		wg.Go(func() {
			<-start
			code, resp := deliver(h, body)
			mu.Lock()
			answers[fmt.Sprintf("%d %s", code, strings.TrimSpace(resp))]++
			mu.Unlock()
		})
	}
	go func() { wg.Wait(); close(sent) }()
	close(start)
	wk := w.worker(t)
	w.consume(t, wk, url, 2, 30*time.Second, func() bool {
		select {
		case <-sent:
		default:
			return false
		}
		d, err := w.depth(url)
		return err == nil && d == 0 && w.rec.allSucceeded([]string{"evt_burst"})
	})
	if want := fmt.Sprintf("200 %s", `{"status":"queued"}`); answers[want] != n {
		t.Fatalf("answers %v, want %d × %s", answers, n, want)
	}
	if runs, ok := w.rec.count("evt_burst"); runs != 1 || ok != 1 {
		t.Fatalf("the method ran %d times (%d successful), want once", runs, ok)
	}
	got := outcomes(w.deliveries(t, "queue", "evt_burst"))
	if len(got) == 0 || got[0] != "handled" || slices.ContainsFunc(got[1:], func(o string) bool { return o != "duplicate" }) {
		t.Fatalf("the worker's outcomes %v, want handled then only duplicates", got)
	}
	t.Logf("%d deliveries, %d messages reached the worker", n, len(got))
}

// testObjectsOneAtATimeInOrder delivers six events about each of five
// subscriptions, each subscription's in turn and the subscriptions at
// once, while three workers consume the queue; one event fails once and
// another panics once. The methods of one subscription never run at once
// and succeed in the order the events arrived, while different
// subscriptions' run side by side.
func testObjectsOneAtATimeInOrder(t *testing.T, w *world) {
	const objects, perObject = 5, 6
	w.rec.hold = 15 * time.Millisecond
	url, _ := w.createQueues(t, "order", 5)
	h := w.webhook(t, url)
	wk := w.worker(t)
	sent := make([][]string, objects)
	var all []string
	for o := range objects {
		for i := range perObject {
			id := fmt.Sprintf("evt_order_%d_%d", o, i)
			sent[o] = append(sent[o], id)
			all = append(all, id)
		}
	}
	w.rec.failNext(sent[0][2], 1)
	w.rec.panicNext(sent[3][4], 1)

	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []string
	)
	for o := range objects {
		wg.Go(func() {
			for i, id := range sent[o] {
				body := subEvent(id, fmt.Sprintf("sub_order_%d", o), 1700000000+int64(i), nil)
				if code, resp := deliver(h, body); code != http.StatusOK {
					mu.Lock()
					errs = append(errs, fmt.Sprintf("%s: %d %s", id, code, resp))
					mu.Unlock()
				}
				time.Sleep(5 * time.Millisecond)
			}
		})
	}
	w.consume(t, wk, url, 3, 45*time.Second, func() bool { return w.rec.allSucceeded(all) })
	wg.Wait()
	for _, e := range errs {
		t.Error(e)
	}
	w.rec.mu.Lock()
	defer w.rec.mu.Unlock()
	for _, o := range w.rec.overlaps {
		t.Error(o)
	}
	for o := range objects {
		sub := fmt.Sprintf("sub_order_%d", o)
		sameOrder(t, sub, w.rec.done[sub], sent[o])
	}
	for _, id := range all {
		if w.rec.succeeded[id] != 1 {
			t.Errorf("%s succeeded %d times, want once", id, w.rec.succeeded[id])
		}
	}
	if w.rec.runs[sent[0][2]] != 2 || w.rec.runs[sent[3][4]] != 2 {
		t.Errorf("the failing events ran %d and %d times, want twice", w.rec.runs[sent[0][2]], w.rec.runs[sent[3][4]])
	}
	if w.rec.peak < 2 {
		t.Errorf("different subscriptions never ran at once (peak %d)", w.rec.peak)
	}
}

// testStaleThroughQueue sends a pair of events about one subscription
// through the queue, in order and out of order: the worker runs them in
// arrival order, and h.Stale tells the older one, when it comes second,
// that a newer event was already handled.
func testStaleThroughQueue(t *testing.T, w *world) {
	w.rec.checkStale = true
	url, _ := w.createQueues(t, "stale", 3)
	h := w.webhook(t, url)
	wk := w.worker(t)
	const older, newer = 1700000000, 1700000060
	tests := []struct {
		name      string
		created   []int64 // in arrival order
		wantStale []bool
	}{
		{"in order", []int64{older, newer}, []bool{false, false}},
		{"out of order", []int64{newer, older}, []bool{false, true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sub := "sub_stale_" + strings.ReplaceAll(tt.name, " ", "_")
			var ids []string
			for i, c := range tt.created {
				id := fmt.Sprintf("evt_%s_%d", sub, i)
				ids = append(ids, id)
				if code, resp := deliver(h, subEvent(id, sub, c, nil)); code != http.StatusOK || !strings.Contains(resp, "queued") {
					t.Fatalf("%s: %d %s", id, code, resp)
				}
			}
			w.consume(t, wk, url, 2, 20*time.Second, func() bool { return w.rec.allSucceeded(ids) })
			w.rec.mu.Lock()
			defer w.rec.mu.Unlock()
			sameOrder(t, sub, w.rec.done[sub], ids)
			for i, id := range ids {
				if w.rec.stale[id] != tt.wantStale[i] {
					t.Errorf("%s (created %d, arrived %d.): Stale %v, want %v", id, tt.created[i], i+1, w.rec.stale[id], tt.wantStale[i])
				}
			}
		})
	}
}

// testUnsendableRunsSynchronously delivers events SQS cannot take as a
// message, over 256 KiB or holding a character SQS refuses: the webhook
// runs them itself and answers handled, and says so in its log; an event
// of exactly 256 KiB is queued.
func testUnsendableRunsSynchronously(t *testing.T, w *world) {
	url, _ := w.createQueues(t, "large", 3)
	h := w.webhook(t, url)
	// sized returns an event whose body is n bytes long.
	sized := func(id string, n int) []byte {
		base := len(subEvent(id, "sub_large", 1700000000, map[string]any{"description": ""}))
		return subEvent(id, "sub_large", 1700000000, map[string]any{"description": strings.Repeat("x", n-base)})
	}
	tests := []struct {
		name   string
		id     string
		body   func(id string) []byte
		queued bool
	}{
		{"at the limit", "evt_limit", func(id string) []byte { return sized(id, eventqueue.MaxMessageBytes) }, true},
		{"over the limit", "evt_over", func(id string) []byte { return sized(id, eventqueue.MaxMessageBytes+1) }, false},
		{"a character SQS refuses", "evt_uffff", func(id string) []byte {
			return subEvent(id, "sub_large", 1700000000, map[string]any{"description": "bad \uffff char"})
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := tt.body(tt.id)
			code, resp := deliver(h, body)
			want, wantRuns := `{"status":"handled"}`, 1
			if tt.queued {
				want, wantRuns = `{"status":"queued"}`, 0
			}
			if code != http.StatusOK || strings.TrimSpace(resp) != want {
				t.Fatalf("%d bytes: %d %s, want 200 %s", len(body), code, resp, want)
			}
			if runs, _ := w.rec.count(tt.id); runs != wantRuns {
				t.Errorf("the method ran %d times in the webhook, want %d", runs, wantRuns)
			}
			msgs, err := w.receive(t.Context(), url)
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case tt.queued && (len(msgs) != 1 || len(aws.ToString(msgs[0].Body)) != len(body)):
				t.Fatalf("want the %d-byte event in the queue, got %d messages", len(body), len(msgs))
			case !tt.queued && len(msgs) != 0:
				t.Fatalf("%d messages queued, want none", len(msgs))
			}
			if tt.queued {
				return
			}
			var warned bool
			for _, l := range w.log.Lines(t) {
				if l["level"] == "WARN" && strings.Contains(fmt.Sprint(l["msg"]), "running it here") && l["event_id"] == tt.id {
					warned = true
				}
			}
			if !warned {
				t.Errorf("no warning that %s runs in the webhook", tt.id)
			}
			if got := outcomes(w.deliveries(t, "webhook", tt.id)); !slices.Equal(got, []string{"handled"}) {
				t.Errorf("webhook log outcomes %v, want [handled]", got)
			}
		})
	}
}

// testPoll runs Worker.Poll, the local worker, on the queue: it writes one
// line per message, deletes the messages that succeeded, and leaves the
// failed one to come back after the visibility timeout; it stops when its
// context ends.
func testPoll(t *testing.T, w *world) {
	url, _ := w.createQueues(t, "poll", 3)
	h := w.webhook(t, url)
	ids := []string{"evt_poll_1", "evt_poll_2", "evt_poll_3"}
	for i, id := range ids {
		if code, resp := deliver(h, subEvent(id, fmt.Sprintf("sub_poll_%d", i), 1700000000, nil)); code != http.StatusOK {
			t.Fatalf("%s: %d %s", id, code, resp)
		}
	}
	w.rec.failNext("evt_poll_2", 1)
	wk := w.worker(t)
	var reported sync.Map
	wk.Report = func(m events.SQSMessage, res pipeline.Result) {
		reported.Store(m.MessageId+" "+string(res.Outcome), true)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var out testlog.Buffer
	done := make(chan error, 1)
	go func() { done <- wk.Poll(ctx, w.sqs, url, &out, w.deps.Log) }()
	deadline := time.Now().Add(20 * time.Second)
	for {
		d, err := w.depth(url)
		if err == nil && d == 0 && w.rec.allSucceeded(ids) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Poll did not handle and delete every message in 20 s; output:\n%s", out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Poll: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Poll did not return within 5 s of its context's end")
	}
	line := regexp.MustCompile(`^(\S+) (evt_poll_\d) customer\.subscription\.updated (handled|handler_error)$`)
	got := map[string][]string{}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	for _, l := range lines {
		m := line.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("unexpected line %q", l)
		}
		got[m[2]] = append(got[m[2]], m[3])
		if _, ok := reported.Load(m[1] + " " + m[3]); !ok {
			t.Errorf("Report was not told of %q", l)
		}
	}
	want := map[string][]string{"evt_poll_1": {"handled"}, "evt_poll_2": {"handler_error", "handled"}, "evt_poll_3": {"handled"}}
	for id, o := range want {
		if !slices.Equal(got[id], o) {
			t.Errorf("%s: lines %v, want %v", id, got[id], o)
		}
	}
}

// TestHandleStopsAtDeadline hands the worker a batch once its invocation
// has ended: no method starts, and every message is reported failed, to
// be delivered again.
func TestHandleStopsAtDeadline(t *testing.T) {
	w := newBareWorld(t)
	wk := w.worker(t)
	var b events.SQSEvent
	for i, g := range []string{"sub_x", "sub_x", "sub_y"} {
		id := fmt.Sprintf("evt_late_%d", i)
		b.Records = append(b.Records, events.SQSMessage{MessageId: "m" + id, Body: string(subEvent(id, g, 1700000000, nil)), Attributes: map[string]string{"MessageGroupId": g}})
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	res, err := wk.Handle(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.BatchItemFailures) != len(b.Records) {
		t.Fatalf("%d failures, want all %d", len(res.BatchItemFailures), len(b.Records))
	}
	for i, f := range res.BatchItemFailures {
		if f.ItemIdentifier != b.Records[i].MessageId {
			t.Errorf("failure %d is %s, want %s", i, f.ItemIdentifier, b.Records[i].MessageId)
		}
	}
	w.rec.mu.Lock()
	defer w.rec.mu.Unlock()
	if len(w.rec.runs) != 0 {
		t.Fatalf("methods ran: %v", w.rec.runs)
	}
}

// TestSucceeded lists which outcomes delete a message.
func TestSucceeded(t *testing.T) {
	done := []pipeline.Outcome{pipeline.Handled, pipeline.Duplicate, pipeline.Ignored}
	retried := []pipeline.Outcome{pipeline.InProgress, pipeline.HandlerError, pipeline.HandlerPanic, pipeline.HandlerTimeout,
		pipeline.UndecodableObject, pipeline.DedupUnavailable, pipeline.SecretsUnavailable, pipeline.InitFailed, pipeline.Malformed, pipeline.NotEvent}
	for _, o := range done {
		if !queueworker.Succeeded(o) {
			t.Errorf("%s: not done, want done", o)
		}
	}
	for _, o := range retried {
		if queueworker.Succeeded(o) {
			t.Errorf("%s: done, want delivered again", o)
		}
	}
}
