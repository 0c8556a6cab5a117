package transport

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

// ServeV2 serves an API Gateway HTTP API request in payload format 2.0 (the
// format Lambda function URLs use too) with h and returns h's response in
// the same format. e must not be nil.
//
// The request seen by h carries ctx, and so its deadline, and the request ID
// reported by [RequestID]. A header that e spells in several ways is merged
// as the package documentation describes. Failures become HTTP responses
// rather than errors: a body flagged as base64 that does not decode yields a
// 400 response, and a panic in h is recovered and yields a 500 response, so
// that one bad request cannot crash the function. Both are logged as JSON to
// os.Stderr; see [LambdaHandler] for their form and for choosing the logger.
// The error result lets ServeV2 have the shape of a typed Lambda handler; it
// is always nil.
func ServeV2(ctx context.Context, h http.Handler, e *events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	return serveV2(ctx, h, nil, e), nil
}

// ServeV1 serves an API Gateway REST API request (payload format 1.0) with h
// and returns h's response in the same format. e must not be nil.
//
// ServeV1 handles context, request IDs, headers and failures as [ServeV2]
// does; its error result is always nil. Headers present in
// e.MultiValueHeaders are taken from there, and e.Headers only supplies the
// headers that e.MultiValueHeaders lacks, under any spelling.
func ServeV1(ctx context.Context, h http.Handler, e *events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
	return serveV1(ctx, h, nil, e), nil
}

// serveV2 implements ServeV2, logging to log (nil: the default logger).
func serveV2(ctx context.Context, h http.Handler, log *slog.Logger, e *events.APIGatewayV2HTTPRequest) events.APIGatewayV2HTTPResponse {
	id := requestID(ctx, e.RequestContext.RequestID)
	r, err := newRequestV2(ctx, e, id)
	return serveEvent(ctx, h, log, e.RequestContext.HTTP.Method, id, r, err).v2()
}

// serveV1 implements ServeV1, logging to log (nil: the default logger).
func serveV1(ctx context.Context, h http.Handler, log *slog.Logger, e *events.APIGatewayProxyRequest) events.APIGatewayProxyResponse {
	id := requestID(ctx, e.RequestContext.RequestID)
	r, err := newRequestV1(ctx, e, id)
	return serveEvent(ctx, h, log, e.HTTPMethod, id, r, err).v1()
}

// serveEvent serves r, an event's request with the HTTP method method and
// the request ID id, with h and returns the response, to be put in the
// event's format. err is the error of translating the event into r, a body
// that did not decode: it is answered with a 400 error of the transport's
// own instead.
func serveEvent(ctx context.Context, h http.Handler, log *slog.Logger, method, id string, r *http.Request, err error) *responseWriter {
	w := &responseWriter{head: method == http.MethodHead}
	if err != nil {
		writeError(ctx, w, log, id, badBase64(err))
	} else {
		w.serve(log, h, r)
	}
	return w
}

// newRequestV2 translates a payload format 2.0 event into an http.Request
// with the request ID id.
func newRequestV2(ctx context.Context, e *events.APIGatewayV2HTTPRequest, id string) (*http.Request, error) {
	body, n, err := newBody(e.Body, e.IsBase64Encoded)
	if err != nil {
		return nil, err
	}
	rc := &e.RequestContext
	header := requestHeader(nil, e.Headers)
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
	return finishRequest(ctx, &r, rc.HTTP.Protocol, rc.DomainName, rc.HTTP.SourceIP, id), nil
}

// newRequestV1 translates a payload format 1.0 event into an http.Request
// with the request ID id.
func newRequestV1(ctx context.Context, e *events.APIGatewayProxyRequest, id string) (*http.Request, error) {
	body, n, err := newBody(e.Body, e.IsBase64Encoded)
	if err != nil {
		return nil, err
	}
	rc := &e.RequestContext
	r := http.Request{
		Method:        e.HTTPMethod,
		URL:           newURL(e.Path, queryV1(e.MultiValueQueryStringParameters, e.QueryStringParameters)),
		Header:        requestHeader(e.MultiValueHeaders, e.Headers),
		Body:          body,
		ContentLength: n,
	}
	return finishRequest(ctx, &r, rc.Protocol, rc.DomainName, rc.Identity.SourceIP, id), nil
}

// requestID returns the request ID of an event whose own request ID is
// eventID: eventID, or failing that the Lambda invocation's AwsRequestID.
func requestID(ctx context.Context, eventID string) string {
	if eventID != "" {
		return eventID
	}
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		return lc.AwsRequestID
	}
	return ""
}

// finishRequest fills in the fields of r that do not depend on the payload
// format and returns a copy of r that carries ctx and the request ID id.
// Like net/http's server, it moves the Host header to r.Host.
func finishRequest(ctx context.Context, r *http.Request, proto, domain, sourceIP, id string) *http.Request {
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
	return r.WithContext(withRequestID(ctx, id))
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
