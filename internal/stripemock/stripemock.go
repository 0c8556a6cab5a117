// Package stripemock starts a real stripe-mock process for tests, listening
// on loopback ports the system chooses, and stops it when the test ends.
//
// The binary is found at $STRIPE_MOCK, then bin/stripe-mock under the module
// root (where `make tools` installs it), then on PATH (see
// internal/devtools). When it is missing the test fails, saying how to
// install it; it never skips.
package stripemock

import (
	"context"
	"os"
	"testing"

	"stripetask/internal/devtools"
)

// Version is the stripe-mock release the project tests against.
const Version = devtools.StripeMockVersion

// Key is an API key stripe-mock accepts.
const Key = devtools.StripeMockKey

// Binary returns the path of the stripe-mock binary, or an error that says
// how to install it.
func Binary() (string, error) {
	return devtools.StripeMock(os.Getenv)
}

// Start runs stripe-mock for the rest of the test and returns its HTTP base
// URL, e.g. "http://127.0.0.1:41234".
func Start(tb testing.TB) string {
	tb.Helper()
	bin, err := Binary()
	if err != nil {
		tb.Fatal(err)
	}
	url, stop, err := Run(context.Background(), bin)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(stop)
	return url
}

// Run starts stripe-mock from bin on loopback and returns its HTTP base URL
// and a function that stops it. It waits at most 30 s for the process to
// report its address.
func Run(ctx context.Context, bin string) (url string, stop func(), err error) {
	return devtools.RunStripeMock(ctx, bin)
}
