package transport

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

// seen is what a handler observed of a request.
type seen struct {
	called        bool
	method        string
	path          string
	requestURI    string
	rawQuery      string
	host          string
	remoteAddr    string
	proto         string
	requestID     string
	header        http.Header
	body          []byte
	contentLength int64
	ctx           context.Context
}

// recordingHandler returns a handler that records the request in s and then
// calls respond, if not nil.
func recordingHandler(s *seen, respond http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			panic(err)
		}
		*s = seen{
			called:        true,
			method:        r.Method,
			path:          r.URL.Path,
			requestURI:    r.RequestURI,
			rawQuery:      r.URL.RawQuery,
			host:          r.Host,
			remoteAddr:    r.RemoteAddr,
			proto:         r.Proto,
			requestID:     RequestID(r.Context()),
			header:        r.Header,
			body:          body,
			contentLength: r.ContentLength,
			ctx:           r.Context(),
		}
		if respond != nil {
			respond(w, r)
		}
	})
}

func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// editEvent returns the event in testdata file name, a JSON object, after
// edit has changed it.
func editEvent(t *testing.T, name string, edit func(e map[string]any)) []byte {
	t.Helper()
	var e map[string]any
	if err := json.Unmarshal(readTestdata(t, name), &e); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	edit(e)
	b, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestInvokeEvents(t *testing.T) {
	tests := []struct {
		file       string
		method     string
		path       string
		requestURI string
		host       string
		remoteAddr string
		requestID  string
		header     map[string][]string
		body       string
		// Fields the response may have.
		fields []string
	}{{
		file:       "httpapi_v2.json",
		method:     "POST",
		path:       "/webhook",
		requestURI: "/webhook?source=stripe&attempt=1&attempt=2",
		host:       "abc123def4.execute-api.eu-west-1.amazonaws.com",
		remoteAddr: "3.18.12.63:0",
		requestID:  "JKJaXmPLvHcESHA=",
		header: map[string][]string{
			"Stripe-Signature": {"t=1700000000,v1=5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff536d0ce8e108d8bd"},
			"Content-Type":     {"application/json; charset=utf-8"},
			"Cookie":           {"session=abc123; theme=dark"},
			"Content-Length":   {"75"},
		},
		body:   `{"id":"evt_1","object":"event","type":"payment_intent.succeeded","data":{}}`,
		fields: []string{"statusCode", "headers", "cookies", "body", "isBase64Encoded"},
	}, {
		file:       "function_url.json",
		method:     "GET",
		path:       "/payments/pi_123",
		requestURI: "/payments/pi_123?expand=customer",
		host:       "a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p6.lambda-url.eu-west-1.on.aws",
		remoteAddr: "203.0.113.7:0",
		requestID:  "6f1ba2a4-1b3e-4a8c-9a55-4c7c3a2f0b11",
		header: map[string][]string{
			"Authorization": {"Bearer test-token"},
			"Accept":        {"application/json"},
		},
		fields: []string{"statusCode", "headers", "cookies", "body", "isBase64Encoded"},
	}, {
		file:       "rest_v1.json",
		method:     "POST",
		path:       "/payments",
		requestURI: "/payments?currency=eur&tag=x&tag=y",
		host:       "xyz987abc6.execute-api.eu-west-1.amazonaws.com",
		remoteAddr: "198.51.100.20:0",
		requestID:  "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
		header: map[string][]string{
			"Idempotency-Key": {"key-1"},
			"X-Tag":           {"a", "b"},
			"Content-Type":    {"application/json"},
		},
		body:   `{"amount":1000,"currency":"eur"}`,
		fields: []string{"statusCode", "headers", "multiValueHeaders", "body", "isBase64Encoded"},
	}, {
		// aws-lambda-go's sample REST API event.
		file:       "apigw-request.json",
		method:     "POST",
		path:       "/hello/world",
		requestURI: "/hello/world?name=me",
		host:       "gy415nuibc.execute-api.us-east-1.amazonaws.com",
		remoteAddr: "192.168.196.186:0",
		requestID:  "deef4878-7910-11e6-8f14-25afc3e9ae33",
		header: map[string][]string{
			"Cache-Control":   {"no-cache"},
			"Headername":      {"headerValue"},
			"X-Forwarded-For": {"54.240.196.186, 54.182.214.83"},
		},
		body:   "{\r\n\t\"a\": 1\r\n}",
		fields: []string{"statusCode", "headers", "multiValueHeaders", "body", "isBase64Encoded"},
	}, {
		// aws-lambda-go's sample HTTP API event.
		file:       "apigw-v2-request-no-authorizer.json",
		method:     "GET",
		path:       "/",
		requestURI: "/",
		host:       "aaaaaaaaaa.execute-api.us-west-2.amazonaws.com",
		remoteAddr: "1.2.3.4:0",
		requestID:  "LV7fzho-PHcEJPw=",
		header: map[string][]string{
			"X-Amzn-Trace-Id": {"Root=1-5e9f0c65-1de4d666d4dd26aced652b6c"},
			"Content-Length":  {"0"},
		},
		fields: []string{"statusCode", "headers", "cookies", "body", "isBase64Encoded"},
	}, {
		// aws-lambda-go's sample function URL event.
		file:       "lambda-urls-request.json",
		method:     "POST",
		path:       "/my/path",
		requestURI: "/my/path?parameter1=value1&parameter1=value2&parameter2=value",
		host:       "<url-id>.lambda-url.us-west-2.on.aws",
		remoteAddr: "123.123.123.123:0",
		requestID:  "id",
		header: map[string][]string{
			"Header2": {"value1,value2"},
			"Cookie":  {"cookie1; cookie2"},
		},
		body:   "Hello from client!",
		fields: []string{"statusCode", "headers", "cookies", "body", "isBase64Encoded"},
	}}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			var s seen
			h := recordingHandler(&s, func(w http.ResponseWriter, r *http.Request) {
				http.SetCookie(w, &http.Cookie{Name: "a", Value: "1"})
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusAccepted)
				io.WriteString(w, `{"ok":true}`)
			})
			out, err := NewLambdaHandler(h).Invoke(context.Background(), readTestdata(t, tt.file))
			if err != nil {
				t.Fatalf("Invoke: %v", err)
			}

			if s.method != tt.method || s.path != tt.path || s.requestURI != tt.requestURI {
				t.Errorf("request line = %s %s (RequestURI %s), want %s %s (%s)",
					s.method, s.path, s.requestURI, tt.method, tt.path, tt.requestURI)
			}
			if s.host != tt.host {
				t.Errorf("Host = %q, want %q", s.host, tt.host)
			}
			if _, ok := s.header["Host"]; ok {
				t.Errorf("Host header left in Header")
			}
			if s.remoteAddr != tt.remoteAddr {
				t.Errorf("RemoteAddr = %q, want %q", s.remoteAddr, tt.remoteAddr)
			}
			if s.requestID != tt.requestID {
				t.Errorf("RequestID = %q, want %q", s.requestID, tt.requestID)
			}
			if s.proto != "HTTP/1.1" {
				t.Errorf("Proto = %q, want HTTP/1.1", s.proto)
			}
			for k, want := range tt.header {
				if got := s.header[k]; !slices.Equal(got, want) {
					t.Errorf("Header[%q] = %q, want %q", k, got, want)
				}
			}
			if string(s.body) != tt.body || s.contentLength != int64(len(tt.body)) {
				t.Errorf("body = %q (ContentLength %d), want %q", s.body, s.contentLength, tt.body)
			}

			var fields map[string]json.RawMessage
			if err := json.Unmarshal(out, &fields); err != nil {
				t.Fatalf("response %s: %v", out, err)
			}
			for k := range fields {
				if !slices.Contains(tt.fields, k) {
					t.Errorf("response has field %q, want only %q", k, tt.fields)
				}
			}
			var res struct {
				StatusCode        int
				Headers           map[string]string
				MultiValueHeaders map[string][]string
				Cookies           []string
				Body              string
				IsBase64Encoded   bool
			}
			if err := json.Unmarshal(out, &res); err != nil {
				t.Fatal(err)
			}
			if res.StatusCode != http.StatusAccepted || res.Body != `{"ok":true}` || res.IsBase64Encoded ||
				res.Headers["Content-Type"] != "application/json" {
				t.Errorf("response = %s", out)
			}
			cookies := res.Cookies
			if tt.fields[2] == "multiValueHeaders" {
				cookies = res.MultiValueHeaders["Set-Cookie"]
			}
			if !slices.Equal(cookies, []string{"a=1"}) {
				t.Errorf("response cookies = %q, want [a=1]", cookies)
			}
		})
	}
}

