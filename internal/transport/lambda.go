package transport

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
)

// errUnknownEvent reports a Lambda payload that is not an HTTP event.
var errUnknownEvent = errors.New("transport: unrecognised Lambda event: " +
	"want an API Gateway REST API (payload format 1.0), HTTP API (payload format 2.0), " +
	"function URL or Application Load Balancer event")

// NewLambdaHandler returns a Lambda handler that serves HTTP events with h:
// API Gateway REST API (payload format 1.0), HTTP API and function URL
// (payload format 2.0) and Application Load Balancer target group events,
// each answered in its own format. It is a [LambdaHandler] whose Log is
// nil, so that the errors it answers itself are logged as JSON to standard
// error; use a LambdaHandler to choose the logger. Its Invoke method
// returns an error only for a payload that is not such an event.
func NewLambdaHandler(h http.Handler) lambda.Handler {
	return &LambdaHandler{Handler: h}
}

// LambdaHandler is a [lambda.Handler] that serves the HTTP events of AWS
// Lambda with an [http.Handler].
//
// Its Invoke method accepts
//
//   - Application Load Balancer target group events, recognised by
//     requestContext.elb, answered as [LambdaHandler.ServeALB] describes;
//   - API Gateway REST API events (payload format 1.0), recognised by
//     httpMethod, answered as [LambdaHandler.ServeV1] describes;
//   - API Gateway HTTP API and Lambda function URL events (payload format
//     2.0), recognised by version "2.0", answered as [LambdaHandler.ServeV2]
//     describes;
//
// and passes any other payload to Other; without Other, it returns an error
// for a payload that is none of these.
//
// The responses the transport makes itself rather than Handler (a base64
// body that does not decode, a panic in Handler) are JSON,
// {"error":"...","request_id":"..."}, with the headers Content-Type:
// application/json and Cache-Control: no-store, and each is logged to Log
// as one line with the message "transport_error" and the attributes
// request_id, status, error and, for a panic, stack. The panic's value goes
// to the log only, never to the response.
//
// Its methods may be called concurrently if Handler's ServeHTTP may.
type LambdaHandler struct {
	// Handler serves the requests.
	Handler http.Handler

	// Log receives a line for each error response the transport makes
	// itself. If nil, such lines are written as JSON to os.Stderr.
	Log *slog.Logger

	// Other, if set, serves the payloads that are no HTTP event (an
	// Amazon EventBridge event, say): Invoke returns what it returns.
	// Without it such a payload is an error.
	Other lambda.Handler
}

// Invoke serves the HTTP event in payload with l.Handler and returns the
// JSON response in the format of the event.
func (l *LambdaHandler) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	var e event
	if err := json.Unmarshal(payload, &e); err != nil {
		return nil, fmt.Errorf("transport: decoding Lambda event: %w", err)
	}
	switch {
	case e.RequestContext.ELB != nil && e.HTTPMethod != "" && e.Version == "":
		res := serveALB(ctx, l.Handler, l.Log, e.alb())
		return json.Marshal(albResponse{
			StatusCode:        res.StatusCode,
			StatusDescription: res.StatusDescription,
			Headers:           res.Headers,
			MultiValueHeaders: res.MultiValueHeaders,
			Body:              res.Body,
			IsBase64Encoded:   res.IsBase64Encoded,
		})
	case e.HTTPMethod != "" && (e.Version == "" || e.Version == "1.0"):
		res := serveV1(ctx, l.Handler, l.Log, e.v1())
		return json.Marshal(v1Response{
			StatusCode:        res.StatusCode,
			Headers:           res.Headers,
			MultiValueHeaders: res.MultiValueHeaders,
			Body:              res.Body,
			IsBase64Encoded:   res.IsBase64Encoded,
		})
	case e.Version == "2.0" && e.RequestContext.HTTP.Method != "":
		res := serveV2(ctx, l.Handler, l.Log, e.v2())
		return json.Marshal(v2Response{
			StatusCode:      res.StatusCode,
			Headers:         res.Headers,
			Cookies:         res.Cookies,
			Body:            res.Body,
			IsBase64Encoded: res.IsBase64Encoded,
		})
	}
	if l.Other != nil {
		return l.Other.Invoke(ctx, payload)
	}
	return nil, errUnknownEvent
}

// ServeV1 is [ServeV1] with l's Handler and Log.
func (l *LambdaHandler) ServeV1(ctx context.Context, e *events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
	return serveV1(ctx, l.Handler, l.Log, e), nil
}

// ServeV2 is [ServeV2] with l's Handler and Log.
func (l *LambdaHandler) ServeV2(ctx context.Context, e *events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	return serveV2(ctx, l.Handler, l.Log, e), nil
}

// ServeALB is [ServeALB] with l's Handler and Log.
func (l *LambdaHandler) ServeALB(ctx context.Context, e *events.ALBTargetGroupRequest) (events.ALBTargetGroupResponse, error) {
	return serveALB(ctx, l.Handler, l.Log, e), nil
}

