package transport

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"stripetask/internal/testlog"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

// noEnv is a Getenv that finds no variables, so that tests run the local
// modes even inside AWS Lambda.
func noEnv(string) string { return "" }

// echoHandler responds with JSON describing the request.
var echoHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]string{
		"method":    r.Method,
		"path":      r.URL.Path,
		"requestID": RequestID(r.Context()),
		"signature": r.Header.Get("Stripe-Signature"),
		"body":      string(body),
	})
})

func TestMainServe(t *testing.T) {
	type request struct {
		method, path string
		status       int
		bodyPrefix   string
	}
	tests := []struct {
		name     string
		path     string
		requests []request
	}{{
		name: "mounted",
		path: "/webhook",
		requests: []request{
			{"POST", "/webhook", 200, `{"body":"{}","method":"POST","path":"/webhook","requestID":"`},
			{"GET", "/webhook", 200, `{"body":"","method":"GET","path":"/webhook","requestID":"`},
			{"POST", "/other", 404, `{"error":"not found","request_id":"`},
			{"POST", "/webhook/x", 404, `{"error":"not found","request_id":"`},
			{"GET", "/", 404, `{"error":"not found","request_id":"`},
		},
	}, {
		name: "everywhere",
		path: "",
		requests: []request{
			{"GET", "/payments/pi_1", 200, `{"body":"","method":"GET","path":"/payments/pi_1","requestID":"`},
			{"GET", "/", 200, `{"body":"","method":"GET","path":"/","requestID":"`},
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			ready := make(chan net.Addr, 1)
			var log testlog.Buffer
			done := make(chan int, 1)
			go func() {
				done <- Main(ctx, echoHandler, []string{"serve", "-addr", "127.0.0.1:0"}, Options{
					Name:   "webhook",
					Path:   tt.path,
					Getenv: noEnv,
					Stdout: io.Discard,
					Stderr: io.Discard,
					Log:    slog.New(slog.NewTextHandler(&log, nil)),
					Ready:  func(addr net.Addr) { ready <- addr },
				})
			}()
			var addr net.Addr
			select {
			case addr = <-ready:
			case code := <-done:
				t.Fatalf("Main returned %d before listening", code)
			case <-time.After(10 * time.Second):
				t.Fatal("server did not start")
			}

			client := &http.Client{Timeout: 10 * time.Second}
			ids := make(map[string]bool)
			for _, req := range tt.requests {
				var body io.Reader
				if req.method == "POST" {
					body = strings.NewReader("{}")
				}
				r, err := http.NewRequest(req.method, "http://"+addr.String()+req.path, body)
				if err != nil {
					t.Fatal(err)
				}
				res, err := client.Do(r)
				if err != nil {
					t.Fatal(err)
				}
				got, err := io.ReadAll(res.Body)
				res.Body.Close()
				if err != nil {
					t.Fatal(err)
				}
				if res.StatusCode != req.status || !strings.HasPrefix(string(got), req.bodyPrefix) {
					t.Errorf("%s %s: %d %s, want %d %s...", req.method, req.path, res.StatusCode, got, req.status, req.bodyPrefix)
				}
				if res.StatusCode == 200 {
					var v map[string]string
					if err := json.Unmarshal(got, &v); err != nil {
						t.Fatal(err)
					}
					id := v["requestID"]
					if _, err := hex.DecodeString(id); err != nil || len(id) != 16 || ids[id] {
						t.Errorf("%s %s: request ID %q, want a fresh 16-digit hex string", req.method, req.path, id)
					}
					ids[id] = true
				}
			}

			cancel()
			select {
			case code := <-done:
				if code != 0 {
					t.Errorf("Main = %d, want 0", code)
				}
			case <-time.After(15 * time.Second):
				t.Fatal("Main did not return after cancel")
			}
			if got := log.String(); !strings.Contains(got, "msg=listening addr="+addr.String()) {
				t.Errorf("log does not report the address %s:\n%s", addr, got)
			}
		})
	}
}

func TestMainServeErrors(t *testing.T) {
	// Occupy a port so that listening on it fails.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()

	tests := []struct {
		args   []string
		code   int
		stderr string
	}{
		{[]string{"serve", "-addr", ln.Addr().String()}, 1, "address already in use"},
		{[]string{"serve", "-bogus"}, 2, "flag provided but not defined"},
		{[]string{"serve", "extra"}, 2, "unexpected arguments"},
		{[]string{"serve", "-h"}, 0, "-addr"},
	}
	for _, tt := range tests {
		var stderr bytes.Buffer
		code := Main(context.Background(), echoHandler, tt.args, Options{
			Name:   "webhook",
			Getenv: noEnv,
			Stdout: io.Discard,
			Stderr: &stderr,
		})
		if code != tt.code || !strings.Contains(stderr.String(), tt.stderr) {
			t.Errorf("Main(%q) = %d, stderr %q; want %d, stderr containing %q", tt.args, code, stderr.String(), tt.code, tt.stderr)
		}
	}
}

