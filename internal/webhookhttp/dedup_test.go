package webhookhttp

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/stripe/stripe-go/v76"

	"stripetask/dispatch"
	"stripetask/internal/dedup"
	"stripetask/internal/fixture"
	"stripetask/internal/function"
	"stripetask/internal/moto"
	"stripetask/internal/pipeline"
	"stripetask/internal/testlog"
	"stripetask/secrets"
)

// onceHandler counts runs per charge and acts on the charge's description:
// "fail-once" fails the first run, "panic-once" panics in it, "block" waits
// for the test.
type onceHandler struct {
	dispatch.Env
	s *onceState
}

type onceState struct {
	mu      sync.Mutex
	runs    map[string]int
	started chan struct{}
	release chan struct{}
}

func (h *onceHandler) ChargeSucceeded(ctx context.Context, c *stripe.Charge) error {
	h.s.mu.Lock()
	h.s.runs[c.ID]++
	n := h.s.runs[c.ID]
	h.s.mu.Unlock()
	switch {
	case c.Description == "fail-once" && n == 1:
		return errors.New("warehouse unavailable")
	case c.Description == "panic-once" && n == 1:
		panic("bug")
	case c.Description == "block":
		h.s.started <- struct{}{}
		<-h.s.release
	case c.Description == "slow":
		time.Sleep(50 * time.Millisecond) // keep the claim live while others arrive
	}
	return nil
}

// waitStarted waits for a "block" run to start. If the delivery ends
// first (it was refused), the test fails with its answer instead of hanging.
func (s *onceState) waitStarted(t *testing.T, done <-chan *httptest.ResponseRecorder) {
	t.Helper()
	select {
	case <-s.started:
	case w := <-done:
		t.Fatalf("the method never started; the delivery answered %d %s", w.Code, w.Body)
	case <-time.After(30 * time.Second):
		t.Fatal("the method did not start within 30 s")
	}
}

func (s *onceState) count(id string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.runs[id]
}

type dedupFixture struct {
	h     *Handler
	state *onceState
	srv   *moto.Server
	db    *dynamodb.Client
	store *dedup.DynamoDB
	buf   *testlog.Buffer
}

const dedupTable = "stripetask-dedup"

func newDedupFixture(t *testing.T) *dedupFixture {
	t.Helper()
	srv := moto.Start(t)
	cfg := srv.Config(t)
	db := dynamodb.NewFromConfig(cfg)
	if err := dedup.CreateTable(t.Context(), db, dedupTable); err != nil {
		t.Fatal(err)
	}
	store, err := dedup.DynamoDBFromConfig(t.Context(), dedupTable, dedup.Options{})
	if err != nil {
		t.Fatal(err)
	}
	state := &onceState{runs: map[string]int{}, started: make(chan struct{}, 1), release: make(chan struct{})}
	d, err := dispatch.New(onceHandler{s: state})
	if err != nil {
		t.Fatal(err)
	}
	buf := &testlog.Buffer{}
	var n atomic.Int64
	h := newHandler(function.Deps{
		Secrets: secrets.Static{"STRIPE_WEBHOOK_SECRET": whsecOld},
		Log:     slog.New(slog.NewJSONHandler(buf, nil)),
		// Each delivery is its own invocation, with its own request id.
		RequestID: func(context.Context) string { return fmt.Sprintf("req-%d", n.Add(1)) },
	}, d, store)
	return &dedupFixture{h: h, state: state, srv: srv, db: db, store: store, buf: buf}
}

func (f *dedupFixture) deliver(id, description string) *httptest.ResponseRecorder {
	body := []byte(`{"id":"` + id + `","object":"event","type":"charge.succeeded","data":{"object":{"id":"ch_` + id + `","object":"charge","description":"` + description + `"}}}`)
	r := httptest.NewRequest("POST", "/webhook", bytes.NewReader(body))
	r.Header.Set("Stripe-Signature", fixture.Sign(body, whsecOld, time.Now()))
	w := httptest.NewRecorder()
	f.h.ServeHTTP(w, r)
	return w
}

