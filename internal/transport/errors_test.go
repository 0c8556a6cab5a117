package transport

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"stripetask/internal/testlog"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

// panicValue is what the panicking handlers panic with; it must reach the
// log only.
const panicValue = "sk_live_panic_value"

// panicky panics with v after writing a partial response.
func panicky(v any) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Partial", "1")
		w.Header().Set("Cache-Control", "max-age=60")
		http.SetCookie(w, &http.Cookie{Name: "a", Value: "1"})
		w.WriteHeader(http.StatusOK)
		io.WriteString(w, "partial "+panicValue)
		panic(v)
	}
}

// lambdaResult is a Lambda HTTP response of any format, its headers in one
// map.
type lambdaResult struct {
	status      int
	description string // ALB only
	header      http.Header
	fields      []string
	body        string
}

// decodeResult decodes the Lambda response out.
func decodeResult(t *testing.T, out []byte) lambdaResult {
	t.Helper()
	var raw struct {
		StatusCode        int
		StatusDescription string
		Headers           map[string]string
		MultiValueHeaders map[string][]string
		Cookies           []string
		Body              string
		IsBase64Encoded   bool
	}
	if err := json.Unmarshal(out, &raw); err != nil {
		t.Fatalf("response %s: %v", out, err)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(out, &fields); err != nil {
		t.Fatal(err)
	}
	res := lambdaResult{status: raw.StatusCode, description: raw.StatusDescription, header: http.Header{}, body: raw.Body}
	for k := range fields {
		res.fields = append(res.fields, k)
	}
	for k, v := range raw.Headers {
		res.header[k] = append(res.header[k], v)
	}
	for k, vs := range raw.MultiValueHeaders {
		res.header[k] = append(res.header[k], vs...)
	}
	if len(raw.Cookies) > 0 {
		res.header["Set-Cookie"] = raw.Cookies
	}
	if raw.IsBase64Encoded {
		t.Errorf("error response body is base64-encoded: %s", out)
	}
	return res
}

// checkErrorResponse checks that res is the transport's error response
// with status, msg and request ID id.
func checkErrorResponse(t *testing.T, res lambdaResult, status int, msg, id string) {
	t.Helper()
	want, _ := json.Marshal(errorBody{Error: msg, RequestID: id})
	if res.status != status || res.body != string(want)+"\n" {
		t.Errorf("response %d %q, want %d %s", res.status, res.body, status, want)
	}
	wantHeader := http.Header{"Content-Type": {"application/json"}, "Cache-Control": {"no-store"}}
	if !reflect.DeepEqual(res.header, wantHeader) {
		t.Errorf("response headers %q, want %q", res.header, wantHeader)
	}
	if strings.Contains(res.body, panicValue) || strings.Contains(res.body, "panic") {
		t.Errorf("response body reveals the panic: %s", res.body)
	}
}

// checkErrorLine checks that log holds exactly one line, the transport_error
// line for status with request ID id, an error containing errPart and a
// stack if and only if stack.
func checkErrorLine(t *testing.T, log *testlog.Buffer, status int, id, errPart string, stack bool) {
	t.Helper()
	lines := log.Lines(t)
	if len(lines) != 1 {
		t.Fatalf("%d log lines, want 1:\n%s", len(lines), log)
	}
	l := lines[0]
	level := "WARN"
	if status >= 500 {
		level = "ERROR"
	}
	if l["msg"] != "transport_error" || l["level"] != level || l["request_id"] != id || l["status"] != float64(status) {
		t.Errorf("log line %v, want msg transport_error, level %s, request_id %q, status %d", l, level, id, status)
	}
	if e, _ := l["error"].(string); !strings.Contains(e, errPart) {
		t.Errorf("log error %q, want it to contain %q", e, errPart)
	}
	s, hasStack := l["stack"].(string)
	if hasStack != stack {
		t.Errorf("log line has stack: %t, want %t", hasStack, stack)
	}
	if stack && !strings.Contains(s, "panicky") {
		t.Errorf("log stack does not show the panicking handler:\n%s", s)
	}
}

func TestTransportErrors(t *testing.T) {
	badBody := func(e map[string]any) {
		e["isBase64Encoded"] = true
		e["body"] = "not base64!"
	}
	noEdit := func(map[string]any) {}
	tests := []struct {
		name    string
		file    string
		edit    func(e map[string]any)
		handler http.Handler
		status  int
		msg     string
		id      string
		errPart string
		stack   bool
		// The response's fields.
		fields []string
	}{{
		name:    "bad base64 REST API",
		file:    "apigw-request.json",
		edit:    badBody,
		status:  400,
		msg:     "request body is not valid base64",
		id:      "deef4878-7910-11e6-8f14-25afc3e9ae33",
		errPart: "decoding base64 request body: illegal base64 data",
		fields:  []string{"body", "headers", "isBase64Encoded", "statusCode"},
	}, {
		name:    "bad base64 HTTP API",
		file:    "apigw-v2-request-no-authorizer.json",
		edit:    badBody,
		status:  400,
		msg:     "request body is not valid base64",
		id:      "LV7fzho-PHcEJPw=",
		errPart: "illegal base64 data",
		fields:  []string{"body", "headers", "isBase64Encoded", "statusCode"},
	}, {
		name:    "bad base64 function URL",
		file:    "lambda-urls-request.json",
		edit:    badBody,
		status:  400,
		msg:     "request body is not valid base64",
		id:      "id",
		errPart: "illegal base64 data",
		fields:  []string{"body", "headers", "isBase64Encoded", "statusCode"},
	}, {
		name:    "bad base64 ALB",
		file:    "alb-lambda-target-request-headers-only.json",
		edit:    badBody,
		status:  400,
		msg:     "request body is not valid base64",
		id:      "aws-req-9",
		errPart: "illegal base64 data",
		fields:  []string{"body", "headers", "isBase64Encoded", "statusCode", "statusDescription"},
	}, {
		name:    "bad base64 ALB multi-value",
		file:    "alb-lambda-target-request-multivalue-headers.json",
		edit:    badBody,
		status:  400,
		msg:     "request body is not valid base64",
		id:      "aws-req-9",
		errPart: "illegal base64 data",
		fields:  []string{"body", "isBase64Encoded", "multiValueHeaders", "statusCode", "statusDescription"},
	}, {
		name:    "panic REST API",
		file:    "apigw-request.json",
		edit:    noEdit,
		handler: panicky(panicValue),
		status:  500,
		msg:     "internal error",
		id:      "deef4878-7910-11e6-8f14-25afc3e9ae33",
		errPart: "handler panicked: " + panicValue,
		stack:   true,
		fields:  []string{"body", "headers", "isBase64Encoded", "statusCode"},
	}, {
		name:    "panic HTTP API",
		file:    "apigw-v2-request-no-authorizer.json",
		edit:    noEdit,
		handler: panicky(errors.New(panicValue)),
		status:  500,
		msg:     "internal error",
		id:      "LV7fzho-PHcEJPw=",
		errPart: "handler panicked: " + panicValue,
		stack:   true,
		fields:  []string{"body", "headers", "isBase64Encoded", "statusCode"},
	}, {
		name:    "panic nil function URL",
		file:    "lambda-urls-request.json",
		edit:    noEdit,
		handler: panicky(nil),
		status:  500,
		msg:     "internal error",
		id:      "id",
		errPart: "handler panicked: panic called with nil argument",
		stack:   true,
		fields:  []string{"body", "headers", "isBase64Encoded", "statusCode"},
	}, {
		name:    "panic ALB",
		file:    "alb-lambda-target-request-headers-only.json",
		edit:    noEdit,
		handler: panicky(panicValue),
		status:  500,
		msg:     "internal error",
		id:      "aws-req-9",
		errPart: panicValue,
		stack:   true,
		fields:  []string{"body", "headers", "isBase64Encoded", "statusCode", "statusDescription"},
	}, {
		name:    "abort ALB multi-value",
		file:    "alb-lambda-target-request-multivalue-headers.json",
		edit:    noEdit,
		handler: panicky(http.ErrAbortHandler),
		status:  500,
		msg:     "internal error",
		id:      "aws-req-9",
		errPart: "handler panicked: net/http: abort Handler",
		fields:  []string{"body", "isBase64Encoded", "multiValueHeaders", "statusCode", "statusDescription"},
	}, {
		name: "HEAD has no body",
		file: "apigw-v2-request-no-authorizer.json",
		edit: func(e map[string]any) {
			e["requestContext"].(map[string]any)["http"].(map[string]any)["method"] = "HEAD"
		},
		handler: panicky(panicValue),
		status:  500,
		id:      "LV7fzho-PHcEJPw=",
		errPart: panicValue,
		stack:   true,
		fields:  []string{"body", "headers", "isBase64Encoded", "statusCode"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var log testlog.Buffer
			var s seen
			h := tt.handler
			if h == nil {
				h = recordingHandler(&s, nil)
			}
			l := &LambdaHandler{Handler: h, Log: slog.New(slog.NewJSONHandler(&log, nil))}
			ctx := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: "aws-req-9"})
			out, err := l.Invoke(ctx, editEvent(t, tt.file, tt.edit))
			if err != nil {
				t.Fatalf("Invoke: %v", err)
			}
			if s.called {
				t.Error("handler called")
			}
			res := decodeResult(t, out)
			if tt.msg == "" {
				// HEAD: the status and headers of the error, no body.
				if res.status != tt.status || res.body != "" || res.header.Get("Cache-Control") != "no-store" {
					t.Errorf("response %d %q %q, want %d, no body, Cache-Control: no-store", res.status, res.body, res.header, tt.status)
				}
			} else {
				checkErrorResponse(t, res, tt.status, tt.msg, tt.id)
			}
			if strings.Contains(string(out), panicValue) {
				t.Errorf("response reveals the panic value: %s", out)
			}
			if got := slices.Sorted(slices.Values(res.fields)); !slices.Equal(got, tt.fields) {
				t.Errorf("response fields %q, want %q", got, tt.fields)
			}
			if strings.HasPrefix(tt.file, "alb") && res.description != statusDescription(tt.status) {
				t.Errorf("statusDescription %q, want %q", res.description, statusDescription(tt.status))
			}
			checkErrorLine(t, &log, tt.status, tt.id, tt.errPart, tt.stack)
		})
	}
}

