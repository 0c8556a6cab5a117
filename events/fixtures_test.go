// Package events holds the Stripe webhook fixtures: Lambda events for
// `sam local invoke WebhookFunction -e events/<type>.json` and
// `go run ./functions/webhook invoke events/<type>.json`. The directory has
// no Go code besides this test, which checks that every fixture is a
// well-formed Lambda event carrying a Stripe event signed with the local
// test secret.
package events

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	lambdaevents "github.com/aws/aws-lambda-go/events"
	stripe "github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/webhook"
)

// localTestSecret is the signing secret the committed fixtures are signed
// with (the Makefile passes it to `make events`).
const localTestSecret = "whsec_stripetask_local_test_secret_0123456789"

const resignHint = "re-sign the fixtures in place with `make resign-fixtures`"

// requiredTypes are the event types that must each have a payload 2.0
// fixture named <type>.json at the top of the directory.
var requiredTypes = []string{
	"charge.succeeded",
	"charge.failed",
	"charge.refunded",
	"charge.dispute.created",
	"payment_intent.succeeded",
	"payment_intent.payment_failed",
	"invoice.paid",
	"invoice.payment_failed",
	"customer.created",
	"customer.subscription.created",
	"customer.subscription.updated",
	"customer.subscription.deleted",
	"checkout.session.completed",
}

// stripeObject describes the stripe-go type an event's data.object decodes to.
type stripeObject struct {
	object   string // value of the object's "object" field
	idPrefix string
	decode   func([]byte) (id, object string, err error)
}

func decoder[T any](get func(*T) (string, string)) func([]byte) (string, string, error) {
	return func(data []byte) (string, string, error) {
		v := new(T)
		if err := json.Unmarshal(data, v); err != nil {
			return "", "", fmt.Errorf("decode %T: %w", v, err)
		}
		id, object := get(v)
		return id, object, nil
	}
}

// objectFor maps an event type to the object it carries. Longer prefixes
// come first.
func objectFor(eventType string) (stripeObject, bool) {
	table := []struct {
		prefix string
		obj    stripeObject
	}{
		{"charge.dispute.", stripeObject{"dispute", "dp_", decoder(func(v *stripe.Dispute) (string, string) { return v.ID, v.Object })}},
		{"charge.", stripeObject{"charge", "ch_", decoder(func(v *stripe.Charge) (string, string) { return v.ID, v.Object })}},
		{"payment_intent.", stripeObject{"payment_intent", "pi_", decoder(func(v *stripe.PaymentIntent) (string, string) { return v.ID, v.Object })}},
		{"invoice.", stripeObject{"invoice", "in_", decoder(func(v *stripe.Invoice) (string, string) { return v.ID, v.Object })}},
		{"customer.subscription.", stripeObject{"subscription", "sub_", decoder(func(v *stripe.Subscription) (string, string) { return v.ID, v.Object })}},
		{"customer.", stripeObject{"customer", "cus_", decoder(func(v *stripe.Customer) (string, string) { return v.ID, v.Object })}},
		{"checkout.session.", stripeObject{"checkout.session", "cs_", decoder(func(v *stripe.CheckoutSession) (string, string) { return v.ID, v.Object })}},
	}
	for _, row := range table {
		if strings.HasPrefix(eventType, row.prefix) {
			return row.obj, true
		}
	}
	return stripeObject{}, false
}

// request is what a fixture carries, whatever its envelope.
type request struct {
	format    string
	headers   map[string]string
	body      []byte // as delivered, base64-decoded when needed
	timeEpoch int64  // milliseconds
}

func fixtureFiles(t *testing.T) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "pay" || d.Name() == "eventbridge") {
			return filepath.SkipDir // the pay function's, and EventBridge's (unsigned): not HTTP deliveries
		}
		if !d.IsDir() && strings.HasSuffix(path, ".json") {
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("list fixtures: %v", err)
	}
	if len(files) == 0 {
		t.Fatal("no *.json fixtures found")
	}
	return files
}

func TestRequiredFixturesExist(t *testing.T) {
	want := []string{"rest-api/charge.succeeded.json", "function-url/charge.succeeded.json"}
	for _, typ := range requiredTypes {
		want = append(want, typ+".json")
	}
	for _, name := range want {
		if _, err := os.Stat(filepath.FromSlash(name)); err != nil {
			t.Errorf("missing fixture events/%s: %v", name, err)
		}
	}
}

func TestFixtures(t *testing.T) {
	for _, path := range fixtureFiles(t) {
		t.Run(filepath.ToSlash(path), func(t *testing.T) {
			t.Parallel()
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			req := parseLambdaEvent(t, path, data)
			checkSignature(t, req)
			checkStripeEvent(t, path, req.body)
		})
	}
}

