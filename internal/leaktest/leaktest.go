// Package leaktest is for the tests that hold every function to "no secret
// value ever reaches a log line or a response": realistic secret values to
// configure a function with, a Handler that does the worst a Handler can
// do with them (fail, in Init and in its methods, and panic, with errors
// that quote every secret it was given and Stripe's error text, which
// quotes the API key when the server echoes it), and the check that an
// output holds none of them, in any form a function could print.
//
// stripe-mock echoes a key it refuses: a request with LiveKey gets a 401
// whose message ends "Authorization was 'Bearer sk_live_...'". So a
// function given LiveKey and stripe-mock as the Stripe API meets, on every
// Stripe call, the Stripe error that quotes its key.
package leaktest

import (
	"context"
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/stripe/stripe-go/v76"

	"stripetask/dispatch"
)

// Secret values, shaped as the real ones are.
const (
	// TestKey is a Stripe test-mode secret key; stripe-mock accepts it.
	TestKey = "sk_test_51LeakQ7xTestKeyZ0eVb1mHc2Nd3Pf4Rg5Sh6Tj7Uk8Vl"
	// LiveKey is a Stripe live-mode secret key; stripe-mock refuses it,
	// quoting it in its error.
	LiveKey = "sk_live_51LeakQ7xLiveKeyA9sDf8Gh7Jk6Lz5Xc4Vb3Nm2Qw1Er"
	// WebhookSecret is a webhook endpoint's signing secret.
	WebhookSecret = "whsec_LeakT3stS1gn1ngS3cr3tQ4mP8vX2kR7wN5yB9zC"
	// BasicUser and BasicPassword are the webhook's Basic-auth
	// credentials, BASIC_AUTH=BasicUser:BasicPassword.
	BasicUser     = "stripe"
	BasicPassword = "pw-leak-7c1e9a2b4d6f8e0a3b5c7d9e"
	// PayAPIKey is the payments API's bearer token.
	PayAPIKey = "pay_leak_9f8e7d6c5b4a39281706f5e4d3c2b1a0"
	// AWSSecretAccessKey and AWSSessionToken are the execution role's
	// credentials, which Lambda puts in every function's environment.
	AWSSecretAccessKey = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYLeak7SecretKey"
	AWSSessionToken    = "IQoJb3JpZ2luX2VjELeakSessionTokenH4sIAAAAAAAA/4u3AwXmZ"
)

// BasicAuth is the value of BASIC_AUTH.
const BasicAuth = BasicUser + ":" + BasicPassword

// Env returns the secrets of a configured function, as environment
// variables (the environment secrets source reads them all), with key as
// STRIPE_KEY: TestKey, or LiveKey for a Stripe that echoes it.
func Env(key string) map[string]string {
	return map[string]string{
		"STRIPE_KEY":            key,
		"STRIPE_WEBHOOK_SECRET": WebhookSecret,
		"BASIC_AUTH":            BasicAuth,
		"PAY_API_KEY":           PayAPIKey,
		"AWS_SECRET_ACCESS_KEY": AWSSecretAccessKey,
		"AWS_SESSION_TOKEN":     AWSSessionToken,
	}
}

// Values returns every secret value of the package, and the forms a
// function could print one in: the Basic credentials base64-encoded, as
// in an Authorization header, and each value's JSON-escaped form where it
// differs (a / becomes \/ in some encoders).
func Values() []string {
	vs := []string{TestKey, LiveKey, WebhookSecret, BasicPassword, PayAPIKey, AWSSecretAccessKey, AWSSessionToken,
		base64.StdEncoding.EncodeToString([]byte(BasicAuth))}
	for _, v := range vs {
		if e := strings.ReplaceAll(v, "/", `\/`); e != v {
			vs = append(vs, e)
		}
	}
	return vs
}

// Check fails tb for every secret value (Values) that out, the output
// named name (a log, a response body), contains, quoting the lines that
// hold it. It returns whether out is clean.
func Check(tb testing.TB, name, out string) bool {
	tb.Helper()
	clean := true
	for _, v := range Values() {
		if !strings.Contains(out, v) {
			continue
		}
		clean = false
		var lines []string
		for l := range strings.SplitSeq(out, "\n") {
			if strings.Contains(l, v) {
				lines = append(lines, l)
			}
		}
		tb.Errorf("%s holds the secret value %q, in:\n%s", name, v, strings.Join(lines, "\n"))
	}
	return clean
}

// Handler does the worst a Handler can do with its secrets. Init, when
// InitFails, and ChargeSucceeded call Stripe and fail with an error that
// quotes every secret value the Handler was given and Stripe's error (or
// answer); ChargeFailed panics with such a message. Other types have no
// method.
type Handler struct {
	dispatch.Env
	// InitFails makes Init fail.
	InitFails bool
}

// Init fails when InitFails, after calling Stripe.
func (h *Handler) Init(ctx context.Context) error {
	if !h.InitFails {
		return nil
	}
	return h.leak(ctx, "init")
}

// ChargeSucceeded calls Stripe and fails.
func (h *Handler) ChargeSucceeded(ctx context.Context, _ *stripe.Charge) error {
	return h.leak(ctx, "charge.succeeded")
}

// ChargeFailed panics.
func (h *Handler) ChargeFailed(ctx context.Context, _ *stripe.Charge) error {
	panic(h.quoted("charge.failed panics"))
}

// leak calls Stripe and returns an error quoting everything.
func (h *Handler) leak(ctx context.Context, what string) error {
	params := &stripe.BalanceParams{}
	params.Context = ctx
	_, err := h.Stripe.Balance.Get(params)
	return fmt.Errorf("%s: Stripe said %v; %s", what, err, h.quoted("and the handler quotes"))
}

// quoted is msg and every secret value of h, by name, in a stable order.
func (h *Handler) quoted(msg string) string {
	names := make([]string, 0, len(h.Secrets))
	for name := range h.Secrets {
		names = append(names, name)
	}
	slices.Sort(names)
	var b strings.Builder
	b.WriteString(msg)
	for _, name := range names {
		fmt.Fprintf(&b, " %s=%s", name, h.Secrets[name])
	}
	return b.String()
}
