package dispatchtest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76"

	"stripetask/dispatch"
	"stripetask/internal/devtools"
)

// fakeTB is a testing.TB whose Fatal and Fatalf record the message and
// end the goroutine, to test the kit's failures; everything else is the
// real test's.
type fakeTB struct {
	testing.TB
	msg string
}

func (f *fakeTB) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func (f *fakeTB) Fatal(args ...any) {
	f.msg = fmt.Sprint(args...)
	runtime.Goexit()
}

// fatal runs f with a fakeTB and returns the message it failed with, or
// "" if it did not fail.
func fatal(t *testing.T, f func(tb testing.TB)) string {
	t.Helper()
	ft := &fakeTB{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		f(ft)
	}()
	<-done
	return ft.msg
}

// recorder has only Default: it records the kind of every object it gets.
type recorder struct {
	dispatch.Env
	kinds *sync.Map // event id -> data.object's "object"
}

func (h *recorder) Default(ctx context.Context) error {
	h.kinds.Store(h.Event.ID, h.Event.Data.Object["object"])
	return nil
}

// TestEveryEventType builds an event of each of stripe-go's 234 event
// types, delivers it to a Handler with only Default through the real
// webhook path, and checks that it is handled, by Default, with a
// data.object of a kind the event type carries, that decodes as a
// stripe-go event.
func TestEveryEventType(t *testing.T) {
	begin := time.Now()
	kinds := &sync.Map{}
	w := NewWebhook(t, recorder{kinds: kinds})
	types := dispatch.KnownEventTypes()
	if len(types) != 234 {
		t.Fatalf("%d event types, want stripe-go v76's 234", len(types))
	}
	for _, typ := range types {
		e := NewEvent(t, typ)
		var se stripe.Event
		if err := json.Unmarshal(e.JSON(), &se); err != nil || string(se.Type) != typ || se.ID != e.ID() || se.APIVersion != stripe.APIVersion {
			t.Errorf("%s: the event does not decode as one of its type (%v): %+v", typ, err, se)
		}
		d := w.Deliver(t.Context(), e)
		if d.Status != http.StatusOK || d.Outcome != "handled" || d.Method != "Default" || d.EventType != typ {
			t.Errorf("%s: %d %s by %q, want 200 handled by Default; body %s", typ, d.Status, d.Outcome, d.Method, d.Body)
			continue
		}
		got, _ := kinds.Load(e.ID())
		want := dispatch.ObjectKinds(typ)
		if want == nil {
			want = []string{untypedKinds[typ]}
		}
		if kind, _ := got.(string); !slices.Contains(want, kind) || kind != e.Get("data.object.object") {
			t.Errorf("%s: Default got a data.object of kind %v, want one of %q", typ, got, want)
		}
		if id, _ := e.Get("data.object.id").(string); id == "" && !slices.Contains([]string{"balance", "cash_balance", "tax.settings"}, want[0]) {
			t.Errorf("%s: data.object has no id", typ)
		}
	}
	t.Logf("234 event types built and delivered in %v", time.Since(begin).Round(time.Millisecond))
}

// TestObjectsFetchedOnce builds every event type from a stripe-mock that
// counts its requests: one GET per kind of object, whatever the number of
// event types.
func TestObjectsFetchedOnce(t *testing.T) {
	shared, err := sharedObjects()
	if err != nil {
		t.Fatal(err)
	}
	objs := newObjects(shared.api)
	var gets atomic.Int64
	objs.client.Transport = countingTransport{&gets}
	kinds := map[string]bool{}
	for _, typ := range dispatch.KnownEventTypes() {
		if _, err := build(t.Context(), objs, typ); err != nil {
			t.Fatalf("%s: %v", typ, err)
		}
		if k, src := ObjectKind(typ); src == FromGET {
			kinds[k] = true
		}
	}
	if int(gets.Load()) != len(kinds) {
		t.Errorf("%d GETs for %d kinds of object", gets.Load(), len(kinds))
	}
}

type countingTransport struct{ n *atomic.Int64 }

func (c countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return http.DefaultTransport.RoundTrip(r)
}