func TestInvokeUnrecognised(t *testing.T) {
	tests := []struct {
		payload string
		want    string
	}{
		{`{}`, "unrecognised Lambda event"},
		{`null`, "unrecognised Lambda event"},
		{`{"version":"2.0"}`, "unrecognised Lambda event"},
		{`{"version":"3.0","requestContext":{"http":{"method":"GET"}}}`, "unrecognised Lambda event"},
		{`{"version":"2.0","httpMethod":"GET"}`, "unrecognised Lambda event"},
		{`{"Records":[{"eventSource":"aws:sqs"}]}`, "unrecognised Lambda event"},
		{`{"requestContext":{"elb":{"targetGroupArn":"arn"}}}`, "unrecognised Lambda event"},
		{`{"version":"2.0","httpMethod":"GET","requestContext":{"elb":{}}}`, "unrecognised Lambda event"},
		{`not json`, "decoding Lambda event"},
		{`[]`, "decoding Lambda event"},
		{``, "decoding Lambda event"},
	}
	for _, tt := range tests {
		var s seen
		out, err := NewLambdaHandler(recordingHandler(&s, nil)).Invoke(context.Background(), []byte(tt.payload))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Invoke(%#q) = %s, %v; want error containing %q", tt.payload, out, err, tt.want)
		}
		if s.called {
			t.Errorf("Invoke(%#q) called the handler", tt.payload)
		}
	}
}

