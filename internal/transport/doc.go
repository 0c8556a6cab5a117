// Package transport connects an [net/http.Handler] to the outside world: it
// translates AWS Lambda HTTP events (API Gateway REST and HTTP APIs, Lambda
// function URLs) to and from net/http, and it provides the local run modes
// used during development, a plain HTTP server and a one-shot event invoker.
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
package transport
