package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"stripetask/internal/dedup/deduptest"
	"stripetask/internal/fixture"
	"stripetask/internal/lambdarie"
	"stripetask/internal/stripemock"
	"stripetask/internal/webhookhttp"
)

// Sizes of the busy test's largest deliveries, from Stripe's documented
// limits: an invoice has at most 250 line items
// (https://docs.stripe.com/invoicing/line-items), a Checkout Session at
// most 100 (https://docs.stripe.com/api/checkout/sessions/create), and
// metadata at most 50 keys of up to 40 characters with values of up to
// 500 (https://docs.stripe.com/metadata).
const (
	maxInvoiceLines   = 250
	maxCheckoutItems  = 100
	maxMetadataKeys   = 50
	maxMetadataValue  = 500
	bigInvoiceAtLeast = webhookhttp.MaxBodyBytes - 16<<10 // the largest invoice comes this close to the limit
)

// busyDelivery is one delivery of the busy test.
type busyDelivery struct {
	path    string // the fixture file it is built on
	body    []byte // the Stripe event
	v1      bool   // REST API payload 1.0
	id, typ string // the event's
	big     bool   // one of the largest bodies
}

// TestRIEBusy runs the webhook's bootstrap as deployed under
// aws-lambda-rie (internal/lambdarie: the real Lambda Runtime API, frozen
// between invocations as Lambda freezes an execution environment,
// https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html),
// with the template's Timeout and MemorySize
// (https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html:
// the harness fails the test when the bootstrap's peak RSS exceeds it, as
// Lambda would end the environment), DEDUP_TABLE on moto_server and the
// Stripe API on stripe-mock, through one busy stretch of one execution
// environment: several hundred deliveries, one at a time as Lambda gives
// an environment one invocation at a time
// (https://docs.aws.amazon.com/lambda/latest/dg/lambda-concurrency.html),
// of every fixture in events/ (payload 2.0, REST API 1.0 and a function
// URL's base64 body), each a distinct event signed afresh, a quarter of
// them redelivered as Stripe does after an unacknowledged delivery
// (https://docs.stripe.com/webhooks#retries, some twice), and among them
// the largest bodies a Stripe account sends: an invoice of 250 lines with
// metadata on each, just under the webhook's 1 MiB limit, and a
// checkout.session.completed with 100 line items (Stripe leaves
// line_items out of the event, to be listed, so this is a bound, not a
// sample) and metadata at Stripe's limits; and a body one byte over the
// limit, refused 413. Every answer is the expected one (handled, ignored,
// duplicate, too_large), every method runs once per event, and the peak
// RSS is logged against the MemorySize.
func TestRIEBusy(t *testing.T) {
	const table = "busy-events"
	srv := deduptest.Table(t, table)
	env := motoEnv(srv, "DEDUP_TABLE", table,
		"STRIPE_WEBHOOK_SECRET", fixture.LocalSecret, "STRIPE_KEY", stripemock.Key, "STRIPE_API_BASE", stripemock.Start(t))
	limits := lambdarie.TemplateLimits(t, "WebhookFunction")
	f := runRIE(t, env, 0)

	deliveries := busyDeliveries(t)
	answered := map[string]bool{}     // event ids answered handled
	handledByType := map[string]int{} // events whose method ran, by type
	counts := map[string]int{}        // answers, by outcome
	var largest int
	started := time.Now()
	for i, d := range deliveries {
		want, status := "ignored", 200
		switch {
		case len(d.body) > webhookhttp.MaxBodyBytes:
			want, status = "too_large", 413
		case !handledTypes[d.typ]:
		case answered[d.id]:
			want = "duplicate"
		default:
			want = "handled"
		}
		payload := signedDelivery(t, d.path, d.body)
		largest = max(largest, len(payload))
		r, res := invokeRIE(t, f, payload, d.v1)
		got := bodyField(t, res.Body, "status")
		if status != 200 {
			got = bodyField(t, res.Body, "error")
		}
		dl := oneDelivery(t, r)
		if res.StatusCode != status || (status == 200 && got != want) || dl["outcome"] != want {
			t.Fatalf("delivery %d (%s %s, %d bytes): response %d %.200s, delivery line %v; want %d %s; output:\n%.2000s",
				i, d.typ, d.id, len(d.body), res.StatusCode, res.Body, dl, status, want, r.Output)
		}
		if want != "too_large" && dl["event_id"] != d.id {
			t.Errorf("delivery %d: delivery line's event_id %v, want %s", i, dl["event_id"], d.id)
		}
		if r.Exited || (r.ColdStart != (i == 0)) {
			t.Fatalf("delivery %d: cold start %v, exited %v: want one environment for the whole test", i, r.ColdStart, r.Exited)
		}
		counts[want]++
		if d.big {
			counts["large "+want]++
		}
		if want == "handled" {
			answered[d.id] = true
			handledByType[d.typ]++
		}
	}
	took := time.Since(started)

	// Each method ran exactly once per event: its own line counts them.
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
	for _, want := range []string{"handled", "duplicate", "ignored", "too_large", "large handled", "large duplicate"} {
		if counts[want] == 0 {
			t.Errorf("answers %v: none %s", counts, want)
		}
	}
	checkNoSecrets(t, out)
	t.Logf("answers: %v; largest invocation payload %d bytes", counts, largest)
	t.Logf("measured: webhook busiest: peak RSS %.1f MiB of MemorySize %d MB, %d invocations, %v",
		float64(f.PeakRSS())/(1<<20), limits.MemoryMB, len(deliveries), took.Round(time.Millisecond))
}