// v1Event returns a minimal payload format 1.0 event.
func v1Event(method, path string, header map[string]string, body string, isBase64 bool) *events.APIGatewayProxyRequest {
	return &events.APIGatewayProxyRequest{
		HTTPMethod:      method,
		Path:            path,
		Headers:         header,
		Body:            body,
		IsBase64Encoded: isBase64,
	}
}

// v2Event returns a minimal payload format 2.0 event for the $default stage.
func v2Event(method, rawPath string, header map[string]string, body string, isBase64 bool) *events.APIGatewayV2HTTPRequest {
	return &events.APIGatewayV2HTTPRequest{
		Version:         "2.0",
		RawPath:         rawPath,
		Headers:         header,
		Body:            body,
		IsBase64Encoded: isBase64,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			Stage: "$default",
			HTTP:  events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: method, Path: rawPath},
		},
	}
}

func TestHeaderCase(t *testing.T) {
	const sig = "t=1700000000,v1=abc,v0=def"
	for _, key := range []string{"stripe-signature", "Stripe-Signature", "STRIPE-SIGNATURE", "sTrIpE-sIgNaTuRe"} {
		tests := []struct {
			name  string
			serve func(h http.Handler)
		}{
			{"v1 headers", func(h http.Handler) {
				ServeV1(context.Background(), h, v1Event("POST", "/", map[string]string{key: sig}, "", false))
			}},
			{"v1 multiValueHeaders", func(h http.Handler) {
				e := v1Event("POST", "/", nil, "", false)
				e.MultiValueHeaders = map[string][]string{key: {sig}}
				ServeV1(context.Background(), h, e)
			}},
			{"v2 headers", func(h http.Handler) {
				ServeV2(context.Background(), h, v2Event("POST", "/", map[string]string{key: sig}, "", false))
			}},
			{"alb headers", func(h http.Handler) {
				ServeALB(context.Background(), h, &events.ALBTargetGroupRequest{HTTPMethod: "POST", Path: "/", Headers: map[string]string{key: sig}})
			}},
			{"alb multiValueHeaders", func(h http.Handler) {
				ServeALB(context.Background(), h, &events.ALBTargetGroupRequest{HTTPMethod: "POST", Path: "/", MultiValueHeaders: map[string][]string{key: {sig}}})
			}},
		}
		for _, tt := range tests {
			var s seen
			tt.serve(recordingHandler(&s, nil))
			if got := s.header.Get("Stripe-Signature"); got != sig {
				t.Errorf("%s %q: Header.Get(Stripe-Signature) = %q, want %q", tt.name, key, got, sig)
			}
		}
	}
}

