package reconcile_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/stripe/stripe-go/v76"

	"stripetask/dispatch"
	"stripetask/internal/dedup"
	"stripetask/internal/fakestripe"
	"stripetask/internal/function"
	"stripetask/internal/metrics"
	"stripetask/internal/moto"
	"stripetask/internal/pipeline"
	"stripetask/internal/reconcile"
	"stripetask/internal/stripeclient"
	"stripetask/internal/stripemock"
	"stripetask/internal/testlog"
	"stripetask/secrets"
)

// The Events API in these tests is fakestripe's, not stripe-mock's:
// stripe-mock's event list answers one fixture whatever created, the
// cursors and types say, so a reconciler could not be tested against it.
// fakestripe serves them as Stripe documents them, and the webhook
// endpoint the watchdog reads. DynamoDB (the dedup store and the
// reconciler's state) is a real moto_server.

// base is the start of the simulated time; the reconciler's clock is set
// relative to it, the events' creation times too.
var base = time.Unix(1_760_000_000, 0).UTC()

// Secrets the reconciler and the webhook run with.
const (
	webhookSecret = "whsec_reconcile_test_secret"
	endpointID    = "we_reconcile_test"
)

// methodTypes have a method on testHandler; otherTypes do not.
var (
	methodTypes = []string{"charge.succeeded", "invoice.paid", "customer.created"}
	otherTypes  = []string{"charge.failed", "invoice.created", "payment_intent.created"}
	objectKinds = map[string]string{
		"charge.succeeded": "charge", "charge.failed": "charge", "invoice.paid": "invoice",
		"invoice.created": "invoice", "customer.created": "customer", "payment_intent.created": "payment_intent",
	}
)

// runs records the runs of testHandler's methods, per event id.
type runs struct {
	mu      sync.Mutex
	ok      map[string]int  // runs that returned nil
	tries   map[string]int  // every run
	failing map[string]bool // ids whose method fails
	holding map[string]bool // ids whose method waits for its ctx to end, then fails
}

func newRuns() *runs {
	return &runs{ok: map[string]int{}, tries: map[string]int{}, failing: map[string]bool{}, holding: map[string]bool{}}
}

func (r *runs) run(ctx context.Context, id string) error {
	r.mu.Lock()
	r.tries[id]++
	fail, hold := r.failing[id], r.holding[id]
	r.mu.Unlock()
	if hold {
		<-ctx.Done()
		return ctx.Err()
	}
	if fail {
		return errors.New("warehouse unavailable")
	}
	r.mu.Lock()
	r.ok[id]++
	r.mu.Unlock()
	return nil
}

func (r *runs) setFailing(fail bool, ids ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, id := range ids {
		r.failing[id] = fail
	}
}

// setHolding makes the runs of ids wait for their context to end (or
// stops that, with hold false).
func (r *runs) setHolding(hold bool, ids ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, id := range ids {
		r.holding[id] = hold
	}
}

func (r *runs) okCount(id string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.ok[id]
}

func (r *runs) totals() (ok, tries int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, n := range r.ok {
		ok += n
	}
	for _, n := range r.tries {
		tries += n
	}
	return ok, tries
}

// testHandler has methods for methodTypes, counting their runs.
type testHandler struct {
	dispatch.Env
	r *runs
}

func (h *testHandler) ChargeSucceeded(ctx context.Context, _ *stripe.Charge) error {
	return h.r.run(ctx, h.Event.ID)
}

func (h *testHandler) InvoicePaid(ctx context.Context, _ *stripe.Invoice) error {
	return h.r.run(ctx, h.Event.ID)
}

func (h *testHandler) CustomerCreated(ctx context.Context, _ *stripe.Customer) error {
	return h.r.run(ctx, h.Event.ID)
}

// event is one event the test stored in fakestripe.
type event struct {
	id, typ string
	created int64
	raw     []byte
}

func (e event) method() bool { return slices.Contains(methodTypes, e.typ) }