// TestTransportErrorsServe checks the errors of ServeV1, ServeV2 and
// ServeALB, which log to the default logger.
func TestTransportErrorsServe(t *testing.T) {
	saved := defaultLog
	t.Cleanup(func() { defaultLog = saved })

	ctx := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: "aws-req-3"})
	tests := []struct {
		name  string
		serve func() lambdaResult
		id    string
	}{
		{"ServeV1", func() lambdaResult {
			e := v1Event("POST", "/", nil, "", false)
			e.RequestContext.RequestID = "gw-1"
			r, _ := ServeV1(ctx, panicky(panicValue), e)
			return lambdaResult{status: r.StatusCode, header: mergeHeader(r.MultiValueHeaders, r.Headers), body: r.Body}
		}, "gw-1"},
		{"ServeV2", func() lambdaResult {
			r, _ := ServeV2(ctx, panicky(panicValue), v2Event("POST", "/", nil, "", false))
			return lambdaResult{status: r.StatusCode, header: mergeHeader(nil, r.Headers), body: r.Body}
		}, "aws-req-3"},
		{"ServeALB", func() lambdaResult {
			r, _ := ServeALB(ctx, panicky(panicValue), &events.ALBTargetGroupRequest{HTTPMethod: "POST", Path: "/"})
			return lambdaResult{status: r.StatusCode, header: mergeHeader(r.MultiValueHeaders, r.Headers), body: r.Body}
		}, "aws-req-3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var log testlog.Buffer
			defaultLog = slog.New(slog.NewJSONHandler(&log, nil))
			checkErrorResponse(t, tt.serve(), 500, "internal error", tt.id)
			checkErrorLine(t, &log, 500, tt.id, panicValue, true)
		})
	}
}

