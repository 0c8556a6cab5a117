package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/webhookendpoint"

	"stripetask/dispatch"
	"stripetask/handler"
	"stripetask/internal/stripeclient"
)

// Config is one run of the command: the flags, and the clients it talks
// through. Nil clients are the real ones (see run).
type Config struct {
	// Stack is the CloudFormation stack whose outputs WebhookUrl and
	// SecretArn are read when URL or SecretID is not given.
	Stack string
	// StackSet reports that -stack was given explicitly: the stack is then
	// read for SecretArn even when URL is given.
	StackSet bool
	// URL is the webhook URL; empty: the stack's WebhookUrl output.
	URL string
	// SecretID is the Secrets Manager secret a new endpoint's signing secret
	// is stored in; empty: the stack's SecretArn output.
	SecretID string
	// StripeKey is the Stripe API key; StripeAPIBase, if set, the base URL
	// of the Stripe API (stripe-mock).
	StripeKey, StripeAPIBase string
	// AllEvents subscribes to "*"; allowed only for a Handler with Default.
	AllEvents bool
	// DryRun prints the plan and makes no Stripe or Secrets Manager writes.
	DryRun bool
	// AllowAPIVersionMismatch updates an existing endpoint whose
	// api_version is not stripe.APIVersion instead of failing.
	AllowAPIVersionMismatch bool
	// Connect creates or updates the Connect endpoint (connect=true) of
	// the URL, which delivers the connected accounts' events, rather than
	// the account endpoint; its signing secret is appended to
	// STRIPE_WEBHOOK_SECRET.
	Connect bool

	// Handler builds the dispatcher whose event table is registered; nil:
	// dispatch.New(handler.Handler{}).
	Handler func() (*dispatch.Dispatcher, error)
	// Stripe returns the webhook endpoint API for a key and base URL; nil:
	// stripe-go's client, as stripeclient builds it.
	Stripe func(key, apiBase string) EndpointsAPI
	// AWS returns the AWS clients; nil: clients from the SDK's standard
	// configuration. It is called at most once, and only when needed.
	AWS func(ctx context.Context) (AWSClients, error)
}

// EndpointsAPI is the part of stripe-go's webhook endpoint client the
// command uses; *webhookendpoint.Client implements it.
type EndpointsAPI interface {
	List(params *stripe.WebhookEndpointListParams) *webhookendpoint.Iter
	New(params *stripe.WebhookEndpointParams) (*stripe.WebhookEndpoint, error)
	Update(id string, params *stripe.WebhookEndpointParams) (*stripe.WebhookEndpoint, error)
	Del(id string, params *stripe.WebhookEndpointParams) (*stripe.WebhookEndpoint, error)
}

// AWSClients are the AWS APIs the command uses.
type AWSClients struct {
	CloudFormation DescribeStacksAPI
	SecretsManager SecretsAPI
}

// Stack outputs the command reads.
const (
	OutputWebhookURL = "WebhookUrl"
	OutputSecretARN  = "SecretArn"
)

// SigningSecretName is the key of the signing secret(s) in the secret's JSON.
const SigningSecretName = "STRIPE_WEBHOOK_SECRET"

// EndpointIDName is the key of the endpoint's id (we_...) in the secret's
// JSON: the reconciler's watchdog reads the endpoint it names
// (reconcile.EndpointIDSecret).
const EndpointIDName = "STRIPE_WEBHOOK_ENDPOINT_ID"

// EndpointDescription is the description of endpoints the command creates.
const EndpointDescription = "stripetask"

// ConnectSecretName is the key of the Connect endpoint's signing secret(s)
// in the secret's JSON: they are in STRIPE_WEBHOOK_SECRET too, after the
// account endpoint's; this key says which they are.
const ConnectSecretName = "STRIPE_WEBHOOK_CONNECT_SECRET"

// scopeKey is the metadata key of the endpoints the command creates: its
// value, "account" or "connect", tells the two endpoints of one URL apart
// (the API does not say whether an endpoint is a Connect one). Endpoints
// without it are account endpoints.
const scopeKey = "stripetask_scope"

func apiVersion() string { return stripe.APIVersion }

func defaultHandler() (*dispatch.Dispatcher, error) { return dispatch.New(handler.Handler{}) }

func defaultStripe(key, apiBase string) EndpointsAPI {
	api := stripeclient.New(key, apiBase, &http.Client{Timeout: stripeclient.DefaultTimeout}, slog.New(slog.DiscardHandler))
	return api.WebhookEndpoints
}

