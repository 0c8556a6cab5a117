package transport

import (
	"context"
	"encoding/json"
	"net/http"
	"reflect"
	"slices"
	"testing"

	"github.com/aws/aws-lambda-go/events"
)

// TestHeaderSpellings serves events that spell a header in several ways
// many times, and checks that the handler sees the same header each time:
// the values of all the spellings, the spellings in bytewise order, with
// multiValueHeaders preferred to headers.
func TestHeaderSpellings(t *testing.T) {
	const runs = 200
	tests := []struct {
		name string
		file string
		edit func(e map[string]any)
		key  string
		want []string
		host string
	}{{
		name: "v1 headers",
		file: "apigw-request.json",
		edit: func(e map[string]any) {
			h := e["headers"].(map[string]any)
			h["Stripe-Signature"] = "t=1,v1=canonical"
			h["stripe-signature"] = "t=2,v1=lower"
			h["STRIPE-SIGNATURE"] = "t=3,v1=upper"
		},
		key:  "Stripe-Signature",
		want: []string{"t=3,v1=upper", "t=1,v1=canonical", "t=2,v1=lower"},
		host: "gy415nuibc.execute-api.us-east-1.amazonaws.com",
	}, {
		name: "v1 headers without multiValueHeaders",
		file: "apigw-request.json",
		edit: func(e map[string]any) {
			delete(e, "multiValueHeaders")
			h := e["headers"].(map[string]any)
			h["stripe-signature"] = "t=2,v1=lower"
			h["Stripe-Signature"] = "t=1,v1=canonical"
			h["host"] = "other.example.com"
		},
		key:  "Stripe-Signature",
		want: []string{"t=1,v1=canonical", "t=2,v1=lower"},
		// "Host" sorts before "host".
		host: "gy415nuibc.execute-api.us-east-1.amazonaws.com",
	}, {
		name: "v1 multiValueHeaders",
		file: "apigw-request.json",
		edit: func(e map[string]any) {
			m := e["multiValueHeaders"].(map[string]any)
			m["stripe-signature"] = []any{"b", "c"}
			m["Stripe-Signature"] = []any{"a"}
			// API Gateway repeats the last value in headers.
			e["headers"].(map[string]any)["stripe-signature"] = "c"
		},
		key:  "Stripe-Signature",
		want: []string{"a", "b", "c"},
		host: "gy415nuibc.execute-api.us-east-1.amazonaws.com",
	}, {
		name: "v1 spelt differently in the two maps",
		file: "apigw-request.json",
		edit: func(e map[string]any) {
			e["multiValueHeaders"].(map[string]any)["X-Tag"] = []any{"1", "2"}
			h := e["headers"].(map[string]any)
			h["x-tag"] = "2"
			h["X-TAG"] = "9"
		},
		key:  "X-Tag",
		want: []string{"1", "2"},
		host: "gy415nuibc.execute-api.us-east-1.amazonaws.com",
	}, {
		name: "v2 headers",
		file: "apigw-v2-request-no-authorizer.json",
		edit: func(e map[string]any) {
			h := e["headers"].(map[string]any)
			h["stripe-signature"] = "b"
			h["Stripe-Signature"] = "a"
			h["STRIPE-signature"] = "c"
		},
		key:  "Stripe-Signature",
		want: []string{"c", "a", "b"},
		host: "aaaaaaaaaa.execute-api.us-west-2.amazonaws.com",
	}, {
		name: "function URL headers",
		file: "lambda-urls-request.json",
		edit: func(e map[string]any) {
			e["headers"].(map[string]any)["Header1"] = "value0"
		},
		key:  "Header1",
		want: []string{"value0", "value1"},
		host: "<url-id>.lambda-url.us-west-2.on.aws",
	}, {
		name: "alb headers",
		file: "alb-lambda-target-request-headers-only.json",
		edit: func(e map[string]any) {
			e["headers"].(map[string]any)["X-MyHeader"] = "456"
		},
		key:  "X-Myheader",
		want: []string{"456", "123"},
		host: "lambda-test-alb-1334523864.us-east-1.elb.amazonaws.com",
	}, {
		name: "alb multiValueHeaders",
		file: "alb-lambda-target-request-multivalue-headers.json",
		edit: func(e map[string]any) {
			e["multiValueHeaders"].(map[string]any)["X-MyHeader"] = []any{"456", "789"}
		},
		key:  "X-Myheader",
		want: []string{"456", "789", "123"},
		host: "lambda-test-alb-1234567.us-east-1.elb.amazonaws.com",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			payload := editEvent(t, tt.file, tt.edit)
			var s seen
			l := &LambdaHandler{Handler: recordingHandler(&s, nil)}
			var first http.Header
			for i := range runs {
				if _, err := l.Invoke(context.Background(), payload); err != nil {
					t.Fatal(err)
				}
				if got := s.header[tt.key]; !slices.Equal(got, tt.want) {
					t.Fatalf("run %d: Header[%q] = %q, want %q", i, tt.key, got, tt.want)
				}
				if s.host != tt.host {
					t.Fatalf("run %d: Host = %q, want %q", i, s.host, tt.host)
				}
				if first == nil {
					first = s.header
				} else if !reflect.DeepEqual(s.header, first) {
					t.Fatalf("run %d: Header = %q, differs from run 0: %q", i, s.header, first)
				}
			}
		})
	}
}

