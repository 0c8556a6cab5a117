package transport

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"reflect"
	"slices"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

// albResult is an ALB response as the load balancer reads it, with the
// fields it has.
type albResult struct {
	fields            []string
	StatusCode        int
	StatusDescription string
	Headers           map[string]string
	MultiValueHeaders map[string][]string
	Body              string
	IsBase64Encoded   bool
}

// invokeALB runs payload through a LambdaHandler serving h, in a Lambda
// invocation with the AwsRequestID "aws-req-1", and decodes the response.
func invokeALB(t *testing.T, h http.Handler, payload []byte) albResult {
	t.Helper()
	ctx := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: "aws-req-1"})
	out, err := (&LambdaHandler{Handler: h}).Invoke(ctx, payload)
	if err != nil {
		t.Fatalf("Invoke: %v", err)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(out, &fields); err != nil {
		t.Fatalf("response %s: %v", out, err)
	}
	var res albResult
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatal(err)
	}
	res.fields = slices.Sorted(maps.Keys(fields))
	return res
}

func TestInvokeALB(t *testing.T) {
	tests := []struct {
		file   string
		edit   func(e map[string]any)
		header map[string][]string
		// The response's header field and its content.
		fields     []string
		headers    map[string]string
		multiValue map[string][]string
	}{{
		file: "alb-lambda-target-request-headers-only.json",
		header: map[string][]string{
			"Accept":           {"*/*"},
			"User-Agent":       {"curl/7.54.0"},
			"X-Amzn-Trace-Id":  {"Root=1-5c34e93e-4dea0086f9763ac0667b115a"},
			"X-Forwarded-For":  {"25.12.198.67"},
			"X-Forwarded-Port": {"80"},
			"X-Myheader":       {"123"},
		},
		fields: []string{"body", "headers", "isBase64Encoded", "statusCode", "statusDescription"},
		// Without multi-value headers, one cookie only: the last.
		headers: map[string]string{"Content-Type": "application/json", "Set-Cookie": "b=2", "Vary": "Accept,Origin"},
	}, {
		file: "alb-lambda-target-request-multivalue-headers.json",
		header: map[string][]string{
			"Accept":          {"*/*"},
			"X-Amzn-Trace-Id": {"Root=1-5c34e7d4-00ca239424b68028d4c56d68"},
			"X-Forwarded-For": {"72.21.198.67"},
			"X-Myheader":      {"123"},
		},
		fields: []string{"body", "isBase64Encoded", "multiValueHeaders", "statusCode", "statusDescription"},
		multiValue: map[string][]string{
			"Content-Type": {"application/json"},
			"Set-Cookie":   {"a=1", "b=2"},
			"Vary":         {"Accept", "Origin"},
		},
	}, {
		// An ALB with multi-value headers enabled sends multiValueHeaders
		// even when it is empty.
		file: "alb-lambda-target-request-multivalue-headers.json",
		edit: func(e map[string]any) {
			e["multiValueHeaders"] = map[string]any{}
		},
		header: map[string][]string{},
		fields: []string{"body", "isBase64Encoded", "multiValueHeaders", "statusCode", "statusDescription"},
		multiValue: map[string][]string{
			"Content-Type": {"application/json"},
			"Set-Cookie":   {"a=1", "b=2"},
			"Vary":         {"Accept", "Origin"},
		},
	}}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			var s seen
			h := recordingHandler(&s, func(w http.ResponseWriter, r *http.Request) {
				http.SetCookie(w, &http.Cookie{Name: "a", Value: "1"})
				http.SetCookie(w, &http.Cookie{Name: "b", Value: "2"})
				w.Header().Add("Vary", "Accept")
				w.Header().Add("Vary", "Origin")
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusAccepted)
				io.WriteString(w, `{"ok":true}`)
			})
			payload := readTestdata(t, tt.file)
			if tt.edit != nil {
				payload = editEvent(t, tt.file, tt.edit)
			}
			res := invokeALB(t, h, payload)

			if s.method != "GET" || s.path != "/" || s.requestURI != "/?key=hello" {
				t.Errorf("request line = %s %s (RequestURI %s), want GET / (/?key=hello)", s.method, s.path, s.requestURI)
			}
			if s.requestID != "aws-req-1" {
				t.Errorf("RequestID = %q, want the invocation's AwsRequestID aws-req-1", s.requestID)
			}
			if s.remoteAddr != "" || s.proto != "HTTP/1.1" {
				t.Errorf("RemoteAddr %q, Proto %q; want \"\", HTTP/1.1", s.remoteAddr, s.proto)
			}
			if tt.edit == nil && (s.host == "" || s.header["Host"] != nil) {
				t.Errorf("Host = %q, Host header %q; want the host header in Host only", s.host, s.header["Host"])
			}
			for k, want := range tt.header {
				if got := s.header[k]; !slices.Equal(got, want) {
					t.Errorf("Header[%q] = %q, want %q", k, got, want)
				}
			}
			if len(s.body) != 0 || s.contentLength != 0 {
				t.Errorf("body = %q (ContentLength %d), want none", s.body, s.contentLength)
			}

			if !slices.Equal(res.fields, tt.fields) {
				t.Errorf("response fields = %q, want %q", res.fields, tt.fields)
			}
			if res.StatusCode != http.StatusAccepted || res.StatusDescription != "202 Accepted" ||
				res.Body != `{"ok":true}` || res.IsBase64Encoded {
				t.Errorf("response = %+v, want 202 \"202 Accepted\" {\"ok\":true}", res)
			}
			if !reflect.DeepEqual(res.Headers, tt.headers) || !reflect.DeepEqual(res.MultiValueHeaders, tt.multiValue) {
				t.Errorf("response headers %q, multiValueHeaders %q; want %q, %q",
					res.Headers, res.MultiValueHeaders, tt.headers, tt.multiValue)
			}
		})
	}
}