// busyDeliveries returns the deliveries of TestRIEBusy, in order: each
// fixture in turn as a new event, a large body every 40 events, and a
// redelivery after every fourth event (of the one three before it; every
// 48th event is delivered a third time) and two after each large one.
func busyDeliveries(t *testing.T) []busyDelivery {
	t.Helper()
	paths := fixturePaths(t)
	invoicePath := filepath.Join(fixturesDir, "invoice.payment_failed.json")
	checkoutPath := filepath.Join(fixturesDir, "checkout.session.completed.json")
	bigInvoice := loadFixture(t, invoicePath)
	bigCheckout := loadFixture(t, checkoutPath)
	invoiceBody := largeInvoice(t, bigInvoice.body, bigInvoiceAtLeast, webhookhttp.MaxBodyBytes)
	checkoutBody := largeCheckout(t, bigCheckout.body)
	// One byte over the limit: JSON whitespace after the largest invoice.
	overLimit := func(b []byte) []byte {
		return append(b, bytes.Repeat([]byte(" "), webhookhttp.MaxBodyBytes+1-len(b))...)
	}
	larges := []struct {
		path string
		fx   fixtureFile
		body []byte
		pad  func([]byte) []byte // applied once the event has its id
	}{
		{invoicePath, bigInvoice, invoiceBody, nil},
		{checkoutPath, bigCheckout, checkoutBody, nil},
		{invoicePath, bigInvoice, invoiceBody, overLimit},
	}
	t.Logf("largest bodies: invoice %d bytes (%d lines), checkout.session.completed %d bytes (%d line items), refused %d bytes",
		len(invoiceBody), maxInvoiceLines, len(checkoutBody), maxCheckoutItems, webhookhttp.MaxBodyBytes+1)

	const events = 360
	var out, fresh []busyDelivery
	for i := range events {
		var d busyDelivery
		if i%40 == 39 {
			l := larges[(i/40)%len(larges)]
			d = busyDelivery{path: l.path, v1: l.fx.v1, typ: l.fx.eventType, big: true}
			d.id = fmt.Sprintf("evt_busy_big_%04d", i)
			d.body = bytes.Replace(l.body, []byte(`"`+l.fx.eventID+`"`), []byte(`"`+d.id+`"`), 1)
			if l.pad != nil {
				d.body = l.pad(d.body)
			}
		} else {
			fx := loadFixture(t, paths[i%len(paths)])
			d = busyDelivery{path: fx.path, v1: fx.v1, typ: fx.eventType}
			d.id = fmt.Sprintf("evt_busy_%04d", i)
			d.body = bytes.ReplaceAll(fx.body, []byte(`"`+fx.eventID+`"`), []byte(`"`+d.id+`"`))
		}
		if !bytes.Contains(d.body, []byte(`"`+d.id+`"`)) {
			t.Fatalf("event %d: the new id is not in its body", i)
		}
		out = append(out, d)
		fresh = append(fresh, d)
		if i%4 == 3 {
			out = append(out, fresh[i-3])
		}
		if i%48 == 47 {
			out = append(out, fresh[i-3])
		}
		if i%40 == 1 && i > 40 {
			out = append(out, fresh[i-2]) // a large one
		}
	}
	return out
}

// signedDelivery returns the Lambda event of the fixture file at path with
// body as its Stripe event (base64-encoded if the fixture's is), its
// content-length header set to it, signed now with the local secret as
// Stripe signs a delivery.
func signedDelivery(tb testing.TB, path string, body []byte) []byte {
	tb.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	var e map[string]any
	if err := json.Unmarshal(data, &e); err != nil {
		tb.Fatalf("%s: %v", path, err)
	}
	if e["isBase64Encoded"] == true {
		e["body"] = base64.StdEncoding.EncodeToString(body)
	} else {
		e["body"] = string(body)
	}
	length := strconv.Itoa(len(body))
	if h, ok := e["headers"].(map[string]any); ok {
		for k := range h {
			if strings.EqualFold(k, "content-length") {
				h[k] = length
			}
		}
	}
	if h, ok := e["multiValueHeaders"].(map[string]any); ok {
		for k := range h {
			if strings.EqualFold(k, "content-length") {
				h[k] = []string{length}
			}
		}
	}
	data, err = json.Marshal(e)
	if err != nil {
		tb.Fatal(err)
	}
	out, err := fixture.Resign(data, fixture.LocalSecret, time.Now())
	if err != nil {
		tb.Fatalf("%s: %v", path, err)
	}
	return out
}