func TestRequestHeadersV1(t *testing.T) {
	tests := []struct {
		name   string
		single map[string]string
		multi  map[string][]string
		want   http.Header
	}{{
		name:   "multi preferred",
		single: map[string]string{"X-A": "2"},
		multi:  map[string][]string{"X-A": {"1", "2"}},
		want:   http.Header{"X-A": {"1", "2"}},
	}, {
		name:   "single fills gaps",
		single: map[string]string{"x-a": "2", "x-b": "3"},
		multi:  map[string][]string{"X-A": {"1", "2"}},
		want:   http.Header{"X-A": {"1", "2"}, "X-B": {"3"}},
	}, {
		name:   "single only",
		single: map[string]string{"accept": "*/*"},
		want:   http.Header{"Accept": {"*/*"}},
	}, {
		name:  "multi spelt in two cases",
		multi: map[string][]string{"X-Only": {"1"}, "x-other": {"2", "3"}},
		want:  http.Header{"X-Only": {"1"}, "X-Other": {"2", "3"}},
	}, {
		name: "none",
		want: http.Header{},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s seen
			e := v1Event("GET", "/", tt.single, "", false)
			e.MultiValueHeaders = tt.multi
			ServeV1(context.Background(), recordingHandler(&s, nil), e)
			if !reflect.DeepEqual(s.header, tt.want) {
				t.Errorf("Header = %v, want %v", s.header, tt.want)
			}
		})
	}
}

func TestRequestHostV2(t *testing.T) {
	tests := []struct {
		name   string
		header map[string]string
		domain string
		want   string
	}{
		{"header", map[string]string{"host": "example.com"}, "api.example.com", "example.com"},
		{"domainName", nil, "api.example.com", "api.example.com"},
		{"none", nil, "", ""},
	}
	for _, tt := range tests {
		var s seen
		e := v2Event("GET", "/", tt.header, "", false)
		e.RequestContext.DomainName = tt.domain
		ServeV2(context.Background(), recordingHandler(&s, nil), e)
		if s.host != tt.want {
			t.Errorf("%s: Host = %q, want %q", tt.name, s.host, tt.want)
		}
	}
}

func TestBodyExact(t *testing.T) {
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	tests := []struct {
		name     string
		body     []byte
		isBase64 bool
	}{
		{"empty", nil, false},
		{"empty base64", nil, true},
		{"json text", []byte("{\n  \"amount\": 1000,\r\n  \"name\": \"Zoë 😀\" } \n"), false},
		{"json base64", []byte(`{"id":"evt_1","object":"event"}`), true},
		{"invalid utf-8", []byte{'{', 0xff, 0xfe, 0x00, '}', 0xc3}, true},
		{"all bytes", all, true},
	}
	for _, tt := range tests {
		body := string(tt.body)
		if tt.isBase64 {
			body = base64.StdEncoding.EncodeToString(tt.body)
		}
		for _, format := range []string{"v1", "v2"} {
			var s seen
			h := recordingHandler(&s, nil)
			if format == "v1" {
				ServeV1(context.Background(), h, v1Event("POST", "/", nil, body, tt.isBase64))
			} else {
				ServeV2(context.Background(), h, v2Event("POST", "/", nil, body, tt.isBase64))
			}
			if !bytes.Equal(s.body, tt.body) {
				t.Errorf("%s %s: body = %q, want %q", format, tt.name, s.body, tt.body)
			}
			if s.contentLength != int64(len(tt.body)) {
				t.Errorf("%s %s: ContentLength = %d, want %d", format, tt.name, s.contentLength, len(tt.body))
			}
		}
	}
}