func defaultAWS(ctx context.Context) (AWSClients, error) {
	cfg, err := config.LoadDefaultConfig(ctx, config.WithRetryer(func() aws.Retryer {
		return retry.AddWithMaxAttempts(retry.NewStandard(), 3)
	}))
	if err != nil {
		return AWSClients{}, fmt.Errorf("loading AWS configuration: %w", err)
	}
	return AWSClients{
		CloudFormation: cloudformation.NewFromConfig(cfg),
		SecretsManager: secretsmanager.NewFromConfig(cfg),
	}, nil
}

// ErrAPIVersion reports an existing endpoint whose api_version is not
// stripe-go's.
var ErrAPIVersion = errors.New("webhook endpoint api_version mismatch")

// run registers the webhook as cfg says, reporting each step on stdout.
func run(ctx context.Context, cfg Config, stdout io.Writer) error {
	if cfg.Handler == nil {
		cfg.Handler = defaultHandler
	}
	if cfg.Stripe == nil {
		cfg.Stripe = defaultStripe
	}
	if cfg.AWS == nil {
		cfg.AWS = defaultAWS
	}
	awsClients := sync.OnceValues(func() (AWSClients, error) { return cfg.AWS(ctx) })

	d, err := cfg.Handler()
	if err != nil {
		return fmt.Errorf("checking the Handler: %w", err)
	}
	events, note, err := enabledEvents(d, cfg.AllEvents)
	if err != nil {
		return err
	}
	if note != "" {
		fmt.Fprintln(stdout, note)
	}

	target, err := resolveTarget(ctx, cfg, awsClients)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "webhook URL: %s (%s)\n", target.url, target.urlFrom)

	api := cfg.Stripe(cfg.StripeKey, cfg.StripeAPIBase)
	existing, err := findEndpoint(ctx, api, target.url, cfg.Connect)
	if err != nil {
		return err
	}
	if existing != nil {
		return update(ctx, cfg, api, awsClients, target, existing, events, stdout)
	}
	return create(ctx, cfg, api, awsClients, target, events, stdout)
}

// target is where the endpoint points and where its secret goes.
type target struct {
	url, urlFrom string
	// secretID is empty when neither -secret-id nor a SecretArn output
	// names one; secretFrom says where it came from.
	secretID, secretFrom string
}

// resolveTarget reads the stack when the URL, or the secret id, comes from it.
func resolveTarget(ctx context.Context, cfg Config, awsClients func() (AWSClients, error)) (target, error) {
	t := target{url: cfg.URL, urlFrom: "-url", secretID: cfg.SecretID, secretFrom: "-secret-id"}
	if cfg.URL != "" && !cfg.StackSet {
		return t, nil
	}
	c, err := awsClients()
	if err != nil {
		return t, err
	}
	outputs, err := stackOutputs(ctx, c.CloudFormation, cfg.Stack)
	if err != nil {
		return t, err
	}
	if t.url == "" {
		t.url = outputs[OutputWebhookURL]
		t.urlFrom = fmt.Sprintf("output %s of stack %s", OutputWebhookURL, cfg.Stack)
		if t.url == "" {
			return t, fmt.Errorf("stack %s has no %s output: deploy the template that declares it, or pass -url", cfg.Stack, OutputWebhookURL)
		}
		if err := checkURL(t.url); err != nil {
			return t, fmt.Errorf("stack %s, output %s: %w", cfg.Stack, OutputWebhookURL, err)
		}
	}
	if t.secretID == "" && outputs[OutputSecretARN] != "" {
		t.secretID = outputs[OutputSecretARN]
		t.secretFrom = fmt.Sprintf("output %s of stack %s", OutputSecretARN, cfg.Stack)
	}
	return t, nil
}

// findEndpoint lists every webhook endpoint, page by page, and returns the
// one whose URL is exactly url, or nil: the Connect one with connect, else
// the account one (see scopeKey).
func findEndpoint(ctx context.Context, api EndpointsAPI, url string, connect bool) (*stripe.WebhookEndpoint, error) {
	params := &stripe.WebhookEndpointListParams{}
	params.Limit = stripe.Int64(100)
	params.Context = ctx
	var found []*stripe.WebhookEndpoint
	it := api.List(params)
	for it.Next() {
		if e := it.WebhookEndpoint(); e.URL == url && (e.Metadata[scopeKey] == "connect") == connect {
			found = append(found, e)
		}
	}
	if err := it.Err(); err != nil {
		return nil, fmt.Errorf("listing Stripe webhook endpoints: %w", err)
	}
	switch len(found) {
	case 0:
		return nil, nil
	case 1:
		return found[0], nil
	}
	ids := make([]string, len(found))
	for i, e := range found {
		ids[i] = e.ID
	}
	return nil, fmt.Errorf("%d Stripe webhook endpoints have the URL %s (%s): each would deliver every event again; delete all but one and run register again", len(found), url, strings.Join(ids, ", "))
}