func TestALBQuery(t *testing.T) {
	tests := []struct {
		name   string
		single map[string]any
		multi  map[string]any
		want   string
		// A parameter as the handler decodes it.
		key   string
		value []string
	}{{
		name:   "encoded values kept",
		single: map[string]any{"q": "a%20b%26c", "next": "%2Fpay%3Fx%3D1", "plus": "1+1"},
		want:   "next=%2Fpay%3Fx%3D1&plus=1+1&q=a%20b%26c",
		key:    "q",
		value:  []string{"a b&c"},
	}, {
		name:   "encoded names kept",
		single: map[string]any{"a%5B%5D": "1"},
		want:   "a%5B%5D=1",
		key:    "a[]",
		value:  []string{"1"},
	}, {
		name:  "multi in order given",
		multi: map[string]any{"tag": []any{"z", "a%20b", "m"}, "id": []any{"1"}},
		want:  "id=1&tag=z&tag=a%20b&tag=m",
		key:   "tag",
		value: []string{"z", "a b", "m"},
	}, {
		name:   "multi preferred",
		single: map[string]any{"tag": "m"},
		multi:  map[string]any{"tag": []any{"z", "m"}},
		want:   "tag=z&tag=m",
		key:    "tag",
		value:  []string{"z", "m"},
	}, {
		name:   "empty value",
		single: map[string]any{"flag": ""},
		want:   "flag=",
		key:    "flag",
		value:  []string{""},
	}, {
		name: "none",
		want: "",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			payload := editEvent(t, "alb-lambda-target-request-headers-only.json", func(e map[string]any) {
				delete(e, "queryStringParameters")
				if tt.single != nil {
					e["queryStringParameters"] = tt.single
				}
				if tt.multi != nil {
					e["multiValueQueryStringParameters"] = tt.multi
				}
			})
			var s seen
			var query map[string][]string
			h := recordingHandler(&s, func(w http.ResponseWriter, r *http.Request) { query = r.URL.Query() })
			// Every run gives the same query string, whatever the map
			// iteration order.
			for range 20 {
				invokeALB(t, h, payload)
				wantURI := "/"
				if tt.want != "" {
					wantURI += "?" + tt.want
				}
				if s.rawQuery != tt.want || s.requestURI != wantURI {
					t.Fatalf("RawQuery %q, RequestURI %q; want %q, %q", s.rawQuery, s.requestURI, tt.want, wantURI)
				}
			}
			if tt.key != "" && !slices.Equal(query[tt.key], tt.value) {
				t.Errorf("Query()[%q] = %q, want %q", tt.key, query[tt.key], tt.value)
			}
		})
	}
}

