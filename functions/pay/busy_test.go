package main

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"stripetask/internal/lambdarie"
	"stripetask/internal/payapi"
	"stripetask/internal/stripemock"
)

// busyRequest is one request of TestRIEBusy.
type busyRequest struct {
	name   string // the fixture's file name, or a label
	e      events.APIGatewayV2HTTPRequest
	status int
}

// TestRIEBusy runs the pay function's bootstrap under aws-lambda-rie
// (internal/lambdarie: the real Lambda Runtime API, frozen between
// invocations as Lambda freezes an execution environment,
// https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html),
// with the template's Timeout and MemorySize
// (https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html:
// the harness fails the test when the bootstrap's peak RSS exceeds it, as
// Lambda would end the environment) and the Stripe API on stripe-mock,
// through one busy stretch of one execution environment: several hundred
// requests, one at a time as Lambda gives an environment one invocation at
// a time (https://docs.aws.amazon.com/lambda/latest/dg/lambda-concurrency.html),
// of every route in events/pay in turn, each with an Idempotency-Key of its
// own where the fixture has one, and among them the largest bodies the API
// accepts (a payment intent and a customer with metadata at Stripe's
// limits: 50 keys of 40 characters, values of 500,
// https://docs.stripe.com/metadata) and a body one byte over its 64 KiB,
// refused 413. Every answer has the route's status and one request line,
// no secret reaches the output, and the peak RSS is logged against the
// MemorySize.
func TestRIEBusy(t *testing.T) {
	limits := lambdarie.TemplateLimits(t, "PayFunction")
	f := runRIE(t, baseEnv(stripemock.Start(t)), 0)

	requests := busyRequests(t)
	counts := map[string]int{} // answers, by request name
	started := time.Now()
	for i, q := range requests {
		var (
			r      lambdarie.Result
			status int
		)
		if q.status == 204 {
			r, status = invokeNoContent(t, f, q.e)
		} else {
			var res events.APIGatewayV2HTTPResponse
			var body map[string]any
			r, res, body = invokeRIE(t, f, q.e)
			status = res.StatusCode
			if _, ok := body["error"]; ok != (status >= 400) {
				t.Errorf("request %d (%s): %d with body %.300s: want an error exactly when the status is one", i, q.name, status, res.Body)
			}
		}
		if status != q.status {
			t.Fatalf("request %d (%s): status %d, want %d; output:\n%s", i, q.name, status, q.status, r.Output)
		}
		if l := oneRequestLine(t, r); l["status"] != float64(q.status) || l["route"] != q.e.RouteKey || l["request_id"] != q.e.RequestContext.RequestID {
			t.Errorf("request %d (%s): request line %v, want status %d, route %s, request_id %s", i, q.name, l, q.status, q.e.RouteKey, q.e.RequestContext.RequestID)
		}
		if r.Exited || r.ColdStart != (i == 0) {
			t.Fatalf("request %d: cold start %v, exited %v: want one environment for the whole test", i, r.ColdStart, r.Exited)
		}
		counts[q.name]++
	}
	took := time.Since(started)
	for name := range wantStatus {
		if counts[name] != busyRounds {
			t.Errorf("%s answered %d times, want %d", name, counts[name], busyRounds)
		}
	}
	checkNoSecrets(t, f.Output())
	checkNoClientSecret(t, f.Output())
	t.Logf("answers, by request: %v", counts)
	t.Logf("measured: pay busiest: peak RSS %.1f MiB of MemorySize %d MB, %d invocations, %v",
		float64(f.PeakRSS())/(1<<20), limits.MemoryMB, len(requests), took.Round(time.Millisecond))
}

// invokeNoContent sends e to f and returns the result and the status of
// the function's answer, which must have no body.
func invokeNoContent(t *testing.T, f *lambdarie.Function, e events.APIGatewayV2HTTPRequest) (lambdarie.Result, int) {
	t.Helper()
	r, res := invokeResponse(t, f, e)
	if res.Body != "" {
		t.Errorf("a %d with body %q, want none", res.StatusCode, res.Body)
	}
	return r, res.StatusCode
}

// busyRounds is how many times TestRIEBusy sends each request.
const busyRounds = 32

// busyRequests returns the requests of TestRIEBusy: busyRounds rounds of every
// fixture of events/pay, each request with a request id (and an
// Idempotency-Key, where the fixture has one) of its own, and in each
// round the two largest bodies and one over the limit.
func busyRequests(t *testing.T) []busyRequest {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(fixturesDir, "*.json"))
	if err != nil || len(paths) != len(wantStatus) {
		t.Fatalf("%d fixtures in %s (%v), want %d", len(paths), fixturesDir, err, len(wantStatus))
	}
	big := metadataAtLimits()
	var out []busyRequest
	for round := range busyRounds {
		var batch []busyRequest
		for _, p := range paths {
			name := filepath.Base(p)
			batch = append(batch, busyRequest{name: name, e: readRequest(t, name), status: wantStatus[name]})
		}
		intent := readRequest(t, "payment-intents.create.json")
		setJSONBody(t, &intent, map[string]any{"amount": 2900, "currency": "usd", "customer": "cus_PgOjT3xWk9R2bV", "description": "Order #1042", "metadata": big})
		customer := readRequest(t, "customers.create.json")
		setJSONBody(t, &customer, map[string]any{"email": "jenny.rosen@example.com", "name": "Jenny Rosen", "metadata": big})
		over := readRequest(t, "customers.create.json")
		setJSONBody(t, &over, map[string]any{"email": "jenny.rosen@example.com", "metadata": big})
		over.Body += strings.Repeat(" ", payapi.MaxBodyBytes+1-len(over.Body)) // JSON whitespace
		over.Headers["content-length"] = strconv.Itoa(len(over.Body))
		batch = append(batch,
			busyRequest{name: "payment intent, metadata at Stripe's limits", e: intent, status: 201},
			busyRequest{name: "customer, metadata at Stripe's limits", e: customer, status: 201},
			busyRequest{name: "a body over 64 KiB", e: over, status: 413})
		for i := range batch {
			e := &batch[i].e
			e.RequestContext.RequestID = fmt.Sprintf("busy-%02d-%02d", round, i)
			if k, ok := e.Headers["idempotency-key"]; ok {
				e.Headers["idempotency-key"] = fmt.Sprintf("%s-busy-%02d", k, round)
			}
		}
		out = append(out, batch...)
	}
	return out
}

// setJSONBody makes v, as JSON, e's body, with its content-length.
func setJSONBody(t *testing.T, e *events.APIGatewayV2HTTPRequest, v any) {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	e.Body, e.IsBase64Encoded = string(b), false
	e.Headers["content-length"] = strconv.Itoa(len(b))
}

// metadataAtLimits returns metadata at Stripe's limits: 50 keys of 40
// characters, each with a value of 500 characters.
func metadataAtLimits() map[string]string {
	m := make(map[string]string, 50)
	for i := range 50 {
		k := fmt.Sprintf("order_line_%02d_", i)
		v := fmt.Sprintf("line %d: ", i)
		m[k+strings.Repeat("x", 40-len(k))] = v + strings.Repeat("2 x Stripetask Pro seat, annual. ", 20)[:500-len(v)]
	}
	return m
}