func TestMainInvoke(t *testing.T) {
	dir := t.TempDir()
	unknown := filepath.Join(dir, "unknown.json")
	if err := os.WriteFile(unknown, []byte(`{"Records":[]}`), 0o666); err != nil {
		t.Fatal(err)
	}
	event := filepath.Join("testdata", "httpapi_v2.json")
	resign := func(r *http.Request) error {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return err
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.Header.Set("Stripe-Signature", "t=1,v1=fresh-"+strconv.Itoa(len(body)))
		return nil
	}

	tests := []struct {
		name       string
		args       []string
		stdin      string
		prepare    func(*http.Request) error
		code       int
		status     int    // of the printed response, if code is 0
		body       string // part of the printed response body
		stderr     string
		noResponse bool
	}{{
		name:   "file",
		args:   []string{"invoke", event},
		code:   0,
		status: 200,
		body:   `"signature":"t=1700000000,v1=5257a869`,
	}, {
		name:   "stdin",
		args:   []string{"invoke", "-"},
		stdin:  string(readTestdata(t, "rest_v1.json")),
		code:   0,
		status: 200,
		body:   `"path":"/payments"`,
	}, {
		name:    "prepare",
		args:    []string{"invoke", event},
		prepare: resign,
		code:    0,
		status:  200,
		body:    `"signature":"t=1,v1=fresh-75"`,
	}, {
		name:   "handler error status",
		args:   []string{"invoke", "-"},
		stdin:  `{"version":"2.0","rawPath":"/x","body":"!!","isBase64Encoded":true,"requestContext":{"http":{"method":"POST"}}}`,
		code:   0,
		status: 400,
		body:   `{"error":"request body is not valid base64","request_id":"`,
	}, {
		name:       "prepare error",
		args:       []string{"invoke", event},
		prepare:    func(*http.Request) error { return io.ErrUnexpectedEOF },
		code:       1,
		stderr:     "preparing request: unexpected EOF",
		noResponse: true,
	}, {
		name:       "missing file",
		args:       []string{"invoke", filepath.Join(dir, "missing.json")},
		code:       1,
		stderr:     "no such file",
		noResponse: true,
	}, {
		name:       "unrecognised event",
		args:       []string{"invoke", unknown},
		code:       1,
		stderr:     "unrecognised Lambda event",
		noResponse: true,
	}, {
		name:       "not json",
		args:       []string{"invoke", "-"},
		stdin:      "hello",
		code:       1,
		stderr:     "decoding Lambda event",
		noResponse: true,
	}, {
		name:       "no file",
		args:       []string{"invoke"},
		code:       2,
		stderr:     "usage: webhook invoke FILE",
		noResponse: true,
	}, {
		name:       "two files",
		args:       []string{"invoke", event, event},
		code:       2,
		stderr:     "usage: webhook invoke FILE",
		noResponse: true,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := Main(context.Background(), echoHandler, tt.args, Options{
				Name:    "webhook",
				Path:    "/webhook",
				Getenv:  noEnv,
				Stdin:   strings.NewReader(tt.stdin),
				Stdout:  &stdout,
				Stderr:  &stderr,
				Prepare: tt.prepare,
			})
			if code != tt.code {
				t.Errorf("Main = %d, want %d; stderr:\n%s", code, tt.code, stderr.String())
			}
			if !strings.Contains(stderr.String(), tt.stderr) {
				t.Errorf("stderr = %q, want it to contain %q", stderr.String(), tt.stderr)
			}
			if tt.noResponse {
				if stdout.Len() != 0 {
					t.Errorf("stdout = %q, want nothing", stdout.String())
				}
				return
			}
			out := stdout.String()
			if !strings.HasPrefix(out, "{\n  \"statusCode\": ") || !strings.HasSuffix(out, "}\n") {
				t.Errorf("stdout is not indented JSON ending in a newline:\n%s", out)
			}
			var res struct {
				StatusCode int
				Body       string
			}
			if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
				t.Fatalf("stdout: %v\n%s", err, out)
			}
			if res.StatusCode != tt.status || !strings.Contains(res.Body, tt.body) {
				t.Errorf("response %d %s, want %d containing %s", res.StatusCode, res.Body, tt.status, tt.body)
			}
		})
	}
}