// TestObjectSources holds the package documentation's list of where the
// objects of stripe-go's event types come from to the generated table:
// every kind from a GET on stripe-mock but two from its fixtures and three
// minimal ones. It logs the whole table.
func TestObjectSources(t *testing.T) {
	want := map[Source][]string{
		FromFixture: {"application", "billing_portal.session"},
		FromMinimal: {"order", "recipient", "sku"},
	}
	got := map[Source][]string{}
	byKind := map[string][]string{}
	for _, typ := range dispatch.KnownEventTypes() {
		kinds := dispatch.ObjectKinds(typ)
		if kinds == nil {
			kinds = []string{untypedKinds[typ]}
		}
		for i, k := range kinds {
			if i == 0 {
				if kind, _ := ObjectKind(typ); kind != k {
					t.Errorf("ObjectKind(%q) = %q, want %q", typ, kind, k)
				}
			}
			if byKind[k] == nil && sourceOf(k) != FromGET {
				got[sourceOf(k)] = append(got[sourceOf(k)], k)
			}
			byKind[k] = append(byKind[k], typ)
		}
	}
	for src, kinds := range got {
		slices.Sort(kinds)
		if !slices.Equal(kinds, want[src]) {
			t.Errorf("kinds from %s: %q, want %q", src, kinds, want[src])
		}
	}
	if len(byKind) != 73 {
		t.Errorf("%d kinds of object, want 73 (68 from GETs)", len(byKind))
	}
	var table strings.Builder
	kinds := make([]string, 0, len(byKind))
	for k := range byKind {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	for _, k := range kinds {
		fmt.Fprintf(&table, "%-36s %-8s %s\n", k, sourceOf(k), strings.Join(byKind[k], " "))
	}
	t.Logf("kind, source, event types:\n%s", table.String())
}

// TestEveryObjectSource fetches every kind of object of the generated table
// from stripe-mock, and parses every fixture: each is an object of its
// kind.
func TestEveryObjectSource(t *testing.T) {
	if stripeMockVersion != devtools.StripeMockVersion {
		t.Errorf("objects_gen.go is from stripe-mock %s, the kit runs %s: run go generate ./dispatchtest/", stripeMockVersion, devtools.StripeMockVersion)
	}
	objs, err := sharedObjects()
	if err != nil {
		t.Fatal(err)
	}
	for kind := range objectSources {
		b, err := objs.object(t.Context(), kind)
		if err != nil {
			t.Errorf("%s: %v", kind, err)
			continue
		}
		var head struct {
			Object string `json:"object"`
		}
		if err := json.Unmarshal(b, &head); err != nil || head.Object != kind {
			t.Errorf("%s (%s): object %q, %v", kind, sourceOf(kind), head.Object, err)
		}
	}
}

// TestObjectKind checks the kinds of extra event types and of the types
// stripe-go has no type for.
func TestObjectKind(t *testing.T) {
	tests := []struct {
		typ  string
		kind string
		src  Source
	}{
		{"charge.succeeded", "charge", FromGET},
		{"customer.source.created", "card", FromGET},
		{"account.external_account.updated", "bank_account", FromGET},
		{"account.application.authorized", "application", FromFixture},
		{"billing_portal.session.created", "billing_portal.session", FromFixture},
		{"sku.updated", "sku", FromMinimal},
		{"source.mandate_notification", "source_mandate_notification", FromGET},
		// Types stripe-go v76 does not know (ExtraEventTypes).
		{"billing.alert.triggered", "billing.alert", FromGET},
		{"customer.subscription.paused_again", "subscription", FromGET},
		{"invoice.overpaid", "invoice", FromGET},
		{"thing.happened", "thing", FromMinimal},
		{"very.new.thing.happened", "very.new.thing", FromMinimal},
	}
	for _, tt := range tests {
		if kind, src := ObjectKind(tt.typ); kind != tt.kind || src != tt.src {
			t.Errorf("ObjectKind(%q) = %q, %s; want %q, %s", tt.typ, kind, src, tt.kind, tt.src)
		}
	}
	objs, err := sharedObjects()
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ typ, want string }{
		{"sku.created", `{"id":"sku_dispatchtest","object":"sku"}`},
		{"thing.happened", `{"id":"obj_dispatchtest","object":"thing"}`},
	} {
		e, err := build(t.Context(), objs, tt.typ)
		if err != nil {
			t.Fatal(err)
		}
		if got := string(lookup(e.root, []pathStep{{name: "data"}, {name: "object"}}).encode()); got != tt.want {
			t.Errorf("%s: data.object %s, want %s", tt.typ, got, tt.want)
		}
	}
}