// parseLambdaEvent decodes the fixture as the aws-lambda-go type its shape
// calls for and checks the fields a webhook delivery has.
func parseLambdaEvent(t *testing.T, path string, data []byte) request {
	t.Helper()
	var shape struct {
		Version        string `json:"version"`
		HTTPMethod     string `json:"httpMethod"`
		RequestContext struct {
			DomainName string `json:"domainName"`
		} `json:"requestContext"`
	}
	if err := json.Unmarshal(data, &shape); err != nil {
		t.Fatalf("not JSON: %v", err)
	}

	var req request
	var encoded bool
	var body string
	switch {
	case shape.Version == "2.0" && strings.Contains(shape.RequestContext.DomainName, ".lambda-url."):
		var ev lambdaevents.LambdaFunctionURLRequest
		mustDecode(t, data, &ev)
		req.format = "function URL"
		if ev.RawPath != "/webhook" || ev.RequestContext.HTTP.Method != "POST" || ev.RequestContext.HTTP.Path != "/webhook" {
			t.Errorf("want POST /webhook, got %s %s (rawPath %q)", ev.RequestContext.HTTP.Method, ev.RequestContext.HTTP.Path, ev.RawPath)
		}
		checkLowerCase(t, ev.Headers)
		req.headers, body, encoded, req.timeEpoch = ev.Headers, ev.Body, ev.IsBase64Encoded, ev.RequestContext.TimeEpoch
	case shape.Version == "2.0":
		var ev lambdaevents.APIGatewayV2HTTPRequest
		mustDecode(t, data, &ev)
		req.format = "payload 2.0"
		if ev.RouteKey != "POST /webhook" || ev.RequestContext.RouteKey != "POST /webhook" {
			t.Errorf("routeKey = %q / %q, want \"POST /webhook\"", ev.RouteKey, ev.RequestContext.RouteKey)
		}
		if ev.RawPath != "/webhook" || ev.RawQueryString != "" {
			t.Errorf("rawPath = %q, rawQueryString = %q, want \"/webhook\" and \"\"", ev.RawPath, ev.RawQueryString)
		}
		if ev.RequestContext.HTTP.Method != "POST" || ev.RequestContext.HTTP.Path != "/webhook" {
			t.Errorf("http = %s %s, want POST /webhook", ev.RequestContext.HTTP.Method, ev.RequestContext.HTTP.Path)
		}
		if ev.RequestContext.Stage != "$default" {
			t.Errorf("stage = %q, want $default", ev.RequestContext.Stage)
		}
		checkLowerCase(t, ev.Headers)
		req.headers, body, encoded, req.timeEpoch = ev.Headers, ev.Body, ev.IsBase64Encoded, ev.RequestContext.TimeEpoch
	case shape.HTTPMethod != "":
		var ev lambdaevents.APIGatewayProxyRequest
		mustDecode(t, data, &ev)
		req.format = "payload 1.0"
		if ev.HTTPMethod != "POST" || ev.Path != "/webhook" || ev.Resource != "/webhook" {
			t.Errorf("want POST /webhook, got %s %s (resource %q)", ev.HTTPMethod, ev.Path, ev.Resource)
		}
		for name, value := range ev.Headers {
			if mv := ev.MultiValueHeaders[name]; len(mv) != 1 || mv[0] != value {
				t.Errorf("multiValueHeaders[%q] = %q, want [%q]; %s", name, mv, value, resignHint)
			}
		}
		req.headers, body, encoded, req.timeEpoch = ev.Headers, ev.Body, ev.IsBase64Encoded, ev.RequestContext.RequestTimeEpoch
	default:
		t.Fatalf("%s: neither payload 2.0 (version \"2.0\") nor 1.0 (httpMethod)", path)
	}

	req.body = []byte(body)
	if encoded {
		b, err := base64.StdEncoding.DecodeString(body)
		if err != nil {
			t.Fatalf("isBase64Encoded but body is not base64: %v", err)
		}
		req.body = b
	}
	if len(req.body) == 0 {
		t.Fatal("empty body")
	}
	if ct := header(req.headers, "Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("content-type = %q, want application/json", ct)
	}
	if cl := header(req.headers, "Content-Length"); cl != "" && cl != strconv.Itoa(len(req.body)) {
		t.Errorf("content-length = %s, body has %d bytes", cl, len(req.body))
	}
	return req
}