func TestStageV2(t *testing.T) {
	tests := []struct {
		stage   string
		rawPath string
		want    string
	}{
		{"$default", "/webhook", "/webhook"},
		{"$default", "/$default/webhook", "/$default/webhook"},
		{"", "/prod/webhook", "/prod/webhook"},
		{"prod", "/prod/webhook", "/webhook"},
		{"prod", "/prod/", "/"},
		{"prod", "/prod", "/"},
		{"prod", "/production/webhook", "/production/webhook"},
		{"prod", "/webhook", "/webhook"},
		{"prod", "/webhook/prod", "/webhook/prod"},
		{"prod", "prod/webhook", "prod/webhook"},
		{"prod", "/pro", "/pro"},
		{"prod", "", "/"},
		{"v1", "/v1/payments/pi_1", "/payments/pi_1"},
	}
	for _, tt := range tests {
		var s seen
		e := v2Event("GET", tt.rawPath, nil, "", false)
		e.RequestContext.Stage = tt.stage
		ServeV2(context.Background(), recordingHandler(&s, nil), e)
		if s.path != tt.want {
			t.Errorf("stage %q, rawPath %q: path = %q, want %q", tt.stage, tt.rawPath, s.path, tt.want)
		}
	}
}

func TestEscapedPath(t *testing.T) {
	for _, format := range []string{"v1", "v2"} {
		var s seen
		h := recordingHandler(&s, nil)
		const raw = "/files/a%2Fb%20c"
		if format == "v1" {
			ServeV1(context.Background(), h, v1Event("GET", raw, nil, "", false))
		} else {
			ServeV2(context.Background(), h, v2Event("GET", raw, nil, "", false))
		}
		if s.path != "/files/a/b c" || s.requestURI != raw {
			t.Errorf("%s: path %q, RequestURI %q; want %q, %q", format, s.path, s.requestURI, "/files/a/b c", raw)
		}
	}
}

func TestQuery(t *testing.T) {
	tests := []struct {
		name   string
		v2     string
		single map[string]string
		multi  map[string][]string
		want   string
	}{
		{name: "v2 raw kept", v2: "b=2&a=1&a=%20x&flag", want: "b=2&a=1&a=%20x&flag"},
		{name: "v2 none", v2: "", want: ""},
		{name: "v1 multi preferred", single: map[string]string{"a": "2"}, multi: map[string][]string{"a": {"1", "2"}, "b": {"x y"}}, want: "a=1&a=2&b=x+y"},
		{name: "v1 single", single: map[string]string{"q": "a&b=c", "z": ""}, want: "q=a%26b%3Dc&z="},
		{name: "v1 none", want: ""},
	}
	for _, tt := range tests {
		var s seen
		h := recordingHandler(&s, nil)
		if strings.HasPrefix(tt.name, "v2") {
			e := v2Event("GET", "/search", nil, "", false)
			e.RawQueryString = tt.v2
			ServeV2(context.Background(), h, e)
		} else {
			e := v1Event("GET", "/search", nil, "", false)
			e.QueryStringParameters = tt.single
			e.MultiValueQueryStringParameters = tt.multi
			ServeV1(context.Background(), h, e)
		}
		wantURI := "/search"
		if tt.want != "" {
			wantURI += "?" + tt.want
		}
		if s.rawQuery != tt.want || s.requestURI != wantURI {
			t.Errorf("%s: RawQuery %q, RequestURI %q; want %q, %q", tt.name, s.rawQuery, s.requestURI, tt.want, wantURI)
		}
	}
}

func TestCookies(t *testing.T) {
	var s seen
	var got []*http.Cookie
	h := recordingHandler(&s, func(w http.ResponseWriter, r *http.Request) {
		got = r.Cookies()
		http.SetCookie(w, &http.Cookie{Name: "session", Value: "new", Path: "/", HttpOnly: true})
		http.SetCookie(w, &http.Cookie{Name: "theme", Value: "light"})
	})
	e := v2Event("GET", "/", map[string]string{"cookie": "old=1"}, "", false)
	e.Cookies = []string{"session=abc", "theme=dark"}
	r2, _ := ServeV2(context.Background(), h, e)
	var names []string
	for _, c := range got {
		names = append(names, c.Name+"="+c.Value)
	}
	if want := []string{"old=1", "session=abc", "theme=dark"}; !slices.Equal(names, want) {
		t.Errorf("request cookies = %q, want %q", names, want)
	}
	wantSet := []string{"session=new; Path=/; HttpOnly", "theme=light"}
	if !slices.Equal(r2.Cookies, wantSet) || r2.Headers["Set-Cookie"] != "" {
		t.Errorf("v2 response cookies = %q, headers %q; want %q", r2.Cookies, r2.Headers, wantSet)
	}

	r1, _ := ServeV1(context.Background(), h, v1Event("GET", "/", map[string]string{"Cookie": "session=abc; theme=dark"}, "", false))
	if len(got) != 2 || got[0].Value != "abc" {
		t.Errorf("v1 request cookies = %v", got)
	}
	if !slices.Equal(r1.MultiValueHeaders["Set-Cookie"], wantSet) || r1.Headers["Set-Cookie"] != "" {
		t.Errorf("v1 response Set-Cookie = %q, headers %q; want %q", r1.MultiValueHeaders["Set-Cookie"], r1.Headers, wantSet)
	}

	// A single cookie still goes to multiValueHeaders.
	h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Set-Cookie", "a=1")
	})
	r1, _ = ServeV1(context.Background(), h, v1Event("GET", "/", nil, "", false))
	if !slices.Equal(r1.MultiValueHeaders["Set-Cookie"], []string{"a=1"}) || len(r1.Headers) != 0 {
		t.Errorf("v1 single cookie: %+v", r1)
	}
}

