package transport

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/textproto"
	"net/url"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

// Error messages of the responses the adapter produces itself. They are
// JSON string literals, ready to be embedded in {"error": ...}.
const (
	msgBadBase64 = `"request body is not valid base64"`
	msgInternal  = `"internal error"`
	msgNotFound  = `"not found"`
)

// ServeV2 serves an API Gateway HTTP API request in payload format 2.0 (the
// format Lambda function URLs use too) with h and returns h's response in
// the same format. e must not be nil.
//
// The request seen by h carries ctx, and so its deadline, and the request ID
// reported by [RequestID]. Failures become HTTP responses rather than errors:
// a body flagged as base64 that does not decode yields a 400 response, and a
// panic in h is recovered and yields a 500 response, so that one bad request
// cannot crash the function. The error result lets ServeV2 have the shape of
// a typed Lambda handler; it is always nil.
func ServeV2(ctx context.Context, h http.Handler, e *events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	w := &responseWriter{head: e.RequestContext.HTTP.Method == http.MethodHead}
	if r, err := newRequestV2(ctx, e); err != nil {
		writeError(w, http.StatusBadRequest, msgBadBase64)
	} else {
		w.serve(h, r)
	}
	return w.v2(), nil
}

// ServeV1 serves an API Gateway REST API request (payload format 1.0) with h
// and returns h's response in the same format. e must not be nil.
//
// ServeV1 handles context, request IDs and failures as [ServeV2] does; its
// error result is always nil.
func ServeV1(ctx context.Context, h http.Handler, e *events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
	w := &responseWriter{head: e.HTTPMethod == http.MethodHead}
	if r, err := newRequestV1(ctx, e); err != nil {
		writeError(w, http.StatusBadRequest, msgBadBase64)
	} else {
		w.serve(h, r)
	}
	return w.v1(), nil
}

// newRequestV2 translates a payload format 2.0 event into an http.Request.
func newRequestV2(ctx context.Context, e *events.APIGatewayV2HTTPRequest) (*http.Request, error) {
	body, n, err := newBody(e.Body, e.IsBase64Encoded)
	if err != nil {
		return nil, err
	}
	rc := &e.RequestContext
	header := make(http.Header, len(e.Headers)+1)
	vals := make([]string, len(e.Headers))
	i := 0
	for k, v := range e.Headers {
		vals[i] = v
		addHeader(header, canonicalKey(k), vals[i:i+1:i+1])
		i++
	}
	if len(e.Cookies) > 0 {
		header.Add("Cookie", strings.Join(e.Cookies, "; "))
	}
	path := e.RawPath
	if path == "" {
		path = rc.HTTP.Path
	}
	r := http.Request{
		Method:        rc.HTTP.Method,
		URL:           newURL(stripStage(path, rc.Stage), e.RawQueryString),
		Header:        header,
		Body:          body,
		ContentLength: n,
	}
	return finishRequest(ctx, &r, rc.HTTP.Protocol, rc.DomainName, rc.HTTP.SourceIP, rc.RequestID), nil
}

// newRequestV1 translates a payload format 1.0 event into an http.Request.
func newRequestV1(ctx context.Context, e *events.APIGatewayProxyRequest) (*http.Request, error) {
	body, n, err := newBody(e.Body, e.IsBase64Encoded)
	if err != nil {
		return nil, err
	}
	rc := &e.RequestContext
	header := make(http.Header, max(len(e.MultiValueHeaders), len(e.Headers))+1)
	for k, vs := range e.MultiValueHeaders {
		addHeader(header, canonicalKey(k), vs)
	}
	// API Gateway repeats the last value of each header in Headers; use it
	// only for headers that MultiValueHeaders lacks.
	vals := make([]string, len(e.Headers))
	i := 0
	for k, v := range e.Headers {
		ck := canonicalKey(k)
		if _, ok := header[ck]; ok {
			continue
		}
		vals[i] = v
		header[ck] = vals[i : i+1 : i+1]
		i++
	}
	r := http.Request{
		Method:        e.HTTPMethod,
		URL:           newURL(e.Path, queryV1(e.MultiValueQueryStringParameters, e.QueryStringParameters)),
		Header:        header,
		Body:          body,
		ContentLength: n,
	}
	return finishRequest(ctx, &r, rc.Protocol, rc.DomainName, rc.Identity.SourceIP, rc.RequestID), nil
}

