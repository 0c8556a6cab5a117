// Command register wires the deployed webhook into Stripe: it creates or
// updates the Stripe webhook endpoint for the function's URL, subscribed to
// exactly the event types handler.Handler has methods for, and stores a new
// endpoint's signing secret in Secrets Manager.
//
// Usage:
//
//	go run ./cmd/register [-stack NAME | -url URL] [-secret-id ID] [-all-events] [-dry-run]
//
// The URL is the stack's WebhookUrl output (CloudFormation, with the AWS
// SDK's standard configuration: AWS_REGION, credentials, AWS_ENDPOINT_URL),
// or -url. The Stripe key is STRIPE_KEY or -stripe-key; STRIPE_API_BASE
// sends the Stripe calls elsewhere (stripe-mock).
//
// Without an endpoint for the URL, one is created with api_version pinned
// to stripe-go's (stripe.APIVersion), and the signing secret Stripe returns,
// once, is put into the secret -secret-id (default: the stack's SecretArn
// output) as STRIPE_WEBHOOK_SECRET, ahead of the previous one, with the
// endpoint's id as STRIPE_WEBHOOK_ENDPOINT_ID (the reconciler watches that
// endpoint). The secret is checked before the endpoint is created, and the
// value is never printed. An existing endpoint gets its enabled_events
// updated (and is re-enabled if disabled), and its id stored in the secret
// if it is not there yet; its signing secret is left alone.
//
// Exit status: 0 on success, 1 on failure, 2 for a usage error.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

// errUsage marks command-line mistakes, which exit with status 2.
var errUsage = errors.New("usage error")

// DefaultStack is the stack name `sam deploy` uses for this project.
const DefaultStack = "stripetask"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr, nil)
	stop()
	os.Exit(code)
}

// cli runs the command with args (without the program name) and returns its
// exit status. getenv reads the environment. setup, if not nil, adjusts the
// parsed Config before the run (tests inject their clients there).
func cli(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer, setup func(*Config)) int {
	cfg, err := parseFlags(args, getenv, stderr)
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintf(stderr, "register: %v\n", err)
		}
		return 2
	}
	if setup != nil {
		setup(&cfg)
	}
	if err := run(ctx, cfg, stdout); err != nil {
		fmt.Fprintf(stderr, "register: %v\n", err)
		return 1
	}
	return 0
}

// parseFlags turns the command line and the environment into a Config. Its
// errors wrap errUsage or are flag.ErrHelp.
func parseFlags(args []string, getenv func(string) string, stderr io.Writer) (Config, error) {
	var cfg Config
	fl := flag.NewFlagSet("register", flag.ContinueOnError)
	fl.SetOutput(stderr)
	fl.StringVar(&cfg.Stack, "stack", DefaultStack, "CloudFormation stack whose WebhookUrl and SecretArn outputs to use")
	fl.StringVar(&cfg.URL, "url", "", "the webhook URL to register, instead of the stack's WebhookUrl output")
	fl.StringVar(&cfg.SecretID, "secret-id", "", "Secrets Manager secret (name or ARN) to store a new endpoint's signing secret in (default: the stack's SecretArn output)")
	// The key's default is applied after parsing, so -help never prints it.
	fl.StringVar(&cfg.StripeKey, "stripe-key", "", "Stripe secret key (default: $STRIPE_KEY)")
	fl.BoolVar(&cfg.AllEvents, "all-events", false, `subscribe to every event ("*"); only for a Handler with a Default method`)
	fl.BoolVar(&cfg.DryRun, "dry-run", false, "print what would be done and change nothing")
	fl.BoolVar(&cfg.Connect, "connect", false, "create or update the Connect endpoint (connect=true) of the URL, for your connected accounts' events; its signing secret is appended to STRIPE_WEBHOOK_SECRET")
	fl.BoolVar(&cfg.AllowAPIVersionMismatch, "allow-api-version-mismatch", false, "update an existing endpoint whose api_version is not stripe-go's "+apiVersion()+" (its events may decode incompletely)")
	fl.Usage = func() {
		fmt.Fprintf(fl.Output(), "usage: go run ./cmd/register [-stack NAME | -url URL] [-secret-id ID] [-all-events] [-connect] [-dry-run]\n\n"+
			"Creates or updates the Stripe webhook endpoint for the deployed function,\n"+
			"subscribed to the event types handler.Handler has methods for, and stores\n"+
			"a new endpoint's signing secret in Secrets Manager.\n\n")
		fl.PrintDefaults()
	}
	if err := fl.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return cfg, err
		}
		return cfg, fmt.Errorf("%w: %w", errUsage, err)
	}
	if fl.NArg() > 0 {
		return cfg, fmt.Errorf("%w: unexpected argument %q", errUsage, fl.Arg(0))
	}
	fl.Visit(func(f *flag.Flag) { cfg.StackSet = cfg.StackSet || f.Name == "stack" })
	if cfg.StackSet && strings.TrimSpace(cfg.Stack) == "" {
		return cfg, fmt.Errorf("%w: -stack is empty", errUsage)
	}
	if cfg.URL != "" {
		if err := checkURL(cfg.URL); err != nil {
			return cfg, fmt.Errorf("%w: -url: %w", errUsage, err)
		}
	}
	if cfg.StripeKey == "" {
		cfg.StripeKey = getenv("STRIPE_KEY")
	}
	if strings.TrimSpace(cfg.StripeKey) == "" {
		return cfg, fmt.Errorf("%w: no Stripe key: set STRIPE_KEY or pass -stripe-key", errUsage)
	}
	cfg.StripeAPIBase = getenv("STRIPE_API_BASE")
	return cfg, nil
}

// checkURL accepts an absolute http or https URL with a host.
func checkURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("not a URL: %w", err)
	}
	if (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("%q is not an absolute https URL", s)
	}
	return nil
}
