package main

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/stripe/stripe-go/v76/webhook"
)

const testSecret = "whsec_stripetask_local_test_secret_0123456789"

var signAt = time.Unix(1709572923, 0)

// stripeBody is a (short) Stripe event as Stripe delivers it: pretty-printed.
const stripeBody = "{\n  \"id\": \"evt_1\",\n  \"object\": \"event\",\n  \"type\": \"charge.succeeded\"\n}"

// trickyBodyLiteral is a JSON string literal exercising escapes that a
// decode/re-encode round trip would normalise: \u escapes for ASCII and
// non-ASCII, an escaped solidus, raw UTF-8, U+2028, HTML characters,
// an emoji as a surrogate pair and as raw UTF-8, tabs and newlines.
const trickyBodyLiteral = `"{\n  \"id\": \"evt_\u0031\",\n  \"description\": \"Caf\u00e9 caf\u00C9 Café \/ <b>&amp;</b> \\\\ \t\u2028 ` +
	`\ud83d\ude80 🚀\",\n  \"type\": \"charge.succeeded\"\n}"`

func v2Fixture(headers, body string) string {
	return `{"version":"2.0","routeKey":"POST /webhook","rawPath":"/webhook","rawQueryString":"",` +
		`"headers":` + headers + `,` +
		`"requestContext":{"accountId":"123456789012","apiId":"abc123","http":{"method":"POST","path":"/webhook"},` +
		`"stage":"$default","time":"01/Jan/2024:00:00:00 +0000","timeEpoch":1704067200000},` +
		`"body":` + body + `,"isBase64Encoded":false}`
}

func v1Fixture(headers, multi, body string) string {
	return `{"resource":"/webhook","path":"/webhook","httpMethod":"POST",` +
		`"headers":` + headers + `,"multiValueHeaders":` + multi + `,` +
		`"requestContext":{"stage":"prod","requestTime":"01/Jan/2024:00:00:00 +0000","requestTimeEpoch":1704067200000},` +
		`"body":` + body + `,"isBase64Encoded":false}`
}