// update brings an existing endpoint's events and status up to date, and
// stores its id in the secret (STRIPE_WEBHOOK_ENDPOINT_ID) if it is not
// there yet. The secret is read and checked before anything is written. It
// never touches the signing secret, in Stripe or in Secrets Manager: Stripe
// shows it only at creation.
func update(ctx context.Context, cfg Config, api EndpointsAPI, awsClients func() (AWSClients, error), t target, e *stripe.WebhookEndpoint, events []string, stdout io.Writer) error {
	if e.APIVersion != stripe.APIVersion {
		have := fmt.Sprintf("api_version %s", e.APIVersion)
		if e.APIVersion == "" {
			have = "no pinned api_version (its events use the account's default API version)"
		}
		if !cfg.AllowAPIVersionMismatch {
			return fmt.Errorf("%w: Stripe webhook endpoint %s for %s has %s, but stripe-go v76 decodes %s, so its events may decode incompletely. "+
				"Stripe cannot change an endpoint's api_version: delete the endpoint (Dashboard > Developers > Webhooks, or `stripe webhook_endpoints delete %[2]s`) "+
				"and run register again to create one pinned to %[5]s (it gets a new signing secret, stored in Secrets Manager). "+
				"Or pass -allow-api-version-mismatch to update its events as it is",
				ErrAPIVersion, e.ID, e.URL, have, stripe.APIVersion)
		}
		fmt.Fprintf(stdout, "warning: endpoint %s has %s, not stripe-go's %s; updating it anyway (-allow-api-version-mismatch)\n", e.ID, have, stripe.APIVersion)
	}

	// Where the endpoint's id goes, checked before anything is written. The
	// Connect endpoint's id is not stored: the reconciler watches the
	// account endpoint.
	var secrets SecretsAPI
	storeID := false
	if cfg.Connect {
		t.secretID = ""
	} else if t.secretID == "" {
		fmt.Fprintf(stdout, "note: no Secrets Manager secret to store the endpoint's id in as %s (pass -secret-id, or give stack %s a %s output); the reconciler cannot watch the endpoint without it\n", EndpointIDName, cfg.Stack, OutputSecretARN)
	} else {
		c, err := awsClients()
		if err != nil {
			return err
		}
		cur, err := readSecret(ctx, c.SecretsManager, t.secretID)
		if err != nil {
			return fmt.Errorf("%w (checked before updating the Stripe webhook endpoint; nothing was changed)", err)
		}
		secrets, storeID = c.SecretsManager, cur.endpointID != e.ID
	}

	added, removed := diff(e.EnabledEvents, events)
	disabled := e.Status == "disabled"
	switch {
	case len(added) == 0 && len(removed) == 0 && !disabled:
		fmt.Fprintf(stdout, "webhook endpoint %s is up to date: %s\n", e.ID, eventList(events))
	case cfg.DryRun:
		printUpdate(stdout, "dry run: would update", e, events, added, removed, disabled)
	default:
		params := &stripe.WebhookEndpointParams{EnabledEvents: stripe.StringSlice(events)}
		if disabled {
			params.Disabled = stripe.Bool(false)
		}
		params.Context = ctx
		if _, err := api.Update(e.ID, params); err != nil {
			return fmt.Errorf("updating Stripe webhook endpoint %s: %w", e.ID, err)
		}
		printUpdate(stdout, "updated", e, events, added, removed, disabled)
	}

	switch {
	case t.secretID == "":
	case !storeID:
		fmt.Fprintf(stdout, "%s in %s is up to date\n", EndpointIDName, t.secretID)
	case cfg.DryRun:
		fmt.Fprintf(stdout, "  would write %s to %s (%s)\n", EndpointIDName, t.secretID, t.secretFrom)
	default:
		if err := writeSecret(ctx, secrets, t.secretID, secretUpdate{endpointID: e.ID}); err != nil {
			return fmt.Errorf("the webhook endpoint %s is registered, but %w: run register again to store its id", e.ID, err)
		}
		fmt.Fprintf(stdout, "wrote %s to %s\n", EndpointIDName, t.secretID)
	}
	if cfg.DryRun {
		fmt.Fprintln(stdout, "dry run: nothing changed")
	}
	return nil
}

// printUpdate describes an update of endpoint e.
func printUpdate(w io.Writer, verb string, e *stripe.WebhookEndpoint, events, added, removed []string, disabled bool) {
	fmt.Fprintf(w, "%s webhook endpoint %s (api_version %s)\n", verb, e.ID, orNone(e.APIVersion))
	fmt.Fprintf(w, "  enabled_events: %s\n", eventList(events))
	if len(added) > 0 {
		fmt.Fprintf(w, "  added: %s\n", strings.Join(added, ", "))
	}
	if len(removed) > 0 {
		fmt.Fprintf(w, "  removed: %s\n", strings.Join(removed, ", "))
	}
	if disabled {
		fmt.Fprintf(w, "  status: disabled -> enabled\n")
	}
	fmt.Fprintf(w, "  signing secret: unchanged\n")
}