func TestResponseHeaders(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-One", "1")
		w.Header().Add("Vary", "Accept")
		w.Header().Add("Vary", "Accept-Encoding")
		w.Header()["X-Empty"] = nil
		w.WriteHeader(http.StatusCreated)
		w.Header().Set("X-Late", "ignored")
	})
	r1, _ := ServeV1(context.Background(), h, v1Event("GET", "/", nil, "", false))
	if want := map[string]string{"X-One": "1"}; !reflect.DeepEqual(r1.Headers, want) {
		t.Errorf("v1 Headers = %q, want %q", r1.Headers, want)
	}
	if want := map[string][]string{"Vary": {"Accept", "Accept-Encoding"}}; !reflect.DeepEqual(r1.MultiValueHeaders, want) {
		t.Errorf("v1 MultiValueHeaders = %q, want %q", r1.MultiValueHeaders, want)
	}
	r2, _ := ServeV2(context.Background(), h, v2Event("GET", "/", nil, "", false))
	if want := map[string]string{"X-One": "1", "Vary": "Accept,Accept-Encoding"}; !reflect.DeepEqual(r2.Headers, want) {
		t.Errorf("v2 Headers = %q, want %q", r2.Headers, want)
	}
	if r1.StatusCode != http.StatusCreated || r2.StatusCode != http.StatusCreated {
		t.Errorf("status = %d, %d; want 201", r1.StatusCode, r2.StatusCode)
	}
}

func TestResponseBody(t *testing.T) {
	png := []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
	tests := []struct {
		name            string
		contentType     string // "-" for none
		contentEncoding string
		body            []byte
		wantType        string
		wantBase64      bool
	}{
		{"json", "application/json", "", []byte(`{"a":1}`), "application/json", false},
		{"json charset", "Application/JSON; charset=utf-8", "", []byte(`{"a":1}`), "Application/JSON; charset=utf-8", false},
		{"problem json", "application/problem+json", "", []byte(`{"title":"x"}`), "application/problem+json", false},
		{"text", "text/plain; charset=utf-8", "", []byte("ok\n"), "text/plain; charset=utf-8", false},
		{"csv", "text/csv", "", []byte("a,b\n1,2\n"), "text/csv", false},
		{"xml", "application/xml", "", []byte("<a/>"), "application/xml", false},
		{"atom", "application/atom+xml", "", []byte("<feed/>"), "application/atom+xml", false},
		{"javascript", "application/javascript", "", []byte("var a;"), "application/javascript", false},
		{"form", "application/x-www-form-urlencoded", "", []byte("a=1&b=2"), "application/x-www-form-urlencoded", false},
		{"png", "image/png", "", png, "image/png", true},
		{"octet-stream text", "application/octet-stream", "", []byte("abc"), "application/octet-stream", true},
		{"pdf", "application/pdf", "", []byte("%PDF-1.7"), "application/pdf", true},
		{"gzip json", "application/json", "gzip", []byte("\x1f\x8b\x08\x00"), "application/json", true},
		{"identity json", "application/json", "identity", []byte(`{}`), "application/json", false},
		{"sniffed html", "-", "", []byte("<!DOCTYPE html><p>hi"), "text/html; charset=utf-8", false},
		{"sniffed png", "-", "", png, "image/png", true},
		{"empty png", "image/png", "", nil, "image/png", false},
		{"empty untyped", "-", "", nil, "", false},
	}
	for _, tt := range tests {
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if tt.contentType != "-" {
				w.Header().Set("Content-Type", tt.contentType)
			}
			if tt.contentEncoding != "" {
				w.Header().Set("Content-Encoding", tt.contentEncoding)
			}
			w.Write(tt.body)
		})
		wantBody := string(tt.body)
		if tt.wantBase64 {
			wantBody = base64.StdEncoding.EncodeToString(tt.body)
		}
		r1, _ := ServeV1(context.Background(), h, v1Event("GET", "/", nil, "", false))
		r2, _ := ServeV2(context.Background(), h, v2Event("GET", "/", nil, "", false))
		for i, r := range []struct {
			headers  map[string]string
			body     string
			isBase64 bool
		}{{r1.Headers, r1.Body, r1.IsBase64Encoded}, {r2.Headers, r2.Body, r2.IsBase64Encoded}} {
			if r.body != wantBody || r.isBase64 != tt.wantBase64 || r.headers["Content-Type"] != tt.wantType {
				t.Errorf("%s v%d: body %q, base64 %t, type %q; want %q, %t, %q",
					tt.name, i+1, r.body, r.isBase64, r.headers["Content-Type"], wantBody, tt.wantBase64, tt.wantType)
			}
		}
	}
}