// TestServeNotFound checks serve mode's 404 for other paths.
func TestServeNotFound(t *testing.T) {
	tests := []struct {
		path, target string
		found        bool
	}{
		{"/webhook", "/webhook", true},
		{"/webhook", "/other", false},
		{"/webhook", "/webhook/x", false},
		{"/webhook", "/", false},
		{"", "/anything", true},
	}
	for _, tt := range tests {
		var log testlog.Buffer
		h := localHandler(echoHandler, tt.path, slog.New(slog.NewJSONHandler(&log, nil)))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("POST", tt.target, strings.NewReader("{}")))
		if tt.found {
			if rec.Code != 200 || log.String() != "" {
				t.Errorf("%s at %q: %d, log %q; want 200, no log", tt.target, tt.path, rec.Code, log.String())
			}
			continue
		}
		var body errorBody
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
			t.Fatalf("%s: body %q: %v", tt.target, rec.Body, err)
		}
		if _, err := hex.DecodeString(body.RequestID); err != nil || len(body.RequestID) != 16 {
			t.Errorf("%s: request_id %q, want 16 hexadecimal digits", tt.target, body.RequestID)
		}
		checkErrorResponse(t, lambdaResult{status: rec.Code, header: rec.Header(), body: rec.Body.String()}, 404, "not found", body.RequestID)
		checkErrorLine(t, &log, 404, body.RequestID, `no handler for path "`+tt.target+`"`, false)
	}
}

// TestInvokePrepareError checks invoke mode's 500 when Prepare fails.
func TestInvokePrepareError(t *testing.T) {
	var log, stdout, stderr testlog.Buffer
	code := Main(context.Background(), echoHandler, []string{"invoke", filepath.Join("testdata", "httpapi_v2.json")}, Options{
		Name:    "webhook",
		Getenv:  noEnv,
		Stdout:  &stdout,
		Stderr:  &stderr,
		Log:     slog.New(slog.NewJSONHandler(&log, nil)),
		Prepare: func(*http.Request) error { return io.ErrUnexpectedEOF },
	})
	if code != 1 || !strings.Contains(stderr.String(), "preparing request: unexpected EOF") {
		t.Errorf("Main = %d, stderr %q; want 1, the error", code, stderr.String())
	}
	checkErrorLine(t, &log, 500, "JKJaXmPLvHcESHA=", "preparing request: unexpected EOF", false)
}