// create makes a new endpoint and stores its signing secret and its id, in
// one write. The secret is checked first, so that a signing secret is never
// created with nowhere to go; if storing it fails all the same, the new
// endpoint is deleted again.
func create(ctx context.Context, cfg Config, api EndpointsAPI, awsClients func() (AWSClients, error), t target, events []string, stdout io.Writer) error {
	if t.secretID == "" {
		return fmt.Errorf("no Stripe webhook endpoint has the URL %s, and a new one's signing secret needs a Secrets Manager secret to go to: pass -secret-id, or give stack %s a %s output", t.url, cfg.Stack, OutputSecretARN)
	}
	c, err := awsClients()
	if err != nil {
		return err
	}
	cur, err := readSecret(ctx, c.SecretsManager, t.secretID)
	if err != nil {
		return fmt.Errorf("%w (checked before creating the Stripe webhook endpoint; nothing was created)", err)
	}

	verb := "creating"
	if cfg.DryRun {
		verb = "dry run: would create"
	}
	kind := "webhook endpoint"
	if cfg.Connect {
		kind = "Connect webhook endpoint (connect=true)"
	}
	fmt.Fprintf(stdout, "%s %s for %s (api_version %s)\n", verb, kind, t.url, stripe.APIVersion)
	fmt.Fprintf(stdout, "  enabled_events: %s\n", eventList(events))
	keep := "no previous signing secret"
	if cur.previous != "" {
		keep = "previous signing secret kept after it"
	}
	if cfg.DryRun {
		planned := secretUpdate{signingSecret: "new", endpointID: "new"}
		if cfg.Connect {
			planned, keep = secretUpdate{connectSecret: "new"}, "appended after the account endpoint's"
		}
		fmt.Fprintf(stdout, "  would write %s to %s (%s; %s)\n", planned.names(), t.secretID, t.secretFrom, keep)
		fmt.Fprintln(stdout, "dry run: nothing changed")
		return nil
	}

	params := &stripe.WebhookEndpointParams{
		URL:           stripe.String(t.url),
		EnabledEvents: stripe.StringSlice(events),
		APIVersion:    stripe.String(stripe.APIVersion),
		Description:   stripe.String(EndpointDescription),
	}
	params.AddMetadata(scopeKey, "account")
	if cfg.Connect {
		params.Connect = stripe.Bool(true)
		params.Description = stripe.String(EndpointDescription + " (Connect)")
		params.AddMetadata(scopeKey, "connect")
	}
	params.Context = ctx
	e, err := api.New(params)
	if err != nil {
		return fmt.Errorf("creating Stripe webhook endpoint for %s: %w", t.url, err)
	}
	fmt.Fprintf(stdout, "created webhook endpoint %s\n", e.ID)
	if e.Secret == "" {
		return rollback(ctx, api, e.ID, fmt.Errorf("Stripe returned no signing secret for the new endpoint %s", e.ID))
	}
	u := secretUpdate{signingSecret: e.Secret, endpointID: e.ID}
	if cfg.Connect {
		u = secretUpdate{connectSecret: e.Secret}
	}
	if err := writeSecret(ctx, c.SecretsManager, t.secretID, u); err != nil {
		return rollback(ctx, api, e.ID, err)
	}
	fmt.Fprintf(stdout, "wrote %s to %s\n", u.names(), t.secretID)
	return nil
}

// rollback deletes the endpoint created by this run, whose signing secret
// could not be stored, and returns cause with what became of it.
func rollback(ctx context.Context, api EndpointsAPI, id string, cause error) error {
	params := &stripe.WebhookEndpointParams{}
	params.Context = context.WithoutCancel(ctx)
	if _, err := api.Del(id, params); err != nil {
		return fmt.Errorf("%w; deleting the new endpoint %s failed too (%w): delete it yourself (Dashboard > Developers > Webhooks), since its signing secret is lost, and run register again", cause, id, err)
	}
	return fmt.Errorf("%w; deleted the new endpoint %s again: fix the cause and run register again", cause, id)
}

// diff returns the events in want but not in have, and those in have but
// not in want, each sorted.
func diff(have, want []string) (added, removed []string) {
	for _, e := range want {
		if !slices.Contains(have, e) {
			added = append(added, e)
		}
	}
	for _, e := range have {
		if !slices.Contains(want, e) {
			removed = append(removed, e)
		}
	}
	slices.Sort(added)
	slices.Sort(removed)
	return added, removed
}

func eventList(events []string) string {
	return fmt.Sprintf("(%d) %s", len(events), strings.Join(events, ", "))
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