func TestResponseStatus(t *testing.T) {
	tests := []struct {
		name     string
		method   string
		handler  http.HandlerFunc
		status   int
		body     string
		writeErr error
	}{{
		name:    "default 200",
		method:  "GET",
		handler: func(w http.ResponseWriter, r *http.Request) {},
		status:  200,
	}, {
		name:    "write implies 200",
		method:  "GET",
		handler: func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "hi") },
		status:  200,
		body:    "hi",
	}, {
		name:   "first status wins",
		method: "GET",
		handler: func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusTeapot)
			w.WriteHeader(http.StatusOK)
		},
		status: http.StatusTeapot,
	}, {
		name:   "informational ignored",
		method: "GET",
		handler: func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusEarlyHints)
			w.WriteHeader(http.StatusConflict)
		},
		status: http.StatusConflict,
	}, {
		name:   "no body with 204",
		method: "DELETE",
		handler: func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusNoContent)
			if _, err := w.Write([]byte("x")); !errors.Is(err, http.ErrBodyNotAllowed) {
				panic("Write after 204 succeeded")
			}
		},
		status: http.StatusNoContent,
	}, {
		name:    "no body for HEAD",
		method:  "HEAD",
		handler: func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "hidden") },
		status:  200,
	}}
	for _, tt := range tests {
		r1, _ := ServeV1(context.Background(), tt.handler, v1Event(tt.method, "/", nil, "", false))
		r2, _ := ServeV2(context.Background(), tt.handler, v2Event(tt.method, "/", nil, "", false))
		if r1.StatusCode != tt.status || r1.Body != tt.body || r2.StatusCode != tt.status || r2.Body != tt.body {
			t.Errorf("%s: got %d %q (v1), %d %q (v2); want %d %q",
				tt.name, r1.StatusCode, r1.Body, r2.StatusCode, r2.Body, tt.status, tt.body)
		}
	}
}

type ctxKey struct{}

