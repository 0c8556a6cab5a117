package lambdaenv

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

// posted is one request the stand-in Runtime API received.
type posted struct {
	path, contentType, errorType string
	body                         []byte
}

// runtimeAPI stands in for the Lambda Runtime API's two answer endpoints,
// as https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html
// documents them (202 Accepted). It is a stand-in because these tests check
// the exact requests Ending sends; the functions' tests run the real
// Runtime API (aws-lambda-rie, internal/lambdarie) through the same code.
func runtimeAPI(t *testing.T) (addr string, got func() []posted) {
	t.Helper()
	var (
		mu  sync.Mutex
		all []posted
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		all = append(all, posted{r.URL.Path, r.Header.Get("Content-Type"), r.Header.Get("Lambda-Runtime-Function-Error-Type"), b})
		mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://"), func() []posted {
		mu.Lock()
		defer mu.Unlock()
		return append([]posted(nil), all...)
	}
}

type answerErr struct{ msg string }

func (e *answerErr) Error() string { return e.msg }

func TestEnding(t *testing.T) {
	tests := []struct {
		name      string
		end       bool
		out       []byte
		err       error
		wantPath  string
		wantBody  string
		wantType  string
		wantExits int
	}{
		{name: "nothing left running", end: false, out: []byte(`{"statusCode":200}`)},
		{name: "response", end: true, out: []byte(`{"statusCode":500,"body":"{\"error\":\"handler timeout\"}"}`),
			wantPath: "/2018-06-01/runtime/invocation/req-1/response", wantBody: `{"statusCode":500,"body":"{\"error\":\"handler timeout\"}"}`, wantExits: 1},
		{name: "error", end: true, err: &answerErr{"eventbridge: event evt_1: handler_timeout"},
			wantPath: "/2018-06-01/runtime/invocation/req-1/error", wantType: "answerErr", wantExits: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr, got := runtimeAPI(t)
			exits := 0
			asked := 0
			e := &Ending{
				Handler: lambda.NewHandler(func(context.Context, json.RawMessage) (json.RawMessage, error) {
					if tt.err != nil {
						return nil, tt.err
					}
					return tt.out, nil
				}),
				MustEnd: func(ctx context.Context) bool {
					asked++
					return tt.end
				},
				API:  addr,
				Exit: func(code int) { exits++; _ = code },
			}
			ctx := lambdacontext.NewContext(t.Context(), &lambdacontext.LambdaContext{AwsRequestID: "req-1"})
			out, err := e.Invoke(ctx, []byte(`{}`))
			if !errors.Is(err, tt.err) || (tt.err == nil && string(out) != string(tt.out)) {
				t.Fatalf("Invoke = %s, %v", out, err)
			}
			if asked != 1 || exits != tt.wantExits {
				t.Fatalf("MustEnd asked %d times, exits %d; want 1, %d", asked, exits, tt.wantExits)
			}
			p := got()
			if tt.wantPath == "" {
				if len(p) != 0 {
					t.Fatalf("posted %v, want nothing (aws-lambda-go answers)", p)
				}
				return
			}
			if len(p) != 1 || p[0].path != tt.wantPath || p[0].contentType != "application/json" || p[0].errorType != tt.wantType {
				t.Fatalf("posted %+v", p)
			}
			if tt.err != nil {
				var body errorBody
				if err := json.Unmarshal(p[0].body, &body); err != nil || body.Message != tt.err.Error() || body.Type != tt.wantType {
					t.Fatalf("error body %s (%v)", p[0].body, err)
				}
			} else if string(p[0].body) != tt.wantBody {
				t.Fatalf("body %s, want %s", p[0].body, tt.wantBody)
			}
		})
	}
}
