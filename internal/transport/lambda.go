package transport

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
)

// errUnknownEvent reports a Lambda payload that is not an HTTP event.
var errUnknownEvent = errors.New("transport: unrecognised Lambda event: " +
	"want an API Gateway REST API (payload format 1.0), HTTP API (payload format 2.0) or function URL event")

// NewLambdaHandler returns a Lambda handler that serves HTTP events with h.
//
// The handler accepts API Gateway REST API events (payload format 1.0,
// recognised by httpMethod), and API Gateway HTTP API and Lambda function URL
// events (payload format 2.0, recognised by version "2.0"), and responds in
// the format of the event, as [ServeV1] and [ServeV2] describe. Its Invoke
// method returns an error only for a payload that is not such an event.
func NewLambdaHandler(h http.Handler) lambda.Handler {
	return lambdaHandler{h}
}

// lambdaHandler is the lambda.Handler returned by NewLambdaHandler.
type lambdaHandler struct {
	h http.Handler
}

// Invoke serves the HTTP event in payload with the handler's http.Handler
// and returns the JSON response.
func (l lambdaHandler) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	var e event
	if err := json.Unmarshal(payload, &e); err != nil {
		return nil, fmt.Errorf("transport: decoding Lambda event: %w", err)
	}
	switch {
	case e.HTTPMethod != "" && (e.Version == "" || e.Version == "1.0"):
		res, err := ServeV1(ctx, l.h, e.v1())
		if err != nil {
			return nil, err
		}
		return json.Marshal(v1Response{
			StatusCode:        res.StatusCode,
			Headers:           res.Headers,
			MultiValueHeaders: res.MultiValueHeaders,
			Body:              res.Body,
			IsBase64Encoded:   res.IsBase64Encoded,
		})
	case e.Version == "2.0" && e.RequestContext.HTTP.Method != "":
		res, err := ServeV2(ctx, l.h, e.v2())
		if err != nil {
			return nil, err
		}
		return json.Marshal(v2Response{
			StatusCode:      res.StatusCode,
			Headers:         res.Headers,
			Cookies:         res.Cookies,
			Body:            res.Body,
			IsBase64Encoded: res.IsBase64Encoded,
		})
	}
	return nil, errUnknownEvent
}

// event holds the fields of API Gateway and function URL events that
// matter to an HTTP handler, in both payload formats, so that a payload is
// decoded only once whatever its format.
type event struct {
	Version string `json:"version"`

	// Payload format 1.0.
	HTTPMethod                      string              `json:"httpMethod"`
	Path                            string              `json:"path"`
	MultiValueHeaders               map[string][]string `json:"multiValueHeaders"`
	QueryStringParameters           map[string]string   `json:"queryStringParameters"`
	MultiValueQueryStringParameters map[string][]string `json:"multiValueQueryStringParameters"`

	// Payload format 2.0.
	RawPath        string   `json:"rawPath"`
	RawQueryString string   `json:"rawQueryString"`
	Cookies        []string `json:"cookies"`

	// Both formats.
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