// world is what a reconciler runs against: fakestripe, the dedup store
// and the state (moto's DynamoDB, or in memory), a Handler and a clock.
type world struct {
	t       *testing.T
	fake    *fakestripe.Server
	runs    *runs
	d       *dispatch.Dispatcher
	store   dedup.Store // nil: none
	claims  *claims     // the claims taken in store and not yet settled
	db      *dynamodb.Client
	table   string
	state   reconcile.StateStore
	logs    *testlog.Buffer
	log     *slog.Logger
	secrets secrets.Static
	now     time.Time
	events  []event
	seq     int
}

// newWorld returns a world on fakestripe. With db, the dedup store and the
// state are in a new table of it; without, there is no dedup store and the
// state is in memory.
func newWorld(t *testing.T, db *dynamodb.Client, table string) *world {
	t.Helper()
	w := &world{t: t, fake: fakestripe.Start(t), runs: newRuns(), logs: &testlog.Buffer{}, now: base.Add(time.Hour), db: db, table: table}
	w.log = slog.New(slog.NewJSONHandler(w.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	d, err := dispatch.New(testHandler{r: w.runs}, dispatch.WithLogger(w.log))
	if err != nil {
		t.Fatal(err)
	}
	w.d = d
	w.secrets = secrets.Static{
		stripeclient.KeySecret:     stripemock.Key,
		stripeclient.APIBaseSecret: w.fake.URL(),
		"STRIPE_WEBHOOK_SECRET":    webhookSecret,
		reconcile.EndpointIDSecret: endpointID,
	}
	w.fake.SetEndpoint(endpointID, "enabled")
	if db != nil {
		if err := dedup.CreateTable(t.Context(), db, table); err != nil {
			t.Fatal(err)
		}
		w.claims = &claims{Store: dedup.NewDynamoDB(db, table, dedup.Options{}), held: map[[2]string]bool{}}
		w.store = w.claims
		w.state = reconcile.NewDynamoDBState(db, table)
	} else {
		w.state = &memState{}
	}
	return w
}

// startMoto runs moto_server for the test and returns a DynamoDB client
// of it.
func startMoto(t *testing.T) *dynamodb.Client {
	t.Helper()
	srv := moto.Start(t)
	cfg := srv.Config(t)
	return dynamodb.NewFromConfig(cfg)
}

// add stores n events in fakestripe, created every step from start,
// cycling through types, and returns them.
func (w *world) add(n int, start time.Time, step time.Duration, types ...string) []event {
	w.t.Helper()
	var out []event
	for i := range n {
		w.seq++
		typ := types[i%len(types)]
		e := event{id: fmt.Sprintf("evt_%05d", w.seq), typ: typ, created: start.Add(time.Duration(i) * step).Unix()}
		e.raw = fakestripe.Event(e.id, typ, e.created, fmt.Sprintf(`{"id":"obj_%05d","object":%q}`, w.seq, objectKinds[typ]))
		w.fake.Add(w.t, e.raw)
		out = append(out, e)
	}
	w.events = append(w.events, out...)
	return out
}

// pipeline returns a pipeline running testHandler with the world's dedup
// store, as bootstrap builds the reconciler's.
func (w *world) pipeline() *pipeline.Pipeline {
	return pipeline.New(pipeline.Config{
		Deps:       function.Deps{Secrets: w.secrets, Log: w.log},
		Dispatcher: w.d,
		Dedup:      w.store,
		Function:   "reconcile",
	})
}

// reconciler returns a new reconciler on the world (a new instance, as a
// new process would build), with the settings bootstrap uses by default,
// adjusted by mod.
func (w *world) reconciler(mod func(*reconcile.Config)) *reconcile.Reconciler {
	w.t.Helper()
	cfg := reconcile.Config{
		Secrets:  w.secrets,
		Log:      w.log,
		Pipeline: w.pipeline(),
		Types:    w.d.EventTypes(),
		AllTypes: w.d.HasDefault(),
		State:    w.state,
		Grace:    reconcile.DefaultGrace,
		Now:      func() time.Time { return w.now },
	}
	if mod != nil {
		mod(&cfg)
	}
	r, err := reconcile.New(cfg)
	if err != nil {
		w.t.Fatal(err)
	}
	return r
}

// pass runs a pass, which must not fail, and returns its summary and its
// summary line, checked as an EMF record.
func (w *world) pass(ctx context.Context, r *reconcile.Reconciler) (reconcile.Summary, map[string]any) {
	w.t.Helper()
	before := len(w.logs.Messages(w.t, reconcile.SummaryMsg))
	s, err := r.Pass(ctx, fmt.Sprintf("pass-%d", before+1))
	if err != nil {
		w.t.Fatalf("pass: %v\nlog:\n%s", err, w.logs)
	}
	w.t.Logf("pass at %s: %+v", w.now.Format(time.RFC3339), s)
	lines := w.logs.Messages(w.t, reconcile.SummaryMsg)
	if len(lines) != before+1 {
		w.t.Fatalf("%d summary lines after a pass, want %d", len(lines), before+1)
	}
	line := lines[len(lines)-1]
	if msg := metrics.Validate(line); msg != "" {
		w.t.Errorf("the summary line is not a valid EMF record: %s: %v", msg, line)
	}
	return s, line
}

// methodEvents returns the events among es that have a method.
func methodEvents(es []event) []event {
	var out []event
	for _, e := range es {
		if e.method() {
			out = append(out, e)
		}
	}
	return out
}

// ids returns the events' ids.
func ids(es []event) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.id
	}
	return out
}