// finishRequest fills in the fields of r that do not depend on the payload
// format and returns a copy of r that carries ctx and the request ID.
// Like net/http's server, it moves the Host header to r.Host.
func finishRequest(ctx context.Context, r *http.Request, proto, domain, sourceIP, requestID string) *http.Request {
	r.Proto, r.ProtoMajor, r.ProtoMinor = "HTTP/1.1", 1, 1
	if major, minor, ok := http.ParseHTTPVersion(proto); ok {
		r.Proto, r.ProtoMajor, r.ProtoMinor = proto, major, minor
	}
	r.Host = r.Header.Get("Host")
	if r.Host == "" {
		r.Host = domain
	}
	delete(r.Header, "Host")
	if sourceIP != "" {
		// net/http documents RemoteAddr as "IP:port"; API Gateway does
		// not report the port.
		r.RemoteAddr = net.JoinHostPort(sourceIP, "0")
	}
	r.RequestURI = r.URL.RequestURI()
	if requestID == "" {
		if lc, ok := lambdacontext.FromContext(ctx); ok {
			requestID = lc.AwsRequestID
		}
	}
	return r.WithContext(withRequestID(ctx, requestID))
}

// lowerCanonical maps the lower-case header names API Gateway sends with
// every webhook to their canonical form. net/textproto interns the most
// common names itself; these it would allocate for on every request.
var lowerCanonical = map[string]string{
	"stripe-signature":  "Stripe-Signature",
	"x-amzn-trace-id":   "X-Amzn-Trace-Id",
	"x-forwarded-port":  "X-Forwarded-Port",
	"x-forwarded-proto": "X-Forwarded-Proto",
	"idempotency-key":   "Idempotency-Key",
	"authorization":     "Authorization",
	"origin":            "Origin",
}

// canonicalKey returns the canonical form of header name k.
func canonicalKey(k string) string {
	if ck, ok := lowerCanonical[k]; ok {
		return ck
	}
	return textproto.CanonicalMIMEHeaderKey(k)
}

// addHeader adds the values vs under the canonical key ck, which events may
// spell in several cases.
func addHeader(h http.Header, ck string, vs []string) {
	if prev, ok := h[ck]; ok {
		h[ck] = append(prev[:len(prev):len(prev)], vs...)
		return
	}
	h[ck] = vs
}

// stripStage removes the leading /stage from an HTTP API rawPath, which
// includes the stage unless it is the $default stage.
func stripStage(path, stage string) string {
	if stage == "" || stage == "$default" {
		return path
	}
	n := 1 + len(stage)
	if len(path) < n || path[0] != '/' || path[1:n] != stage {
		return path
	}
	switch {
	case len(path) == n:
		return "/"
	case path[n] == '/':
		return path[n:]
	}
	return path
}

// newURL returns the URL of a request with the given escaped path and query.
func newURL(path, rawQuery string) *url.URL {
	if path == "" {
		path = "/"
	}
	u := &url.URL{Path: path, RawQuery: rawQuery}
	if strings.IndexByte(path, '%') >= 0 {
		if p, err := url.PathUnescape(path); err == nil {
			u.Path, u.RawPath = p, path
		}
	}
	return u
}

// queryV1 rebuilds the raw query string of a payload format 1.0 event,
// preferring the multi-value parameters.
func queryV1(multi map[string][]string, single map[string]string) string {
	if len(multi) > 0 {
		return url.Values(multi).Encode()
	}
	if len(single) == 0 {
		return ""
	}
	v := make(url.Values, len(single))
	for k, s := range single {
		v[k] = []string{s}
	}
	return v.Encode()
}

// newBody returns a request body reading s, decoded from base64 if isBase64,
// and its length.
func newBody(s string, isBase64 bool) (io.ReadCloser, int64, error) {
	if !isBase64 {
		if s == "" {
			return http.NoBody, 0, nil
		}
		b := new(stringBody)
		b.Reset(s)
		return b, int64(len(s)), nil
	}
	p, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, 0, fmt.Errorf("decoding base64 request body: %w", err)
	}
	if len(p) == 0 {
		return http.NoBody, 0, nil
	}
	return io.NopCloser(bytes.NewReader(p)), int64(len(p)), nil
}

// stringBody is a request body held in a string.
type stringBody struct{ strings.Reader }

// Close does nothing and returns nil.
func (*stringBody) Close() error { return nil }