// TestEnvelope checks the envelope of a new event: Stripe's members, in
// Stripe's order, a new id each time, the current time, test mode.
func TestEnvelope(t *testing.T) {
	before := time.Now().Unix()
	a, b := NewEvent(t, "invoice.paid"), NewEvent(t, "invoice.paid")
	if a.ID() == b.ID() || !strings.HasPrefix(a.ID(), "evt_") || len(a.ID()) != 28 {
		t.Errorf("ids %q and %q: want two evt_ ids of 28 characters", a.ID(), b.ID())
	}
	if got := a.root.keys; !slices.Equal(got, []string{"id", "object", "api_version", "created", "data", "livemode", "pending_webhooks", "request", "type"}) {
		t.Errorf("members %q", got)
	}
	if c, _ := a.Get("created").(float64); int64(c) < before || int64(c) > time.Now().Unix() {
		t.Errorf("created %v is not now", a.Get("created"))
	}
	if a.Get("livemode") != false || a.Get("object") != "event" || a.Get("api_version") != stripe.APIVersion || a.Type() != "invoice.paid" || a.Get("data.object.object") != "invoice" {
		t.Errorf("envelope:\n%s", a.JSON())
	}
	if !strings.HasPrefix(string(a.JSON()), "{\n  \"id\": \"evt_") {
		t.Errorf("JSON is not indented as Stripe's:\n%.60s", a.JSON())
	}
}

// TestNewEventFailures checks the messages of events that cannot be made.
func TestNewEventFailures(t *testing.T) {
	msg := fatal(t, func(tb testing.TB) { NewEvent(tb, "charge.succeded") })
	if !strings.Contains(msg, `"charge.succeded" is not an event type stripe-go v76 knows`) || !strings.Contains(msg, "Webhook.NewEvent") {
		t.Errorf("unknown type: %q", msg)
	}
	msg = fatal(t, func(tb testing.TB) { NewEvent(tb, "billing.alert.triggered") })
	if !strings.Contains(msg, "ExtraEventTypes") {
		t.Errorf("extra type without a Webhook: %q", msg)
	}
	msg = fatal(t, func(tb testing.TB) { NewWebhook(tb, extraHandler{}).NewEvent("billing.alert.created") })
	if !strings.Contains(msg, `"billing.alert.created" is not an event type stripe-go v76 knows`) || !strings.Contains(msg, `["billing.alert.triggered" "customer.subscription.collection_paused"]`) {
		t.Errorf("unknown type on a Webhook: %q", msg)
	}
	objs, err := sharedObjects()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Build(t.Context(), objs.api, "charge.succeded"); err == nil || !strings.Contains(err.Error(), `"charge.succeded" is not an event type`) {
		t.Errorf("Build of an unknown type: %v", err)
	}
	if _, err := Build(t.Context(), "http://127.0.0.1:1", "charge.succeeded"); err == nil || !strings.Contains(err.Error(), "building a charge.succeeded event: a charge from stripe-mock") {
		t.Errorf("Build without stripe-mock: %v", err)
	}
}

// extraHandler has two event types stripe-go v76 does not know.
type extraHandler struct {
	dispatch.Env
}

func (extraHandler) ExtraEventTypes() []string {
	return []string{"billing.alert.triggered", "customer.subscription.collection_paused"}
}

func (h *extraHandler) BillingAlertTriggered(ctx context.Context) error {
	h.Log.Info("alert", "object", h.Event.Data.Object["object"])
	return nil
}

func (h *extraHandler) CustomerSubscriptionCollectionPaused(ctx context.Context, s *stripe.Subscription) error {
	h.Log.Info("paused", "subscription", s.ID, "customer", s.Customer.ID)
	return nil
}

// TestExtraEventTypes builds and delivers events of a Handler's
// ExtraEventTypes, and of one through Build.
func TestExtraEventTypes(t *testing.T) {
	w := NewWebhook(t, extraHandler{})
	d := w.Deliver(t.Context(), w.NewEvent("billing.alert.triggered"))
	if d.Outcome != "handled" || d.Log("alert")["object"] != "billing.alert" {
		t.Errorf("billing.alert.triggered: %s, logs %v", d.Outcome, d.Logs)
	}
	e := w.NewEvent("customer.subscription.collection_paused").Set("data.object.customer", "cus_paused")
	d = w.Deliver(t.Context(), e)
	if l := d.Log("paused"); d.Method != "CustomerSubscriptionCollectionPaused" || l["customer"] != "cus_paused" || l["subscription"] != e.Get("data.object.id") {
		t.Errorf("customer.subscription.collection_paused: %s by %s, logs %v", d.Outcome, d.Method, d.Logs)
	}
	b, err := Build(t.Context(), w.secrets["STRIPE_API_BASE"], "billing.alert.triggered", extraHandler{}.ExtraEventTypes()...)
	if err != nil || b.Get("data.object.object") != "billing.alert" {
		t.Fatalf("Build of an extra type: %v", err)
	}
}
