package transport

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"

	"github.com/aws/aws-lambda-go/events"
)

// responseWriter is an in-memory http.ResponseWriter that turns the response
// into a Lambda HTTP response. It follows net/http's server where the
// difference could be observed: headers are fixed when the status is written,
// a missing Content-Type is sniffed from the body, and no body is kept for
// HEAD requests or for statuses that forbid one.
type responseWriter struct {
	header http.Header // as seen by the handler
	sent   http.Header // header at the time the status was written
	shared bool        // header and sent are the same map
	status int         // 0 until the status is written
	head   bool        // the request method is HEAD
	body   bytes.Buffer
}

// Header returns the response header map.
func (w *responseWriter) Header() http.Header {
	if w.shared {
		// The handler may change the header after writing the status;
		// like net/http, ignore such changes.
		w.header = w.header.Clone()
		w.shared = false
	}
	if w.header == nil {
		w.header = make(http.Header)
	}
	return w.header
}

// WriteHeader records the status code and the header. Informational (1xx)
// statuses cannot be relayed through Lambda and are ignored, as are calls
// after the first.
func (w *responseWriter) WriteHeader(code int) {
	if code < 100 || code > 999 {
		panic(fmt.Sprintf("invalid WriteHeader code %v", code))
	}
	if w.status != 0 || code < 200 {
		return
	}
	w.status = code
	w.sent = w.header
	w.shared = w.header != nil
}

// Write appends p to the response body.
func (w *responseWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	if !bodyAllowed(w.status) {
		return 0, http.ErrBodyNotAllowed
	}
	if w.head {
		return len(p), nil
	}
	return w.body.Write(p)
}

// WriteString appends s to the response body.
func (w *responseWriter) WriteString(s string) (int, error) {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	if !bodyAllowed(w.status) {
		return 0, http.ErrBodyNotAllowed
	}
	if w.head {
		return len(s), nil
	}
	return w.body.WriteString(s)
}

// serve runs h. If h panics, serve discards whatever h wrote and responds
// with a 500 error instead, which it logs to log with the stack (except for
// http.ErrAbortHandler, which net/http too treats as a deliberate abort).
func (w *responseWriter) serve(log *slog.Logger, h http.Handler, r *http.Request) {
	defer func() {
		if v := recover(); v != nil {
			var stack []byte
			if v != http.ErrAbortHandler {
				stack = debug.Stack()
			}
			*w = responseWriter{head: w.head}
			ctx := r.Context()
			writeError(ctx, w, log, RequestID(ctx), panicked(v, stack))
		}
	}()
	h.ServeHTTP(w, r)
}

// finish completes the response after the handler has returned and reports
// its Content-Type, which it sniffs from the body if the handler set none,
// and whether it did so.
func (w *responseWriter) finish() (contentType string, sniffed bool) {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	if vs, ok := w.sent["Content-Type"]; ok {
		if len(vs) > 0 {
			return vs[0], false
		}
		return "", false
	}
	if w.body.Len() == 0 || w.sent.Get("Content-Encoding") != "" {
		return "", false
	}
	return http.DetectContentType(w.body.Bytes()), true
}

// v2 returns the response in payload format 2.0: repeated headers are joined
// with commas, and Set-Cookie headers go to Cookies.
func (w *responseWriter) v2() events.APIGatewayV2HTTPResponse {
	ct, sniffed := w.finish()
	res := events.APIGatewayV2HTTPResponse{StatusCode: w.status}
	if len(w.sent) > 0 || sniffed {
		res.Headers = make(map[string]string, len(w.sent)+1)
	}
	for k, vs := range w.sent {
		switch {
		case len(vs) == 0:
		case strings.EqualFold(k, "Set-Cookie"):
			res.Cookies = append(res.Cookies, vs...)
		case len(vs) == 1:
			res.Headers[k] = vs[0]
		default:
			res.Headers[k] = strings.Join(vs, ",")
		}
	}
	if sniffed {
		res.Headers["Content-Type"] = ct
	}
	res.Body, res.IsBase64Encoded = w.encodeBody(ct)
	return res
}

// v1 returns the response in payload format 1.0: repeated headers and all
// Set-Cookie headers go to MultiValueHeaders, the others to Headers.
func (w *responseWriter) v1() events.APIGatewayProxyResponse {
	ct, sniffed := w.finish()
	res := events.APIGatewayProxyResponse{StatusCode: w.status}
	if len(w.sent) > 0 || sniffed {
		res.Headers = make(map[string]string, len(w.sent)+1)
	}
	for k, vs := range w.sent {
		switch {
		case len(vs) == 0:
		case len(vs) == 1 && !strings.EqualFold(k, "Set-Cookie"):
			res.Headers[k] = vs[0]
		default:
			if res.MultiValueHeaders == nil {
				res.MultiValueHeaders = make(map[string][]string)
			}
			res.MultiValueHeaders[k] = vs
		}
	}
	if sniffed {
		res.Headers["Content-Type"] = ct
	}
	res.Body, res.IsBase64Encoded = w.encodeBody(ct)
	return res
}

// encodeBody returns the body as Lambda expects it: as is if it is textual
// and not content-encoded, base64-encoded otherwise.
func (w *responseWriter) encodeBody(contentType string) (body string, isBase64 bool) {
	p := w.body.Bytes()
	if len(p) == 0 {
		return "", false
	}
	if isText(contentType) {
		if ce := w.sent.Get("Content-Encoding"); ce == "" || strings.EqualFold(ce, "identity") {
			return string(p), false
		}
	}
	return base64.StdEncoding.EncodeToString(p), true
}

// isText reports whether a body of the given media type is text that can be
// relayed in a JSON string without base64 encoding.
func isText(contentType string) bool {
	mt, _, _ := strings.Cut(contentType, ";")
	mt = strings.ToLower(strings.TrimSpace(mt))
	if strings.HasPrefix(mt, "text/") {
		return true
	}
	switch mt {
	case "application/json", "application/xml", "application/javascript",
		"application/x-www-form-urlencoded":
		return true
	}
	return strings.HasPrefix(mt, "application/") &&
		(strings.HasSuffix(mt, "+json") || strings.HasSuffix(mt, "+xml"))
}

// bodyAllowed reports whether a response with the given status may have a
// body.
func bodyAllowed(status int) bool {
	return status >= 200 && status != http.StatusNoContent && status != http.StatusNotModified
}
