package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/webhook"

	"stripetask/handler"
	"stripetask/internal/bootstrap"
	"stripetask/internal/fixture"
	"stripetask/internal/stripemock"
)

// useStripeMock makes `new` take its objects from one stripe-mock for the
// test, and returns its URL.
func useStripeMock(t *testing.T) string {
	t.Helper()
	api := stripemock.Start(t)
	prev := startStripeMock
	startStripeMock = func(context.Context) (string, func(), error) { return api, func() {}, nil }
	t.Cleanup(func() { startStripeMock = prev })
	return api
}

// invoke runs the webhook's `invoke` mode on file, as `go run
// ./functions/webhook invoke FILE` does, with the local signing secret and
// the Stripe API at api, and returns its exit code and output.
func invoke(t *testing.T, api, file string) (int, string, string) {
	t.Helper()
	// STRIPE_EVENT_SOURCE: the EventBridge fixtures' partner event source,
	// without which the webhook runs no EventBridge event.
	env := map[string]string{"STRIPE_WEBHOOK_SECRET": fixture.LocalSecret, "STRIPE_KEY": stripemock.Key, "STRIPE_API_BASE": api, "STRIPE_EVENT_SOURCE": eventSource}
	var environ []string
	for k, v := range env {
		environ = append(environ, k+"="+v)
	}
	var stdout, stderr bytes.Buffer
	code := bootstrap.Webhook(t.Context(), handler.Handler{}, bootstrap.Process{
		Args:    []string{"invoke", file},
		Getenv:  func(k string) string { return env[k] },
		Environ: environ,
		Stdin:   strings.NewReader(""),
		Stdout:  &stdout,
		Stderr:  &stderr,
	})
	return code, stdout.String(), stderr.String()
}

// TestNewShapes writes a checkout.session.completed fixture of each shape
// and runs it through `invoke`: each is handled by the Handler's method,
// which calls stripe-mock.
func TestNewShapes(t *testing.T) {
	api := useStripeMock(t)
	dir := t.TempDir()
	for _, shape := range shapes {
		t.Run(shape, func(t *testing.T) {
			file := filepath.Join(dir, shape, "checkout.session.completed.json")
			var stdout, stderr bytes.Buffer
			args := []string{"new", "checkout.session.completed", "-shape", shape,
				"-set", "data.object.id=cs_test_new", "-set", "data.object.amount_total=2900", "-o", file}
			if err := run(args, &stdout, &stderr, time.Now); err != nil {
				t.Fatalf("run: %v\n%s", err, stderr.String())
			}
			if !strings.Contains(stdout.String(), "wrote "+file+": checkout.session.completed evt_") || !strings.Contains(stdout.String(), "(data.object: a checkout.session, from stripe-mock), "+shape+" event") {
				t.Errorf("stdout: %s", stdout.String())
			}
			raw, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			body, sig := carried(t, shape, raw)
			var e stripe.Event
			if err := json.Unmarshal(body, &e); err != nil {
				t.Fatalf("the event: %v\n%s", err, body)
			}
			if e.Type != "checkout.session.completed" || e.Data.Object["id"] != "cs_test_new" || e.Data.Object["amount_total"] != 2900.0 || e.Data.Object["object"] != "checkout.session" || e.APIVersion != stripe.APIVersion {
				t.Errorf("the event: %s %s %v", e.Type, e.APIVersion, e.Data.Object)
			}
			if shape == shapeEventBridge {
				if sig != "" {
					t.Errorf("an EventBridge event is signed: %q", sig)
				}
			} else if _, err := webhook.ConstructEventWithOptions(body, sig, fixture.LocalSecret, webhook.ConstructEventOptions{IgnoreAPIVersionMismatch: true}); err != nil {
				t.Errorf("signature: %v", err)
			}
			code, out, errOut := invoke(t, api, file)
			if code != 0 || !strings.Contains(strings.ReplaceAll(out, " ", ""), `handled`) || !strings.Contains(errOut, `"outcome":"handled"`) || !strings.Contains(errOut, `"session":"cs_test_new","line_items":1`) {
				t.Errorf("invoke: exit %d\n%s\n%s", code, out, errOut)
			}
		})
	}
}

// carried returns the Stripe event a fixture of shape carries and its
// Stripe-Signature.
func carried(t *testing.T, shape string, raw []byte) ([]byte, string) {
	t.Helper()
	switch shape {
	case shapeHTTP:
		var v events.APIGatewayV2HTTPRequest
		if err := json.Unmarshal(raw, &v); err != nil || v.Version != "2.0" || v.RequestContext.HTTP.Method != "POST" || v.IsBase64Encoded {
			t.Fatalf("not an HTTP API event (%v):\n%s", err, raw)
		}
		return []byte(v.Body), v.Headers["stripe-signature"]
	case shapeFunctionURL:
		var v events.LambdaFunctionURLRequest
		if err := json.Unmarshal(raw, &v); err != nil || !v.IsBase64Encoded || !strings.HasSuffix(v.RequestContext.DomainName, ".lambda-url.us-east-1.on.aws") {
			t.Fatalf("not a function URL event (%v):\n%s", err, raw)
		}
		body, err := base64.StdEncoding.DecodeString(v.Body)
		if err != nil {
			t.Fatal(err)
		}
		return body, v.Headers["stripe-signature"]
	case shapeREST:
		var v events.APIGatewayProxyRequest
		if err := json.Unmarshal(raw, &v); err != nil || v.HTTPMethod != "POST" || v.MultiValueHeaders["Stripe-Signature"][0] != v.Headers["Stripe-Signature"] {
			t.Fatalf("not a REST API event (%v):\n%s", err, raw)
		}
		return []byte(v.Body), v.Headers["Stripe-Signature"]
	}
	var v events.EventBridgeEvent
	if err := json.Unmarshal(raw, &v); err != nil || v.DetailType != "checkout.session.completed" || !strings.HasPrefix(v.Source, "aws.partner/stripe.com/ed_test_") {
		t.Fatalf("not an EventBridge event (%v):\n%s", err, raw)
	}
	return v.Detail, ""
}

