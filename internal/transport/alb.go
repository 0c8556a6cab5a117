package transport

import (
	"context"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-lambda-go/events"
)

// ServeALB serves a request that an Application Load Balancer passes to a
// Lambda target group with h and returns h's response in the form the load
// balancer reads. e must not be nil.
//
// The request differs from an API Gateway one in what the load balancer
// sends: the query string parameters arrive as the client sent them,
// URL-encoded, and are passed on as they are (names in bytewise order, as
// the event keeps no order between them, and each name's values in the
// order given); the path has no stage; the event has no request ID, so
// [RequestID] reports the Lambda invocation's AwsRequestID; and it reports
// no client address, so r.RemoteAddr is empty (X-Forwarded-For is left to
// h). Headers, context and failures are handled as by [ServeV1].
//
// The response carries statusDescription ("200 OK"), and its headers in
// MultiValueHeaders if e has MultiValueHeaders (non-nil), which is how the
// load balancer sends requests to a target group with multi-value headers
// enabled and how it wants the responses; otherwise in Headers, with
// repeated values joined by commas, except Set-Cookie, which cannot be
// joined and keeps its last value only: enable multi-value headers to set
// several cookies. The error result is always nil.
func ServeALB(ctx context.Context, h http.Handler, e *events.ALBTargetGroupRequest) (events.ALBTargetGroupResponse, error) {
	return serveALB(ctx, h, nil, e), nil
}

// serveALB implements ServeALB, logging to log (nil: the default logger).
func serveALB(ctx context.Context, h http.Handler, log *slog.Logger, e *events.ALBTargetGroupRequest) events.ALBTargetGroupResponse {
	id := requestID(ctx, "")
	r, err := newRequestALB(ctx, e, id)
	return serveEvent(ctx, h, log, e.HTTPMethod, id, r, err).alb(e.MultiValueHeaders != nil)
}

// newRequestALB translates an ALB event into an http.Request with the
// request ID id.
func newRequestALB(ctx context.Context, e *events.ALBTargetGroupRequest, id string) (*http.Request, error) {
	body, n, err := newBody(e.Body, e.IsBase64Encoded)
	if err != nil {
		return nil, err
	}
	r := http.Request{
		Method:        e.HTTPMethod,
		URL:           newURL(e.Path, queryALB(e.MultiValueQueryStringParameters, e.QueryStringParameters)),
		Header:        requestHeader(e.MultiValueHeaders, e.Headers),
		Body:          body,
		ContentLength: n,
	}
	return finishRequest(ctx, &r, "", "", "", id), nil
}

// queryALB rebuilds the raw query string of an ALB event from its
// parameters, which the load balancer leaves URL-encoded, preferring the
// multi-value ones. Names are in bytewise order.
func queryALB(multi map[string][]string, single map[string]string) string {
	var b strings.Builder
	param := func(k, v string) {
		if b.Len() > 0 {
			b.WriteByte('&')
		}
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(v)
	}
	if len(multi) > 0 {
		for _, k := range slices.Sorted(maps.Keys(multi)) {
			for _, v := range multi[k] {
				param(k, v)
			}
		}
		return b.String()
	}
	for _, k := range slices.Sorted(maps.Keys(single)) {
		param(k, single[k])
	}
	return b.String()
}

// alb returns the response as an ALB reads it, with its headers in
// MultiValueHeaders if multi, else in Headers.
func (w *responseWriter) alb(multi bool) events.ALBTargetGroupResponse {
	ct, sniffed := w.finish()
	res := events.ALBTargetGroupResponse{
		StatusCode:        w.status,
		StatusDescription: statusDescription(w.status),
	}
	switch {
	case multi:
		res.MultiValueHeaders = make(map[string][]string, len(w.sent)+1)
		for k, vs := range w.sent {
			if len(vs) > 0 {
				res.MultiValueHeaders[k] = vs
			}
		}
		if sniffed {
			res.MultiValueHeaders["Content-Type"] = []string{ct}
		}
	case len(w.sent) > 0 || sniffed:
		res.Headers = make(map[string]string, len(w.sent)+1)
		for k, vs := range w.sent {
			switch {
			case len(vs) == 0:
			case len(vs) == 1:
				res.Headers[k] = vs[0]
			case strings.EqualFold(k, "Set-Cookie"):
				res.Headers[k] = vs[len(vs)-1]
			default:
				res.Headers[k] = strings.Join(vs, ",")
			}
		}
		if sniffed {
			res.Headers["Content-Type"] = ct
		}
	}
	res.Body, res.IsBase64Encoded = w.encodeBody(ct)
	return res
}

// statusDescription returns the status line text an ALB wants for code:
// the code, a space and the reason phrase, such as "200 OK". Like net/http,
// it uses "status code N" as the phrase of codes it does not know.
func statusDescription(code int) string {
	text := http.StatusText(code)
	if text == "" {
		text = "status code " + strconv.Itoa(code)
	}
	return strconv.Itoa(code) + " " + text
}