// metadata returns n metadata pairs at Stripe's limits: 40-character keys,
// 500-character values (tag makes them differ between objects).
func metadata(tag string, n int) map[string]string {
	m := make(map[string]string, n)
	for i := range n {
		k := fmt.Sprintf("%s_%02d_", tag, i)
		k += strings.Repeat("k", max(0, 40-len(k)))
		v := fmt.Sprintf("%s value %d: ", tag, i)
		m[k[:40]] = v + strings.Repeat("Rosen Cafe and Baeckerei, Berlin. ", maxMetadataValue)[:maxMetadataValue-len(v)]
	}
	return m
}

// largeInvoice returns the invoice event body with its one line repeated
// to maxInvoiceLines lines, with as much metadata on them (up to Stripe's
// 50 keys each) as keeps the body at most most bytes; it fails the test
// when the body is not at least least bytes.
func largeInvoice(t *testing.T, body []byte, least, most int) []byte {
	t.Helper()
	var ev map[string]any
	if err := json.Unmarshal(body, &ev); err != nil {
		t.Fatal(err)
	}
	inv := ev["data"].(map[string]any)["object"].(map[string]any)
	lines := inv["lines"].(map[string]any)
	line := lines["data"].([]any)[0].(map[string]any)
	// build gives the lines pairs metadata pairs in all, spread evenly.
	build := func(pairs int) []byte {
		data := make([]any, maxInvoiceLines)
		for i := range data {
			l := make(map[string]any, len(line))
			for k, v := range line {
				l[k] = v
			}
			keys := pairs / maxInvoiceLines
			if i < pairs%maxInvoiceLines {
				keys++
			}
			l["id"] = fmt.Sprintf("il_busy_%03d", i)
			l["metadata"] = metadata(fmt.Sprintf("line%03d", i), keys)
			data[i] = l
		}
		lines["data"], lines["total_count"] = data, maxInvoiceLines
		out, err := json.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	// The most pairs that keep the body within most bytes.
	lo, hi := 0, maxInvoiceLines*maxMetadataKeys
	best := build(lo)
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if b := build(mid); len(b) <= most {
			lo, best = mid, b
		} else {
			hi = mid - 1
		}
	}
	if len(best) < least {
		t.Fatalf("the largest invoice is %d bytes, want at least %d", len(best), least)
	}
	return best
}

// largeCheckout returns the checkout.session.completed event body with
// maxCheckoutItems line items, each with its price and product expanded
// and metadata on both, and the session's metadata at Stripe's limits.
func largeCheckout(t *testing.T, body []byte) []byte {
	t.Helper()
	var ev map[string]any
	if err := json.Unmarshal(body, &ev); err != nil {
		t.Fatal(err)
	}
	s := ev["data"].(map[string]any)["object"].(map[string]any)
	s["metadata"] = metadata("session", maxMetadataKeys)
	items := make([]any, maxCheckoutItems)
	for i := range items {
		items[i] = map[string]any{
			"id": fmt.Sprintf("li_busy_%03d", i), "object": "item",
			"amount_discount": 0, "amount_subtotal": 2900, "amount_tax": 0, "amount_total": 2900,
			"currency": "usd", "description": fmt.Sprintf("Stripetask add-on %d", i), "quantity": 1,
			"price": map[string]any{
				"id": fmt.Sprintf("price_busy_%03d", i), "object": "price", "active": true, "billing_scheme": "per_unit",
				"created": 1709571515, "currency": "usd", "livemode": false, "lookup_key": nil,
				"metadata": metadata(fmt.Sprintf("price%03d", i), 4), "nickname": nil,
				"product": map[string]any{
					"id": fmt.Sprintf("prod_busy_%03d", i), "object": "product", "active": true,
					"description": strings.Repeat("A add-on of Stripetask. ", 20), "images": []string{"https://files.stripe.com/links/busy"},
					"metadata": metadata(fmt.Sprintf("product%03d", i), 4), "name": fmt.Sprintf("Stripetask add-on %d", i),
				},
				"recurring": nil, "tax_behavior": "exclusive", "type": "one_time", "unit_amount": 2900, "unit_amount_decimal": "2900",
			},
		}
	}
	s["line_items"] = map[string]any{"object": "list", "data": items, "has_more": false, "url": "/v1/checkout/sessions/" + s["id"].(string) + "/line_items"}
	out, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