func jsonString(s string) string {
	b, err := json.Marshal(s)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// wantSignature computes the expected header independently of the code
// under test.
func wantSignature(payload []byte, t time.Time) string {
	mac := hmac.New(sha256.New, []byte(testSecret))
	fmt.Fprintf(mac, "%d.", t.Unix())
	mac.Write(payload)
	return fmt.Sprintf("t=%d,v1=%s", t.Unix(), hex.EncodeToString(mac.Sum(nil)))
}

func verify(t *testing.T, payload []byte, header string) {
	t.Helper()
	if header != wantSignature(payload, signAt) {
		t.Errorf("signature = %q, want %q", header, wantSignature(payload, signAt))
	}
	if err := webhook.ValidatePayloadIgnoringTolerance(payload, header, testSecret); err != nil {
		t.Errorf("stripe-go rejects the signature: %v", err)
	}
}

func TestResign(t *testing.T) {
	tests := []struct {
		name    string
		fixture string
		secret  string // testSecret when empty and wantErr is nil
		noTime  bool
		wantErr error
		check   func(t *testing.T, out []byte)
	}{
		{
			name: "payload 2.0",
			fixture: v2Fixture(`{"content-type":"application/json; charset=utf-8","stripe-signature":"t=1,v1=00","user-agent":"Stripe/1.0"}`,
				jsonString(stripeBody)),
			check: func(t *testing.T, out []byte) {
				var ev events.APIGatewayV2HTTPRequest
				mustUnmarshal(t, out, &ev)
				verify(t, []byte(ev.Body), ev.Headers["stripe-signature"])
				if len(ev.Headers) != 3 {
					t.Errorf("headers = %v, want the 3 original keys", ev.Headers)
				}
				if ev.RequestContext.TimeEpoch != signAt.UnixMilli() {
					t.Errorf("timeEpoch = %d, want %d", ev.RequestContext.TimeEpoch, signAt.UnixMilli())
				}
				if want := "04/Mar/2024:17:22:03 +0000"; ev.RequestContext.Time != want {
					t.Errorf("time = %q, want %q", ev.RequestContext.Time, want)
				}
				if ev.Body != stripeBody {
					t.Errorf("body changed: %q", ev.Body)
				}
			},
		},
		{
			name: "payload 1.0 with multiValueHeaders",
			fixture: v1Fixture(`{"Content-Type":"application/json","Stripe-Signature":"t=1,v1=00"}`,
				`{"Content-Type":["application/json"],"Stripe-Signature":["t=1,v1=00"]}`, jsonString(stripeBody)),
			check: func(t *testing.T, out []byte) {
				var ev events.APIGatewayProxyRequest
				mustUnmarshal(t, out, &ev)
				verify(t, []byte(ev.Body), ev.Headers["Stripe-Signature"])
				if got := ev.MultiValueHeaders["Stripe-Signature"]; len(got) != 1 || got[0] != ev.Headers["Stripe-Signature"] {
					t.Errorf("multiValueHeaders[Stripe-Signature] = %q, want [%q]", got, ev.Headers["Stripe-Signature"])
				}
				if ev.RequestContext.RequestTimeEpoch != signAt.UnixMilli() {
					t.Errorf("requestTimeEpoch = %d, want %d", ev.RequestContext.RequestTimeEpoch, signAt.UnixMilli())
				}
				if want := "04/Mar/2024:17:22:03 +0000"; ev.RequestContext.RequestTime != want {
					t.Errorf("requestTime = %q, want %q", ev.RequestContext.RequestTime, want)
				}
				if bytes.Contains(out, []byte(`"timeEpoch"`)) {
					t.Errorf("payload 2.0 field added to a 1.0 event:\n%s", out)
				}
			},
		},
		{
			name: "base64 body (function URL)",
			fixture: `{"version":"2.0","routeKey":"$default","rawPath":"/webhook","headers":{"stripe-signature":"x"},` +
				`"requestContext":{"accountId":"anonymous","domainName":"abc123.lambda-url.us-east-1.on.aws","timeEpoch":1},` +
				`"body":"` + base64.StdEncoding.EncodeToString([]byte(stripeBody)) + `","isBase64Encoded":true}`,
			check: func(t *testing.T, out []byte) {
				var ev events.LambdaFunctionURLRequest
				mustUnmarshal(t, out, &ev)
				if ev.Body != base64.StdEncoding.EncodeToString([]byte(stripeBody)) {
					t.Errorf("base64 body changed: %q", ev.Body)
				}
				verify(t, []byte(stripeBody), ev.Headers["stripe-signature"])
			},
		},
		{
			name:    "unicode and escapes stay byte-identical",
			fixture: v2Fixture(`{"stripe-signature":""}`, trickyBodyLiteral),
			check: func(t *testing.T, out []byte) {
				if !bytes.Contains(out, []byte(`"body": `+trickyBodyLiteral+",")) {
					t.Errorf("body literal not preserved byte for byte:\n%s", out)
				}
				var ev events.APIGatewayV2HTTPRequest
				mustUnmarshal(t, out, &ev)
				var decoded string
				mustUnmarshal(t, []byte(trickyBodyLiteral), &decoded)
				if ev.Body != decoded {
					t.Errorf("body = %q, want %q", ev.Body, decoded)
				}
				verify(t, []byte(decoded), ev.Headers["stripe-signature"])
			},
		},
		{
			name:    "header name in upper case is kept",
			fixture: v2Fixture(`{"STRIPE-SIGNATURE":"t=1,v1=00","host":"example.com"}`, jsonString(stripeBody)),
			check: func(t *testing.T, out []byte) {
				var ev events.APIGatewayV2HTTPRequest
				mustUnmarshal(t, out, &ev)
				if _, ok := ev.Headers["stripe-signature"]; ok {
					t.Errorf("added a lower-case header next to STRIPE-SIGNATURE: %v", ev.Headers)
				}
				verify(t, []byte(ev.Body), ev.Headers["STRIPE-SIGNATURE"])
			},
		},
		{
			name:    "missing header is added in lower case for 2.0",
			fixture: v2Fixture(`{"host":"example.com"}`, jsonString(stripeBody)),
			check: func(t *testing.T, out []byte) {
				var ev events.APIGatewayV2HTTPRequest
				mustUnmarshal(t, out, &ev)
				verify(t, []byte(ev.Body), ev.Headers["stripe-signature"])
			},
		},
		{
			name:    "missing header is added in title case for 1.0",
			fixture: v1Fixture(`{"Host":"example.com"}`, `{"Host":["example.com"]}`, jsonString(stripeBody)),
			check: func(t *testing.T, out []byte) {
				var ev events.APIGatewayProxyRequest
				mustUnmarshal(t, out, &ev)
				verify(t, []byte(ev.Body), ev.Headers["Stripe-Signature"])
				if got := ev.MultiValueHeaders["Stripe-Signature"]; len(got) != 1 || got[0] != ev.Headers["Stripe-Signature"] {
					t.Errorf("multiValueHeaders[Stripe-Signature] = %q", got)
				}
			},
		},
		{
			name:    "null headers",
			fixture: v2Fixture(`null`, jsonString(stripeBody)),
			check: func(t *testing.T, out []byte) {
				var ev events.APIGatewayV2HTTPRequest
				mustUnmarshal(t, out, &ev)
				verify(t, []byte(ev.Body), ev.Headers["stripe-signature"])
			},
		},
		{
			name:    "missing body",
			fixture: `{"version":"2.0","headers":{"stripe-signature":"x"},"isBase64Encoded":false}`,
			wantErr: errNoBody,
		},
		{
			name:    "null body",
			fixture: v2Fixture(`{}`, `null`),
			wantErr: errNoBody,
		},
		{
			name:    "empty body",
			fixture: v2Fixture(`{}`, `""`),
			wantErr: errNoBody,
		},
		{
			name:    "body is not a string",
			fixture: v2Fixture(`{}`, `{"id":"evt_1"}`),
			wantErr: errors.New("body: not a string"),
		},
		{
			name: "invalid base64 body",
			fixture: `{"version":"2.0","headers":{},"requestContext":{},` +
				`"body":"not base64!","isBase64Encoded":true}`,
			wantErr: errors.New("decode base64 body"),
		},
		{
			name:    "not JSON",
			fixture: `version: 2.0`,
			wantErr: errSyntax,
		},
		{
			name:    "truncated JSON",
			fixture: v2Fixture(`{}`, jsonString(stripeBody))[:40],
			wantErr: errSyntax,
		},
		{
			name:    "top level is not an object",
			fixture: `["version", "2.0"]`,
			wantErr: errShape,
		},
		{
			name:    "not a Lambda event",
			fixture: stripeBody,
			wantErr: errShape,
		},
		{
			name:    "unsupported payload version",
			fixture: `{"version":"3.0","headers":{},"body":"{}"}`,
			wantErr: errShape,
		},
		{
			name:    "headers is not an object",
			fixture: v2Fixture(`["stripe-signature"]`, jsonString(stripeBody)),
			wantErr: errors.New("headers is an array"),
		},
		{
			name:    "empty secret",
			fixture: v2Fixture(`{}`, jsonString(stripeBody)),
			secret:  " ",
			wantErr: errNoSecret,
		},
		{
			name:    "zero time",
			fixture: v2Fixture(`{}`, jsonString(stripeBody)),
			noTime:  true,
			wantErr: errNoTime,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			secret := tt.secret
			if secret == "" {
				secret = testSecret
			}
			at := signAt
			if tt.noTime {
				at = time.Time{}
			}
			out, err := Resign([]byte(tt.fixture), secret, at)
			if tt.wantErr != nil {
				if err == nil {
					t.Fatalf("Resign succeeded, want error %q; output:\n%s", tt.wantErr, out)
				}
				if !errors.Is(err, tt.wantErr) && !strings.Contains(err.Error(), tt.wantErr.Error()) {
					t.Fatalf("Resign error = %q, want %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), testSecret) {
					t.Errorf("error message contains the secret: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Resign: %v", err)
			}
			tt.check(t, out)

			// Stable: signing the output again at the same time changes nothing.
			again, err := Resign(out, secret, at)
			if err != nil {
				t.Fatalf("Resign of own output: %v", err)
			}
			if !bytes.Equal(again, out) {
				t.Errorf("not stable; first:\n%s\nsecond:\n%s", out, again)
			}
			if bytes.Contains(out, []byte(testSecret)) {
				t.Errorf("output contains the secret")
			}
		})
	}
}

// TestResignFormatting pins the output layout: member order kept, two-space
// indentation, empty containers inline, trailing newline, and only the
// signature and request time changed.
func TestResignFormatting(t *testing.T) {
	in := `{"version":"2.0","routeKey":"POST /webhook","headers":{"x-b":"2","stripe-signature":"old","a":"1"},` +
		`"cookies":[],"stageVariables":{},"requestContext":{"timeEpoch":1,"http":{"method":"POST"},"time":"x"},` +
		`"body":"{\"id\":\"evt_1\"}","isBase64Encoded":false,"n":[1.50,-0,2e10,true,null]}`
	sig := wantSignature([]byte(`{"id":"evt_1"}`), signAt)
	want := `{
  "version": "2.0",
  "routeKey": "POST /webhook",
  "headers": {
    "x-b": "2",
    "stripe-signature": "` + sig + `",
    "a": "1"
  },
  "cookies": [],
  "stageVariables": {},
  "requestContext": {
    "timeEpoch": 1709572923000,
    "http": {
      "method": "POST"
    },
    "time": "04/Mar/2024:17:22:03 +0000"
  },
  "body": "{\"id\":\"evt_1\"}",
  "isBase64Encoded": false,
  "n": [
    1.50,
    -0,
    2e10,
    true,
    null
  ]
}
`
	out, err := Resign([]byte(in), testSecret, signAt)
	if err != nil {
		t.Fatalf("Resign: %v", err)
	}
	if string(out) != want {
		t.Errorf("output:\n%s\nwant:\n%s", out, want)
	}
}

// TestResignTruncatesToSeconds checks that sub-second parts of the signing
// time do not leak into timeEpoch, so header and request time agree.
func TestResignTruncatesToSeconds(t *testing.T) {
	out, err := Resign([]byte(v2Fixture(`{}`, jsonString(stripeBody))), testSecret, signAt.Add(987*time.Millisecond))
	if err != nil {
		t.Fatalf("Resign: %v", err)
	}
	var ev events.APIGatewayV2HTTPRequest
	mustUnmarshal(t, out, &ev)
	verify(t, []byte(ev.Body), ev.Headers["stripe-signature"])
	if ev.RequestContext.TimeEpoch != signAt.UnixMilli() {
		t.Errorf("timeEpoch = %d, want %d", ev.RequestContext.TimeEpoch, signAt.UnixMilli())
	}
}

func mustUnmarshal(t *testing.T, data []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("unmarshal %T: %v\n%s", v, err, data)
	}
}