func TestStatusDescription(t *testing.T) {
	tests := []struct {
		code int
		want string
	}{
		{200, "200 OK"},
		{204, "204 No Content"},
		{302, "302 Found"},
		{400, "400 Bad Request"},
		{404, "404 Not Found"},
		{418, "418 I'm a teapot"},
		{500, "500 Internal Server Error"},
		{503, "503 Service Unavailable"},
		{299, "299 status code 299"},
	}
	for _, tt := range tests {
		if got := statusDescription(tt.code); got != tt.want {
			t.Errorf("statusDescription(%d) = %q, want %q", tt.code, got, tt.want)
		}
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(tt.code) })
		res, err := ServeALB(context.Background(), h, &events.ALBTargetGroupRequest{HTTPMethod: "GET", Path: "/"})
		if err != nil || res.StatusCode != tt.code || res.StatusDescription != tt.want {
			t.Errorf("ServeALB answering %d = %d %q, %v; want %d %q", tt.code, res.StatusCode, res.StatusDescription, err, tt.code, tt.want)
		}
	}
}

func TestALBBody(t *testing.T) {
	png := []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
	tests := []struct {
		name       string
		body       []byte
		isBase64   bool
		respType   string
		respBody   []byte
		wantBody   string
		wantBase64 bool
	}{
		{"text", []byte(`{"a":1}`), false, "application/json", []byte(`{"b":2}`), `{"b":2}`, false},
		{"binary", png, true, "image/png", png, base64.StdEncoding.EncodeToString(png), true},
		{"empty", nil, false, "text/plain", nil, "", false},
	}
	for _, tt := range tests {
		for _, multi := range []bool{false, true} {
			body := string(tt.body)
			if tt.isBase64 {
				body = base64.StdEncoding.EncodeToString(tt.body)
			}
			payload := editEvent(t, "alb-lambda-target-request-multivalue-headers.json", func(e map[string]any) {
				e["httpMethod"] = "POST"
				e["body"] = body
				e["isBase64Encoded"] = tt.isBase64
				if !multi {
					delete(e, "multiValueHeaders")
				}
			})
			var s seen
			h := recordingHandler(&s, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", tt.respType)
				w.Write(tt.respBody)
			})
			res := invokeALB(t, h, payload)
			if string(s.body) != string(tt.body) || s.contentLength != int64(len(tt.body)) {
				t.Errorf("%s multi=%t: request body %q (%d), want %q", tt.name, multi, s.body, s.contentLength, tt.body)
			}
			if res.Body != tt.wantBody || res.IsBase64Encoded != tt.wantBase64 {
				t.Errorf("%s multi=%t: response body %q, base64 %t; want %q, %t", tt.name, multi, res.Body, res.IsBase64Encoded, tt.wantBody, tt.wantBase64)
			}
		}
	}
}

// TestServeALBRequestID checks that ALB requests served through ServeALB
// carry the invocation's AwsRequestID, as ALB events have no request ID.
func TestServeALBRequestID(t *testing.T) {
	ctx := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: "aws-req-2"})
	var s seen
	ServeALB(ctx, recordingHandler(&s, nil), &events.ALBTargetGroupRequest{HTTPMethod: "GET", Path: "/"})
	if s.requestID != "aws-req-2" {
		t.Errorf("RequestID = %q, want aws-req-2", s.requestID)
	}
}