// event holds the fields of API Gateway, function URL and ALB events that
// matter to an HTTP handler, in all their formats, so that a payload is
// decoded only once whatever its format.
type event struct {
	Version string `json:"version"`

	// Payload format 1.0 and ALB.
	HTTPMethod                      string              `json:"httpMethod"`
	Path                            string              `json:"path"`
	MultiValueHeaders               map[string][]string `json:"multiValueHeaders"`
	QueryStringParameters           map[string]string   `json:"queryStringParameters"`
	MultiValueQueryStringParameters map[string][]string `json:"multiValueQueryStringParameters"`

	// Payload format 2.0.
	RawPath        string   `json:"rawPath"`
	RawQueryString string   `json:"rawQueryString"`
	Cookies        []string `json:"cookies"`

	// All formats.
	Headers         map[string]string `json:"headers"`
	Body            string            `json:"body"`
	IsBase64Encoded bool              `json:"isBase64Encoded"`
	RequestContext  struct {
		Stage      string `json:"stage"`
		RequestID  string `json:"requestId"`
		DomainName string `json:"domainName"`
		Protocol   string `json:"protocol"` // 1.0
		Identity   struct {
			SourceIP string `json:"sourceIp"`
		} `json:"identity"` // 1.0
		HTTP struct {
			Method   string `json:"method"`
			Path     string `json:"path"`
			Protocol string `json:"protocol"`
			SourceIP string `json:"sourceIp"`
		} `json:"http"` // 2.0
		// ELB is not nil in ALB events only.
		ELB *events.ELBContext `json:"elb"`
	} `json:"requestContext"`
}

// v1 returns e as a payload format 1.0 event.
func (e *event) v1() *events.APIGatewayProxyRequest {
	rc := &e.RequestContext
	return &events.APIGatewayProxyRequest{
		Path:                            e.Path,
		HTTPMethod:                      e.HTTPMethod,
		Headers:                         e.Headers,
		MultiValueHeaders:               e.MultiValueHeaders,
		QueryStringParameters:           e.QueryStringParameters,
		MultiValueQueryStringParameters: e.MultiValueQueryStringParameters,
		Body:                            e.Body,
		IsBase64Encoded:                 e.IsBase64Encoded,
		RequestContext: events.APIGatewayProxyRequestContext{
			Stage:      rc.Stage,
			DomainName: rc.DomainName,
			RequestID:  rc.RequestID,
			Protocol:   rc.Protocol,
			HTTPMethod: e.HTTPMethod,
			Identity:   events.APIGatewayRequestIdentity{SourceIP: rc.Identity.SourceIP},
		},
	}
}

// v2 returns e as a payload format 2.0 event.
func (e *event) v2() *events.APIGatewayV2HTTPRequest {
	rc := &e.RequestContext
	return &events.APIGatewayV2HTTPRequest{
		Version:         e.Version,
		RawPath:         e.RawPath,
		RawQueryString:  e.RawQueryString,
		Cookies:         e.Cookies,
		Headers:         e.Headers,
		Body:            e.Body,
		IsBase64Encoded: e.IsBase64Encoded,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			Stage:      rc.Stage,
			RequestID:  rc.RequestID,
			DomainName: rc.DomainName,
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{
				Method:   rc.HTTP.Method,
				Path:     rc.HTTP.Path,
				Protocol: rc.HTTP.Protocol,
				SourceIP: rc.HTTP.SourceIP,
			},
		},
	}
}

// alb returns e as an ALB target group event; e.RequestContext.ELB must not
// be nil.
func (e *event) alb() *events.ALBTargetGroupRequest {
	return &events.ALBTargetGroupRequest{
		HTTPMethod:                      e.HTTPMethod,
		Path:                            e.Path,
		QueryStringParameters:           e.QueryStringParameters,
		MultiValueQueryStringParameters: e.MultiValueQueryStringParameters,
		Headers:                         e.Headers,
		MultiValueHeaders:               e.MultiValueHeaders,
		RequestContext:                  events.ALBTargetGroupRequestContext{ELB: *e.RequestContext.ELB},
		IsBase64Encoded:                 e.IsBase64Encoded,
		Body:                            e.Body,
	}
}

// v1Response is the payload format 1.0 response as API Gateway reads it.
type v1Response struct {
	StatusCode        int                 `json:"statusCode"`
	Headers           map[string]string   `json:"headers,omitempty"`
	MultiValueHeaders map[string][]string `json:"multiValueHeaders,omitempty"`
	Body              string              `json:"body"`
	IsBase64Encoded   bool                `json:"isBase64Encoded"`
}

// v2Response is the payload format 2.0 response as API Gateway HTTP APIs and
// function URLs read it.
type v2Response struct {
	StatusCode      int               `json:"statusCode"`
	Headers         map[string]string `json:"headers,omitempty"`
	Cookies         []string          `json:"cookies,omitempty"`
	Body            string            `json:"body"`
	IsBase64Encoded bool              `json:"isBase64Encoded"`
}

// albResponse is the response as an ALB reads it. At most one of Headers
// and MultiValueHeaders is set: a target group with multi-value headers
// enabled rejects a response with headers.
type albResponse struct {
	StatusCode        int                 `json:"statusCode"`
	StatusDescription string              `json:"statusDescription"`
	Headers           map[string]string   `json:"headers,omitempty"`
	MultiValueHeaders map[string][]string `json:"multiValueHeaders,omitempty"`
	Body              string              `json:"body"`
	IsBase64Encoded   bool                `json:"isBase64Encoded"`
}