// deliveries returns the pipeline's delivery lines of the given event.
func (w *world) deliveries(id string) []map[string]any {
	var out []map[string]any
	for _, l := range w.logs.Messages(w.t, "delivery") {
		if l["event_id"] == id {
			out = append(out, l)
		}
	}
	return out
}

// claims is the world's dedup store, keeping track of the claims taken and
// not yet settled (completed or released, whatever the answer), so that a
// test can wait for every run to have recorded its outcome, including a run
// the pipeline abandoned at its deadline (HandlerTimeout), which settles
// alone when its method returns, after the pass.
type claims struct {
	dedup.Store
	mu   sync.Mutex
	held map[[2]string]bool // id, owner
}

func (c *claims) Claim(ctx context.Context, id string, cl dedup.Claim) error {
	err := c.Store.Claim(ctx, id, cl)
	if err == nil {
		c.mu.Lock()
		c.held[[2]string{id, cl.Owner}] = true
		c.mu.Unlock()
	}
	return err
}

func (c *claims) Complete(ctx context.Context, id, owner string) error {
	defer c.settled(id, owner)
	return c.Store.Complete(ctx, id, owner)
}

func (c *claims) Release(ctx context.Context, id, owner string) error {
	defer c.settled(id, owner)
	return c.Store.Release(ctx, id, owner)
}

func (c *claims) settled(id, owner string) {
	c.mu.Lock()
	delete(c.held, [2]string{id, owner})
	c.mu.Unlock()
}

// waitSettled waits until every claim taken has been settled, or fails
// the test after 30 s.
func (c *claims) waitSettled(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		c.mu.Lock()
		n := len(c.held)
		c.mu.Unlock()
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d claims still unsettled after 30 s", n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// memState is a StateStore in memory, for tests of the pass's logic alone.
type memState struct {
	mu    sync.Mutex
	st    reconcile.State
	saves int
	// onLoad, if set, runs after each Load (to simulate another pass).
	onLoad func(*memState)
}

func (m *memState) Load(context.Context) (reconcile.State, error) {
	m.mu.Lock()
	st := m.st
	st.Resume.IDs = slices.Clone(st.Resume.IDs)
	st.Pending = slices.Clone(st.Pending)
	f := m.onLoad
	m.mu.Unlock()
	if f != nil {
		f(m)
	}
	return st, nil
}

func (m *memState) Save(_ context.Context, st *reconcile.State) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if st.Version != m.st.Version {
		return fmt.Errorf("%w: memState at %d, saving over %d", reconcile.ErrConflict, m.st.Version, st.Version)
	}
	next := *st
	next.Version++
	next.Resume.IDs = slices.Clone(st.Resume.IDs)
	next.Pending = slices.Clone(st.Pending)
	m.st = next
	m.saves++
	*st = next
	return nil
}

func (m *memState) get() reconcile.State {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.st
}