func (f *dedupFixture) status(t *testing.T, id string) string {
	t.Helper()
	out, err := f.db.GetItem(t.Context(), &dynamodb.GetItemInput{
		TableName:      aws.String(dedupTable),
		Key:            map[string]types.AttributeValue{"id": &types.AttributeValueMemberS{Value: id}},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		t.Fatal(err)
	}
	if out.Item == nil {
		return ""
	}
	return out.Item["status"].(*types.AttributeValueMemberS).Value
}

func expect(t *testing.T, w *httptest.ResponseRecorder, code int, body string) {
	t.Helper()
	if w.Code != code || !strings.Contains(w.Body.String(), body) {
		t.Fatalf("got %d %s, want %d %s", w.Code, w.Body, code, body)
	}
}

func TestDedupSequential(t *testing.T) {
	f := newDedupFixture(t)
	expect(t, f.deliver("evt_seq", "ok"), 200, `"handled"`)
	expect(t, f.deliver("evt_seq", "ok"), 200, `{"status":"duplicate"}`)
	expect(t, f.deliver("evt_seq", "ok"), 200, `"duplicate"`)
	if n := f.state.count("ch_evt_seq"); n != 1 {
		t.Fatalf("method ran %d times, want 1", n)
	}
	if s := f.status(t, "evt_seq"); s != "COMPLETED" {
		t.Fatalf("status %q", s)
	}
	// Ignored events are not recorded.
	body := []byte(`{"id":"evt_ign","object":"event","type":"payout.paid","data":{"object":{"id":"po_1"}}}`)
	r := httptest.NewRequest("POST", "/webhook", bytes.NewReader(body))
	r.Header.Set("Stripe-Signature", fixture.Sign(body, whsecOld, time.Now()))
	w := httptest.NewRecorder()
	f.h.ServeHTTP(w, r)
	expect(t, w, 200, `"ignored"`)
	if s := f.status(t, "evt_ign"); s != "" {
		t.Fatalf("ignored event recorded as %q", s)
	}
}

func TestDedupConcurrent(t *testing.T) {
	f := newDedupFixture(t)
	codes := make(chan string, 50)
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			w := f.deliver("evt_conc", "slow")
			codes <- fmt.Sprintf("%d %s", w.Code, strings.TrimSpace(w.Body.String()))
		})
	}
	wg.Wait()
	close(codes)
	var handled, dup, conflict int
	for c := range codes {
		switch {
		case strings.HasPrefix(c, `200 {"status":"handled"}`):
			handled++
		case strings.HasPrefix(c, `200 {"status":"duplicate"}`):
			dup++
		case strings.HasPrefix(c, "409 "):
			conflict++
		default:
			t.Errorf("unexpected answer %s", c)
		}
	}
	if handled != 1 || f.state.count("ch_evt_conc") != 1 {
		t.Fatalf("handled %d, method ran %d times; want 1 and 1 (duplicate %d, 409 %d)", handled, f.state.count("ch_evt_conc"), dup, conflict)
	}
	t.Logf("50 concurrent deliveries: 1 handled, %d duplicate, %d conflict", dup, conflict)
}

func TestDedupFailureIsRetried(t *testing.T) {
	f := newDedupFixture(t)
	expect(t, f.deliver("evt_fail", "fail-once"), 500, "handler failed")
	if s := f.status(t, "evt_fail"); s != "" {
		t.Fatalf("a failed run left status %q, want the claim released", s)
	}
	expect(t, f.deliver("evt_fail", "fail-once"), 200, `"handled"`)
	expect(t, f.deliver("evt_fail", "fail-once"), 200, `"duplicate"`)
	if n := f.state.count("ch_evt_fail"); n != 2 {
		t.Fatalf("method ran %d times, want 2", n)
	}
}

func TestDedupPanicReleases(t *testing.T) {
	f := newDedupFixture(t)
	expect(t, f.deliver("evt_panic", "panic-once"), 500, "handler failed")
	if s := f.status(t, "evt_panic"); s != "" {
		t.Fatalf("a panicked run left status %q", s)
	}
	expect(t, f.deliver("evt_panic", "panic-once"), 200, `"handled"`)
}

