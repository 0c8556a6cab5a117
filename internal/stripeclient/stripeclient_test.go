package stripeclient

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/stripe/stripe-go/v76"

	"stripetask/internal/stripemock"
	"stripetask/secrets"
)

// TestCacheFollowsRotation checks that a rotated STRIPE_KEY is used from the
// next snapshot on. The backend is a recording server rather than
// stripe-mock, because stripe-mock does not report which key it was given.
func TestCacheFollowsRotation(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Header.Get("Authorization"))
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"id":"cus_1","object":"customer"}`))
	}))
	defer srv.Close()

	c := NewCache(srv.Client(), nil)
	m1 := secrets.Map{KeySecret: "sk_test_old", APIBaseSecret: srv.URL}
	m2 := secrets.Map{KeySecret: "sk_test_new", APIBaseSecret: srv.URL}
	a := c.Client(m1)
	if c.Client(m1) != a {
		t.Fatal("same secrets, new client")
	}
	if _, err := a.Customers.Get("cus_1", nil); err != nil {
		t.Fatal(err)
	}
	b := c.Client(m2)
	if b == a {
		t.Fatal("rotated key, same client")
	}
	if _, err := b.Customers.Get("cus_1", nil); err != nil {
		t.Fatal(err)
	}
	if len(seen) != 2 || seen[0] != "Bearer sk_test_old" || seen[1] != "Bearer sk_test_new" {
		t.Fatalf("Authorization headers %q", seen)
	}
}

// TestAgainstStripeMock makes real calls to stripe-mock through a client
// built from secrets, including a write with an idempotency key.
func TestAgainstStripeMock(t *testing.T) {
	base := stripemock.Start(t)
	api := NewCache(nil, nil).Client(secrets.Map{KeySecret: stripemock.Key, APIBaseSecret: base})
	params := &stripe.CustomerParams{Email: stripe.String("jenny@example.com")}
	params.SetIdempotencyKey("stripetask:evt_1:customer")
	cus, err := api.Customers.New(params)
	if err != nil {
		t.Fatal(err)
	}
	if cus.ID == "" || cus.Object != "customer" {
		t.Fatalf("customer %+v", cus)
	}
	if _, err := NewCache(nil, nil).Client(secrets.Map{KeySecret: "bad", APIBaseSecret: base}).Customers.Get(cus.ID, nil); err == nil {
		t.Fatal("stripe-mock accepted a malformed key")
	}
}

// TestLoggerMasksKeys makes stripe-mock refuse a key and quote it in its
// error message (Stripe itself masks keys there), and checks that the line
// stripe-go logs does not show it.
func TestLoggerMasksKeys(t *testing.T) {
	base := stripemock.Start(t)
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	const key = "sk_test_notaccepted123"
	api := NewCache(nil, log).Client(secrets.Map{KeySecret: key + " x", APIBaseSecret: base})
	if _, err := api.Customers.Get("cus_1", nil); err == nil {
		t.Fatal("stripe-mock accepted a malformed key")
	}
	if buf.Len() == 0 {
		t.Fatal("stripe-go logged nothing for the refused request")
	}
	if strings.Contains(buf.String(), "notaccepted123") {
		t.Fatalf("the log shows the key:\n%s", buf.String())
	}
	for in, want := range map[string]string{
		"key sk_live_abc123XYZ refused": "key sk_live_[redacted] refused",
		"rk_test_9a and whsec_Zz00":     "rk_test_[redacted] and whsec_[redacted]",
		"pk_test_public stays":          "pk_test_public stays",
		"nothing":                       "nothing",
	} {
		if got := mask(in); got != want {
			t.Errorf("mask(%q) = %q, want %q", in, got, want)
		}
	}
}

// recordingProxy forwards to stripe-mock and records each request's
// Stripe-Account header ("" when absent).
func recordingProxy(t *testing.T) (string, func() []string) {
	t.Helper()
	target, err := url.Parse(stripemock.Start(t))
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var seen []string
	rp := httputil.NewSingleHostReverseProxy(target)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Method+" "+r.URL.Path+" "+r.Header.Get("Stripe-Account"))
		mu.Unlock()
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL, func() []string {
		mu.Lock()
		defer mu.Unlock()
		out := slices.Clone(seen)
		seen = nil
		return out
	}
}

// TestClientFor checks, at a recording proxy in front of stripe-mock, that
// a connected account's client sends Stripe-Account on every kind of call
// unless the call names its own account, that the platform's client sends
// none, and that params reused afterwards are as the caller left them.
func TestClientFor(t *testing.T) {
	base, seen := recordingProxy(t)
	c := NewCache(nil, nil)
	m := secrets.Map{KeySecret: stripemock.Key, APIBaseSecret: base}
	acct := c.ClientFor(m, "acct_1Connected")
	if c.ClientFor(m, "acct_1Connected") != acct || c.ClientFor(m, "") != c.Client(m) {
		t.Fatal("clients not reused")
	}

	// A write with params, a read with nil params, a list.
	params := &stripe.RefundParams{Charge: stripe.String("ch_1")}
	if _, err := acct.Refunds.New(params); err != nil {
		t.Fatal(err)
	}
	if params.StripeAccount != nil {
		t.Fatal("the caller's params kept the connected account")
	}
	if _, err := acct.Charges.Get("ch_1", nil); err != nil {
		t.Fatal(err)
	}
	it := acct.Customers.List(&stripe.CustomerListParams{})
	for it.Next() {
	}
	if err := it.Err(); err != nil {
		t.Fatal(err)
	}
	// A call naming its own account keeps it.
	own := &stripe.ChargeParams{}
	own.SetStripeAccount("acct_1Other")
	if _, err := acct.Charges.Get("ch_1", own); err != nil {
		t.Fatal(err)
	}
	// The platform's client: no header.
	if _, err := c.Client(m).Refunds.New(params); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"POST /v1/refunds acct_1Connected",
		"GET /v1/charges/ch_1 acct_1Connected",
		"GET /v1/customers acct_1Connected",
		"GET /v1/charges/ch_1 acct_1Other",
		"POST /v1/refunds ",
	}
	if got := seen(); !slices.Equal(got, want) {
		t.Fatalf("requests:\n%q\nwant\n%q", got, want)
	}
}