func TestMainInvokeLambdaContext(t *testing.T) {
	var (
		lc          *lambdacontext.LambdaContext
		hasDeadline bool
		requestID   string
	)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		lc, _ = lambdacontext.FromContext(r.Context())
		_, hasDeadline = r.Context().Deadline()
		requestID = RequestID(r.Context())
	})
	// An event without requestContext.requestId falls back to the
	// invocation's AwsRequestID.
	stdin := strings.NewReader(`{"version":"2.0","rawPath":"/","requestContext":{"http":{"method":"GET"}}}`)
	code := Main(context.Background(), h, []string{"invoke", "-"}, Options{
		Name: "payments", Getenv: noEnv, Stdin: stdin, Stdout: io.Discard, Stderr: io.Discard,
	})
	if code != 0 {
		t.Fatalf("Main = %d, want 0", code)
	}
	if lc == nil || len(lc.AwsRequestID) != 36 || lc.AwsRequestID[14] != '4' {
		t.Fatalf("Lambda context = %+v, want a random version 4 UUID request ID", lc)
	}
	if requestID != lc.AwsRequestID {
		t.Errorf("RequestID = %q, want AwsRequestID %q", requestID, lc.AwsRequestID)
	}
	if !hasDeadline {
		t.Error("request context has no deadline")
	}
}

func TestMainLambda(t *testing.T) {
	var (
		started lambda.Handler
		gotCtx  context.Context
	)
	ctx := context.WithValue(context.Background(), ctxKey{}, "v")
	var stdout, stderr bytes.Buffer
	code := Main(ctx, echoHandler, []string{"serve"}, Options{
		Name: "webhook",
		Getenv: func(key string) string {
			if key == "AWS_LAMBDA_RUNTIME_API" {
				return "127.0.0.1:9001"
			}
			return ""
		},
		Stdout: &stdout,
		Stderr: &stderr,
		StartLambda: func(ctx context.Context, h lambda.Handler) {
			gotCtx, started = ctx, h
		},
	})
	if code != 0 || started == nil {
		t.Fatalf("Main = %d, StartLambda called: %t; want 0, true", code, started != nil)
	}
	if gotCtx.Value(ctxKey{}) != "v" {
		t.Error("StartLambda did not get Main's context")
	}
	if stdout.Len()+stderr.Len() != 0 {
		t.Errorf("Main wrote output: %q %q", stdout.String(), stderr.String())
	}
	out, err := started.Invoke(context.Background(), readTestdata(t, "function_url.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), `\"path\":\"/payments/pi_123\"`) {
		t.Errorf("Invoke = %s, want the echo of /payments/pi_123", out)
	}
}

func TestMainUsage(t *testing.T) {
	tests := []struct {
		args       []string
		code       int
		stdout     bool // usage on stdout rather than stderr
		extraError string
	}{
		{nil, 2, false, ""},
		{[]string{}, 2, false, ""},
		{[]string{"help"}, 0, true, ""},
		{[]string{"-h"}, 0, true, ""},
		{[]string{"--help"}, 0, true, ""},
		{[]string{"deploy"}, 2, false, `unknown command "deploy"`},
		{[]string{"-addr", ":1"}, 2, false, `unknown command "-addr"`},
	}
	for _, tt := range tests {
		var stdout, stderr bytes.Buffer
		code := Main(context.Background(), echoHandler, tt.args, Options{
			Name:        "webhook",
			Path:        "/webhook",
			DefaultAddr: ":3000",
			Getenv:      noEnv,
			Stdout:      &stdout,
			Stderr:      &stderr,
		})
		usage, other := stderr.String(), stdout.String()
		if tt.stdout {
			usage, other = other, usage
		}
		if code != tt.code {
			t.Errorf("Main(%q) = %d, want %d", tt.args, code, tt.code)
		}
		for _, want := range []string{"webhook serve [-addr ADDR]", "/webhook", ":3000", "webhook invoke FILE", "AWS_LAMBDA_RUNTIME_API", tt.extraError} {
			if !strings.Contains(usage, want) {
				t.Errorf("Main(%q) usage does not mention %q:\n%s", tt.args, want, usage)
			}
		}
		if other != "" {
			t.Errorf("Main(%q) wrote %q to the other stream", tt.args, other)
		}
	}
}