// mustDecode decodes data into v and fails the test on error.
func mustDecode(t *testing.T, data []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("decode as %T: %v", v, err)
	}
}

func checkLowerCase(t *testing.T, headers map[string]string) {
	t.Helper()
	for name := range headers {
		if name != strings.ToLower(name) {
			t.Errorf("header %q: payload 2.0 header names are lower case", name)
		}
	}
}

// header looks name up case-insensitively.
func header(headers map[string]string, name string) string {
	for k, v := range headers {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}

func checkSignature(t *testing.T, req request) {
	t.Helper()
	sig := header(req.headers, "Stripe-Signature")
	if sig == "" {
		t.Fatalf("%s event has no Stripe-Signature header; %s", req.format, resignHint)
	}
	if err := webhook.ValidatePayloadIgnoringTolerance(req.body, sig, localTestSecret); err != nil {
		t.Fatalf("Stripe-Signature does not verify with the local test secret (%v); %s", err, resignHint)
	}
	ts, _, _ := strings.Cut(strings.TrimPrefix(sig, "t="), ",")
	if want := ts + "000"; strconv.FormatInt(req.timeEpoch, 10) != want {
		t.Errorf("request time epoch %d does not match signature time t=%s; %s", req.timeEpoch, ts, resignHint)
	}
}

func checkStripeEvent(t *testing.T, path string, body []byte) {
	t.Helper()
	var ev stripe.Event
	if err := json.Unmarshal(body, &ev); err != nil {
		t.Fatalf("body does not decode as stripe.Event: %v", err)
	}
	if ev.Object != "event" || !strings.HasPrefix(ev.ID, "evt_") {
		t.Errorf("object = %q, id = %q, want an event with an evt_ id", ev.Object, ev.ID)
	}
	if ev.APIVersion != stripe.APIVersion {
		t.Errorf("api_version = %q, want %q (stripe-go's stripe.APIVersion)", ev.APIVersion, stripe.APIVersion)
	}
	if ev.Livemode {
		t.Error("livemode = true; fixtures are test-mode events")
	}
	if ev.Created == 0 || ev.Request == nil {
		t.Errorf("created = %d, request = %v; want both set", ev.Created, ev.Request)
	}
	if name := strings.TrimSuffix(filepath.Base(path), ".json"); string(ev.Type) != name {
		t.Errorf("file is named %s.json but the event type is %q", name, ev.Type)
	}
	if ev.Data == nil || len(ev.Data.Raw) == 0 {
		t.Fatal("event has no data.object")
	}
	if strings.HasSuffix(string(ev.Type), ".updated") && len(ev.Data.PreviousAttributes) == 0 {
		t.Error("*.updated event without data.previous_attributes")
	}

	want, ok := objectFor(string(ev.Type))
	if !ok {
		t.Fatalf("no stripe-go type known for event type %q; add it to objectFor", ev.Type)
	}
	id, object, err := want.decode(ev.Data.Raw)
	if err != nil {
		t.Fatalf("data.object: %v", err)
	}
	if object != want.object {
		t.Errorf("data.object.object = %q, want %q", object, want.object)
	}
	if !strings.HasPrefix(id, want.idPrefix) {
		t.Errorf("data.object.id = %q, want prefix %q", id, want.idPrefix)
	}
}

// TestEventBridgeFixtures checks events/eventbridge/: each is the envelope
// Amazon EventBridge delivers for a Stripe event destination, with a Stripe
// event in detail whose type is the detail-type.
func TestEventBridgeFixtures(t *testing.T) {
	files, err := filepath.Glob("eventbridge/*.json")
	if err != nil || len(files) < 3 {
		t.Fatalf("EventBridge fixtures: %v (%d files)", err, len(files))
	}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var e lambdaevents.EventBridgeEvent
		if err := json.Unmarshal(raw, &e); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if e.Version != "0" || e.ID == "" || e.AccountID == "" || e.Region == "" || e.Resources == nil || e.Time.IsZero() ||
			!strings.HasPrefix(e.Source, "aws.partner/stripe.com/ed_") {
			t.Errorf("%s: not an EventBridge envelope of a Stripe event destination: %+v", f, e)
		}
		var ev stripe.Event
		if err := json.Unmarshal(e.Detail, &ev); err != nil || ev.Object != "event" || string(ev.Type) != e.DetailType || !strings.HasPrefix(ev.ID, "evt_") {
			t.Errorf("%s: detail is no Stripe event of type %s: %v", f, e.DetailType, err)
		}
		if want := filepath.Join("eventbridge", e.DetailType+".json"); f != want {
			t.Errorf("%s: name it %s", f, want)
		}
	}
}