func TestDedupLease(t *testing.T) {
	f := newDedupFixture(t)
	// A run elsewhere holds a live claim: try again later.
	if err := f.store.Claim(t.Context(), "evt_live", dedup.Claim{Owner: "other", Kind: "charge.succeeded", Lease: time.Now().Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	expect(t, f.deliver("evt_live", "ok"), 409, "retry later")
	if f.state.count("ch_evt_live") != 0 {
		t.Fatal("ran while another claim was live")
	}
	// A crashed run's claim, its lease over, is taken over.
	if err := f.store.Claim(t.Context(), "evt_crashed", dedup.Claim{Owner: "crashed", Kind: "charge.succeeded", Lease: time.Now().Add(-time.Second)}); err != nil {
		t.Fatal(err)
	}
	expect(t, f.deliver("evt_crashed", "ok"), 200, `"handled"`)
	if s := f.status(t, "evt_crashed"); s != "COMPLETED" {
		t.Fatalf("status %q", s)
	}
}

// TestDedupClaimLease checks the claim a run holds: a lease of one lease
// term from the claim (extended while the method runs, see the pipeline's
// tests), not the request's deadline, which a run that ignores its context
// can outlive; and an owner naming the request but unique to the run.
func TestDedupClaimLease(t *testing.T) {
	f := newDedupFixture(t)
	deadline := time.Now().Add(7 * time.Second).Truncate(time.Millisecond)
	claimedAt := time.Now()
	ctx, cancel := context.WithDeadline(t.Context(), deadline)
	defer cancel()
	body := []byte(`{"id":"evt_dl","object":"event","type":"charge.succeeded","data":{"object":{"id":"ch_dl","description":"block"}}}`)
	r := httptest.NewRequestWithContext(ctx, "POST", "/webhook", bytes.NewReader(body))
	r.Header.Set("Stripe-Signature", fixture.Sign(body, whsecOld, time.Now()))
	done := make(chan *httptest.ResponseRecorder, 1)
	go func() {
		w := httptest.NewRecorder()
		f.h.ServeHTTP(w, r)
		done <- w
	}()
	f.state.waitStarted(t, done)
	out, err := f.db.GetItem(t.Context(), &dynamodb.GetItemInput{TableName: aws.String(dedupTable), Key: map[string]types.AttributeValue{"id": &types.AttributeValueMemberS{Value: "evt_dl"}}, ConsistentRead: aws.Bool(true)})
	close(f.state.release)
	if err != nil {
		t.Fatal(err)
	}
	lease, _ := strconv.ParseInt(out.Item["lease_until"].(*types.AttributeValueMemberN).Value, 10, 64)
	if low, high := claimedAt.Add(pipeline.DefaultLeaseTerm).UnixMilli(), time.Now().Add(pipeline.DefaultLeaseTerm).UnixMilli(); lease < low || lease > high {
		t.Errorf("lease_until %d, want one lease term after the claim, in [%d, %d]", lease, low, high)
	}
	owner := out.Item["owner"].(*types.AttributeValueMemberS).Value
	if out.Item["kind"].(*types.AttributeValueMemberS).Value != "charge.succeeded" || !strings.HasPrefix(owner, "req-") || !strings.Contains(owner, "/") {
		t.Errorf("claim lacks type, request id or run: %v", out.Item)
	}
	if w := <-done; w.Code != 200 {
		t.Fatalf("status %d %s", w.Code, w.Body)
	}
}

func TestDedupStoreDown(t *testing.T) {
	f := newDedupFixture(t)
	expect(t, f.deliver("evt_before", "ok"), 200, `"handled"`)

	// DynamoDB goes away while a handler runs: the run succeeded, so the
	// answer is 200 (a 5xx would have Stripe deliver again and, once the
	// lease passed, run it twice); the failure to record is logged.
	done := make(chan *httptest.ResponseRecorder, 1)
	go func() { done <- f.deliver("evt_mid", "block") }()
	f.state.waitStarted(t, done)
	f.srv.Down()
	close(f.state.release)
	w := <-done
	expect(t, w, 200, `"handled"`)
	if !strings.Contains(f.buf.String(), "dedup: could not complete the claim") {
		t.Fatalf("failed completion not logged:\n%s", f.buf.String())
	}

	// With DynamoDB down, deliveries fail closed: 503, method not called.
	for _, id := range []string{"evt_down1", "evt_down2"} {
		expect(t, f.deliver(id, "ok"), 503, "dedup store unavailable")
		if f.state.count("ch_"+id) != 0 {
			t.Fatalf("%s ran without a claim", id)
		}
	}
	if !strings.Contains(f.buf.String(), `"outcome":"dedup_unavailable"`) {
		t.Fatal("503 not logged")
	}

	// Back (moto restarts empty): nothing was marked COMPLETED, and the
	// retried deliveries run.
	f.srv.Up()
	if err := dedup.CreateTable(t.Context(), f.db, dedupTable); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"evt_down1", "evt_down2"} {
		if s := f.status(t, id); s != "" {
			t.Fatalf("%s has status %q", id, s)
		}
		expect(t, f.deliver(id, "ok"), 200, `"handled"`)
	}
}
