package hungserver

import (
	"testing"
	"time"
)

// RefusedURL is an endpoint that refuses connections: nothing listens on
// port 1 of the loopback interface (a privileged port no test binds), as
// with an endpoint that is not there.
const RefusedURL = "http://127.0.0.1:1"

// Failure is one way a dependency fails, with a start function that returns
// an endpoint failing so and its count of accepted connections (nil: none
// to count).
type Failure struct {
	Name  string
	Start func(tb testing.TB) (url string, accepted func() int)
}

// Failures returns the ways a dependency fails that the functions'
// hung-dependency tests try each dependency with:
//
//   - hung: the endpoint accepts connections and never answers (Start), as
//     an impaired service or a proxy does, and as a client sees a VPC
//     without an interface endpoint or a NAT route for the service, whose
//     connections time out
//     (https://docs.aws.amazon.com/secretsmanager/latest/userguide/vpc-endpoint-overview.html,
//     https://docs.aws.amazon.com/lambda/latest/dg/configuration-vpc-internet.html);
//   - refused: nothing listens there (RefusedURL);
//   - slow, slow-body: the endpoint accepts connections, reads the request
//     and answers one byte every every for as long as the test lasts
//     (StartTrickle: the status line and a header that never ends;
//     StartTrickleBody: the header at once, then a body that never ends),
//     as an overloaded service, or a middlebox (a proxy, a TLS inspecting
//     firewall) that keeps a connection alive with a trickle, does. Every
//     byte resets a read timeout (the AWS SDK's BuildableClient's:
//     https://docs.aws.amazon.com/sdk-for-go/v2/developer-guide/configure-http.html,
//     "Timeout"), and the body's bytes come after any wait for the header
//     has ended: only the deadline of the caller's context ends the
//     request. every must be under the clients' read timeout.
func Failures(every time.Duration) []Failure {
	return []Failure{
		{"hung", func(tb testing.TB) (string, func() int) { return Start(tb) }},
		{"refused", func(testing.TB) (string, func() int) { return RefusedURL, nil }},
		{"slow", func(tb testing.TB) (string, func() int) { return StartTrickle(tb, every) }},
		{"slow-body", func(tb testing.TB) (string, func() int) { return StartTrickleBody(tb, every) }},
	}
}
