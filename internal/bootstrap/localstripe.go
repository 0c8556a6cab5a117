package bootstrap

import (
	"context"
	"fmt"
	"strings"

	"stripetask/internal/devtools"
)

// localStripe is local development only. It gives the `invoke` mode a
// Stripe API when none is configured, as `make run` does for `serve`: when
// the process runs `invoke FILE` outside AWS Lambda, reads its secrets from
// the environment (no SECRETS_ID) and has no STRIPE_KEY, it starts
// stripe-mock (devtools.StripeMock: $STRIPE_MOCK, <repo>/bin, PATH) on a
// free loopback port, says so on stderr, and returns p with STRIPE_KEY set
// to stripe-mock's test key and STRIPE_API_BASE to its URL, in both Getenv
// and Environ (the secrets source). The returned stop function ends
// stripe-mock; call it when the invocation is over. In every other case p
// is returned unchanged and stop does nothing: never in Lambda, never in
// `serve`.
func localStripe(ctx context.Context, name string, p Process) (_ Process, stop func(), err error) {
	if !wantsLocalStripe(p) {
		return p, func() {}, nil
	}
	bin, err := devtools.StripeMock(p.Getenv)
	if err != nil {
		return p, nil, fmt.Errorf("invoke: STRIPE_KEY is not set, so a local stripe-mock would be the Stripe API, but %w; or set STRIPE_KEY (and STRIPE_API_BASE)", err)
	}
	url, stop, err := devtools.RunStripeMock(ctx, bin)
	if err != nil {
		return p, nil, fmt.Errorf("invoke: STRIPE_KEY is not set, so a local stripe-mock would be the Stripe API, but %w", err)
	}
	fmt.Fprintf(p.Stderr, "%s invoke: STRIPE_KEY is not set: using stripe-mock at %s as the Stripe API, with its test key (stopped when the invocation ends); set STRIPE_KEY to call Stripe instead\n", name, url)
	return withEnv(p, "STRIPE_KEY", devtools.StripeMockKey, "STRIPE_API_BASE", url), stop, nil
}

// wantsLocalStripe reports whether localStripe starts stripe-mock for p:
// `invoke FILE` outside Lambda, secrets from the environment, no STRIPE_KEY.
func wantsLocalStripe(p Process) bool {
	return p.Getenv("AWS_LAMBDA_RUNTIME_API") == "" &&
		len(p.Args) == 2 && p.Args[0] == "invoke" &&
		p.Getenv("SECRETS_ID") == "" &&
		p.Getenv("STRIPE_KEY") == ""
}

// withEnv returns p with the NAME, value pairs kv set in its environment,
// replacing earlier values.
func withEnv(p Process, kv ...string) Process {
	set := make(map[string]string, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		set[kv[i]] = kv[i+1]
	}
	environ := make([]string, 0, len(p.Environ)+len(set))
	for _, e := range p.Environ {
		name, _, _ := strings.Cut(e, "=")
		if _, ok := set[name]; !ok {
			environ = append(environ, e)
		}
	}
	for i := 0; i+1 < len(kv); i += 2 {
		environ = append(environ, kv[i]+"="+kv[i+1])
	}
	getenv := p.Getenv
	p.Environ = environ
	p.Getenv = func(name string) string {
		if v, ok := set[name]; ok {
			return v
		}
		return getenv(name)
	}
	return p
}