func TestContext(t *testing.T) {
	deadline := time.Now().Add(time.Minute)
	parent, cancel := context.WithDeadline(context.WithValue(context.Background(), ctxKey{}, "v"), deadline)
	defer cancel()
	lambdaCtx := lambdacontext.NewContext(parent, &lambdacontext.LambdaContext{AwsRequestID: "aws-req-1"})

	tests := []struct {
		name      string
		ctx       context.Context
		gatewayID string
		wantID    string
	}{
		{"gateway id preferred", lambdaCtx, "gw-1", "gw-1"},
		{"lambda id fallback", lambdaCtx, "", "aws-req-1"},
		{"no id", parent, "", ""},
	}
	for _, tt := range tests {
		for _, format := range []string{"v1", "v2"} {
			var s seen
			h := recordingHandler(&s, nil)
			if format == "v1" {
				e := v1Event("GET", "/", nil, "", false)
				e.RequestContext.RequestID = tt.gatewayID
				ServeV1(tt.ctx, h, e)
			} else {
				e := v2Event("GET", "/", nil, "", false)
				e.RequestContext.RequestID = tt.gatewayID
				ServeV2(tt.ctx, h, e)
			}
			if s.requestID != tt.wantID {
				t.Errorf("%s %s: RequestID = %q, want %q", tt.name, format, s.requestID, tt.wantID)
			}
			if d, ok := s.ctx.Deadline(); !ok || !d.Equal(deadline) {
				t.Errorf("%s %s: Deadline = %v, %t; want %v", tt.name, format, d, ok, deadline)
			}
			if s.ctx.Value(ctxKey{}) != "v" {
				t.Errorf("%s %s: request context does not derive from ctx", tt.name, format)
			}
		}
	}
}

func TestRequestIDEmpty(t *testing.T) {
	if id := RequestID(context.Background()); id != "" {
		t.Errorf("RequestID(Background) = %q, want \"\"", id)
	}
}

func BenchmarkServeV2(b *testing.B) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"received":true}`)
	})
	e := v2Event("POST", "/prod/webhook", map[string]string{
		"content-type":     "application/json",
		"host":             "abc123def4.execute-api.eu-west-1.amazonaws.com",
		"stripe-signature": "t=1700000000,v1=5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff536d0ce8e108d8bd",
		"user-agent":       "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
	}, `{"id":"evt_1","object":"event","type":"payment_intent.succeeded","data":{}}`, false)
	e.RequestContext.Stage = "prod"
	e.RequestContext.RequestID = "JKJaXmPLvHcESHA="
	e.RequestContext.HTTP.SourceIP = "3.18.12.63"
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		res, err := ServeV2(ctx, h, e)
		if err != nil || res.StatusCode != 200 {
			b.Fatal(res, err)
		}
	}
}

func BenchmarkInvoke(b *testing.B) {
	payload, err := os.ReadFile(filepath.Join("testdata", "httpapi_v2.json"))
	if err != nil {
		b.Fatal(err)
	}
	l := NewLambdaHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"received":true}`)
	}))
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := l.Invoke(ctx, payload); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkServeV1(b *testing.B) {
	raw, err := os.ReadFile(filepath.Join("testdata", "apigw-request.json"))
	if err != nil {
		b.Fatal(err)
	}
	var e events.APIGatewayProxyRequest
	if err := json.Unmarshal(raw, &e); err != nil {
		b.Fatal(err)
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"received":true}`)
	})
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		res, err := ServeV1(ctx, h, &e)
		if err != nil || res.StatusCode != 200 {
			b.Fatal(res, err)
		}
	}
}

// otherHandler answers any payload with its length.
type otherHandler struct{}

func (otherHandler) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	return []byte(fmt.Sprintf(`{"other":%d}`, len(payload))), nil
}

// TestInvokeOther checks that payloads that are no HTTP event go to Other,
// and HTTP events never do.
func TestInvokeOther(t *testing.T) {
	eb := []byte(`{"version":"0","id":"1","detail-type":"charge.succeeded","source":"aws.partner/stripe.com/ed_1","detail":{}}`)
	l := &LambdaHandler{Handler: http.NotFoundHandler(), Other: otherHandler{}}
	out, err := l.Invoke(context.Background(), eb)
	if err != nil || string(out) != fmt.Sprintf(`{"other":%d}`, len(eb)) {
		t.Fatalf("EventBridge payload: %s %v", out, err)
	}
	out, err = l.Invoke(context.Background(), []byte(`{"version":"2.0","rawPath":"/x","requestContext":{"http":{"method":"GET","path":"/x"}}}`))
	if err != nil || !strings.Contains(string(out), `"statusCode":404`) {
		t.Fatalf("HTTP event went elsewhere: %s %v", out, err)
	}
	if _, err := (&LambdaHandler{Handler: http.NotFoundHandler()}).Invoke(context.Background(), eb); err == nil {
		t.Fatal("without Other, a non-HTTP payload is no error")
	}
}