// TestNewValues checks -set: JSON values, strings otherwise, in order;
// and -secret, and the fixture on standard output without -o.
func TestNewValues(t *testing.T) {
	useStripeMock(t)
	var stdout, stderr bytes.Buffer
	args := []string{"new", "charge.refunded", "-secret", "whsec_other_0123456789",
		"-set", "data.object.amount=5000",
		"-set", "data.object.customer=cus_X",
		"-set", `data.object.metadata={"order_id":"1042"}`,
		"-set", `data.object.description="5000"`,
		"-set", "data.object.receipt_email=null",
		"-set", "data.object.refunded=true",
		"-set", "data.object.refunds.data[0].amount=100",
		"-set", "data.object.statement_descriptor=a=b",
		"-set", "account=acct_1",
		"-set", "data.object.amount=6000"}
	if err := run(args, &stdout, &stderr, time.Now); err != nil {
		t.Fatalf("run: %v\n%s", err, stderr.String())
	}
	if !strings.Contains(stderr.String(), "events: wrote charge.refunded evt_") {
		t.Errorf("stderr: %s", stderr.String())
	}
	var v events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(stdout.Bytes(), &v); err != nil {
		t.Fatalf("stdout is not the fixture: %v\n%s", err, stdout.String())
	}
	if _, err := webhook.ConstructEventWithOptions([]byte(v.Body), v.Headers["stripe-signature"], "whsec_other_0123456789", webhook.ConstructEventOptions{IgnoreAPIVersionMismatch: true}); err != nil {
		t.Errorf("not signed with -secret: %v", err)
	}
	var e struct {
		Account string `json:"account"`
		Data    struct {
			Object map[string]any `json:"object"`
		} `json:"data"`
	}
	if err := json.Unmarshal([]byte(v.Body), &e); err != nil {
		t.Fatal(err)
	}
	o := e.Data.Object
	refunds, _ := o["refunds"].(map[string]any)["data"].([]any)
	checks := map[string][2]any{
		"amount":               {o["amount"], 6000.0},
		"customer":             {o["customer"], "cus_X"},
		"metadata":             {mustJSON(o["metadata"]), `{"order_id":"1042"}`},
		"description":          {o["description"], "5000"},
		"receipt_email":        {o["receipt_email"], nil},
		"refunded":             {o["refunded"], true},
		"refunds":              {refunds[0].(map[string]any)["amount"], 100.0},
		"statement_descriptor": {o["statement_descriptor"], "a=b"},
		"account":              {e.Account, "acct_1"},
	}
	for name, c := range checks {
		if c[0] != c[1] {
			t.Errorf("%s = %#v, want %#v", name, c[0], c[1])
		}
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestNewErrors checks the command-line mistakes `new` refuses, before
// starting stripe-mock when it can.
func TestNewErrors(t *testing.T) {
	useStripeMock(t)
	tests := []struct {
		name  string
		args  []string
		usage bool
		want  string
	}{
		{"no type", []string{"new"}, true, "new needs the event type first"},
		{"flags first", []string{"new", "-shape", "rest", "charge.succeeded"}, true, "new needs the event type first"},
		{"unknown type", []string{"new", "charge.succeded"}, true, `"charge.succeded" is not an event type stripe-go v76 knows`},
		{"bad shape", []string{"new", "charge.succeeded", "-shape", "sqs"}, true, `-shape "sqs": want one of http, rest, function-url, eventbridge`},
		{"signed EventBridge", []string{"new", "charge.succeeded", "-shape", "eventbridge", "-secret", "whsec_1"}, true, "EventBridge events are not signed"},
		{"empty secret", []string{"new", "charge.succeeded", "-secret", " "}, true, "-secret is empty"},
		{"set without =", []string{"new", "charge.succeeded", "-set", "data.object.amount"}, true, "want path=value"},
		{"bad path", []string{"new", "charge.succeeded", "-set", "type.x=1"}, true, `Set("type.x") on charge.succeeded evt_`},
		{"two types", []string{"new", "charge.succeeded", "charge.failed"}, true, `unexpected argument "charge.failed"`},
		{"unknown flag", []string{"new", "charge.succeeded", "-w"}, true, "flag provided but not defined: -w"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := run(tt.args, &stdout, &stderr, time.Now)
			if err == nil {
				t.Fatalf("run succeeded:\n%s", stdout.String())
			}
			if errors.Is(err, errUsage) != tt.usage {
				t.Errorf("errors.Is(%v, errUsage) = %v, want %v", err, !tt.usage, tt.usage)
			}
			if !strings.Contains(err.Error()+"\n"+stderr.String(), tt.want) {
				t.Errorf("error %q and stderr %q do not say %q", err, stderr.String(), tt.want)
			}
			if stdout.Len() > 0 {
				t.Errorf("stdout: %s", stdout.String())
			}
		})
	}
}

// TestNewWithoutStripeMock checks the message when stripe-mock cannot be
// found: it says to run `make tools`.
func TestNewWithoutStripeMock(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	t.Setenv("STRIPE_MOCK", "")
	t.Chdir(t.TempDir()) // no ./bin
	var stdout, stderr bytes.Buffer
	err := run([]string{"new", "charge.succeeded"}, &stdout, &stderr, time.Now)
	if err == nil || errors.Is(err, errUsage) || !strings.Contains(err.Error(), "run `make tools`") {
		t.Errorf("got %v", err)
	}
}