// TestHeaderPaths checks that the header built without sorting, for events
// that spell each header once, is the one the sorting merge builds, and
// that it allocates less.
func TestHeaderPaths(t *testing.T) {
	var v1 events.APIGatewayProxyRequest
	if err := json.Unmarshal(readTestdata(t, "apigw-request.json"), &v1); err != nil {
		t.Fatal(err)
	}
	var v2 events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(readTestdata(t, "apigw-v2-request-no-authorizer.json"), &v2); err != nil {
		t.Fatal(err)
	}
	var alb events.ALBTargetGroupRequest
	if err := json.Unmarshal(readTestdata(t, "alb-lambda-target-request-multivalue-headers.json"), &alb); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name        string
		fast, merge func() http.Header
	}{
		{"v1", func() http.Header { return requestHeader(v1.MultiValueHeaders, v1.Headers) }, func() http.Header { return mergeHeader(v1.MultiValueHeaders, v1.Headers) }},
		{"v1 headers only", func() http.Header { return requestHeader(nil, v1.Headers) }, func() http.Header { return mergeHeader(nil, v1.Headers) }},
		{"v2", func() http.Header { return requestHeader(nil, v2.Headers) }, func() http.Header { return mergeHeader(nil, v2.Headers) }},
		{"alb", func() http.Header { return requestHeader(alb.MultiValueHeaders, alb.Headers) }, func() http.Header { return mergeHeader(alb.MultiValueHeaders, alb.Headers) }},
	}
	for _, tt := range tests {
		if fast, merge := tt.fast(), tt.merge(); !reflect.DeepEqual(fast, merge) {
			t.Errorf("%s: header %q, merged %q", tt.name, fast, merge)
		}
		if fast, merge := testing.AllocsPerRun(10, func() { tt.fast() }), testing.AllocsPerRun(10, func() { tt.merge() }); fast >= merge {
			t.Errorf("%s: %v allocations, merged %v: want fewer", tt.name, fast, merge)
		}
	}
}

func TestMergeHeader(t *testing.T) {
	tests := []struct {
		name   string
		multi  map[string][]string
		single map[string]string
		want   http.Header
	}{{
		name:   "spellings in bytewise order",
		single: map[string]string{"x-a": "3", "X-A": "2", "X-a": "1"},
		want:   http.Header{"X-A": {"2", "1", "3"}},
	}, {
		name:  "multi values kept in order",
		multi: map[string][]string{"x-a": {"3", "4"}, "X-A": {"1", "2"}},
		want:  http.Header{"X-A": {"1", "2", "3", "4"}},
	}, {
		name:   "multi preferred under any spelling",
		multi:  map[string][]string{"x-a": {"1"}},
		single: map[string]string{"X-A": "2", "x-a": "1", "x-b": "3", "X-B": "4"},
		want:   http.Header{"X-A": {"1"}, "X-B": {"4", "3"}},
	}, {
		name: "none",
		want: http.Header{},
	}}
	for _, tt := range tests {
		if got := mergeHeader(tt.multi, tt.single); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: mergeHeader = %q, want %q", tt.name, got, tt.want)
		}
		// requestHeader agrees, whether it merges or not.
		if got := requestHeader(tt.multi, tt.single); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: requestHeader = %q, want %q", tt.name, got, tt.want)
		}
	}
	// The merged header shares no slice with the event.
	multi := map[string][]string{"x-a": {"1"}, "X-A": {"2"}}
	h := mergeHeader(multi, nil)
	h["X-A"][0] = "changed"
	if multi["x-a"][0] != "1" || multi["X-A"][0] != "2" {
		t.Errorf("changing the header changed the event: %q", multi)
	}
}
