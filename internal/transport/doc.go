// Package transport connects an [net/http.Handler] to the outside world: it
// translates AWS Lambda HTTP events (API Gateway REST and HTTP APIs, Lambda
// function URLs and Application Load Balancer target groups) to and from
// net/http, and it provides the local run modes used during development, a
// plain HTTP server and a one-shot event invoker.
//
// A Lambda function binary typically consists of
//
//	func main() {
//		ctx := context.Background()
//		os.Exit(transport.Main(ctx, handler, os.Args[1:], transport.Options{
//			Name: "webhook",
//			Path: "/webhook",
//		}))
//	}
//
// so that the same handler serves requests in AWS Lambda, behind a local
// server and for recorded events.
//
// # Events
//
// [LambdaHandler] tells the events apart and answers each in its own format:
// ALB events, recognised by requestContext.elb, with statusCode,
// statusDescription, and headers or multiValueHeaders as the request had
// them ([ServeALB]); API Gateway REST API events (payload format 1.0) with
// headers and multiValueHeaders ([ServeV1]); API Gateway HTTP API and
// function URL events (payload format 2.0) with headers and cookies
// ([ServeV2]).
//
// # Headers
//
// Header names are canonicalised ("stripe-signature" becomes
// "Stripe-Signature"). An event may spell one header in several ways, as a
// REST API event or a hand-written one can (Stripe-Signature and
// stripe-signature, both in headers): the request then has the values of
// all the spellings, the spellings taken in bytewise order
// ("STRIPE-SIGNATURE", then "Stripe-Signature", then "stripe-signature"),
// each spelling's values in their order in the event, so that the request
// is the same each time the event is served, whatever Go's map iteration
// order. In REST API and ALB events, a header found in multiValueHeaders
// under any spelling takes its values from there only, and headers supplies
// the others.
//
// # Errors
//
// The transport answers some requests itself: a body flagged as base64 that
// does not decode (400), a panic in the handler (500), a path other than
// [Options.Path] in serve mode (404). These responses are JSON,
// {"error":"...","request_id":"..."}, with Cache-Control: no-store, and each
// is logged as one "transport_error" line; see [LambdaHandler].
package transport
