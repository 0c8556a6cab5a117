package reconcile

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/client"

	"stripetask/secrets"
)

// EndpointIDSecret names the secret holding the id (we_...) of the Stripe
// webhook endpoint that delivers to the webhook function; `make register`
// (cmd/register) stores it beside the endpoint's signing secret.
const EndpointIDSecret = "STRIPE_WEBHOOK_ENDPOINT_ID"

// Endpoint statuses of an EndpointCheck.
const (
	EndpointEnabled  = "enabled"
	EndpointDisabled = "disabled"
	// EndpointMissing: Stripe has no endpoint with the id (deleted).
	EndpointMissing = "missing"
	// EndpointUnknown: the endpoint could not be read this pass.
	EndpointUnknown = "unknown"
	// EndpointNotWatched: no EndpointIDSecret.
	EndpointNotWatched = "not_watched"
)

// EndpointCheck is what the watchdog found out about the webhook endpoint.
type EndpointCheck struct {
	// ID is the endpoint's id, from EndpointIDSecret; empty if unset.
	ID string
	// Status is one of the Endpoint* statuses.
	Status string
}

// Down reports whether Stripe delivers nothing to the endpoint: it is
// disabled or gone.
func (c EndpointCheck) Down() bool {
	return c.Status == EndpointDisabled || c.Status == EndpointMissing
}

// Measured reports whether the check yields a value of the EndpointDisabled
// metric: the endpoint was read, or found missing.
func (c EndpointCheck) Measured() bool {
	return c.Status == EndpointEnabled || c.Down()
}

// checkEndpoint reads the webhook endpoint named by the secrets. A disabled
// or missing endpoint is logged as an error (every pass, until it is
// enabled again); an unset id or a failed read as a warning, with every
// secret value of m in Stripe's error replaced by its name. It never fails
// the pass.
func checkEndpoint(ctx context.Context, api *client.API, m secrets.Map, log *slog.Logger) EndpointCheck {
	id := strings.TrimSpace(m[EndpointIDSecret])
	if id == "" {
		log.Warn("the webhook endpoint is not watched: "+EndpointIDSecret+" is not set; `make register` stores it beside the signing secret",
			"secret", EndpointIDSecret)
		return EndpointCheck{Status: EndpointNotWatched}
	}
	params := &stripe.WebhookEndpointParams{}
	params.Context = ctx
	e, err := api.WebhookEndpoints.Get(id, params)
	if err != nil {
		if se, ok := errors.AsType[*stripe.Error](err); ok && (se.HTTPStatusCode == http.StatusNotFound || se.Code == stripe.ErrorCodeResourceMissing) {
			log.Error("webhook endpoint missing: Stripe has no endpoint "+id+", so it delivers no events; run `make register` to create one (and store its id and signing secret); the reconciler catches up meanwhile",
				"endpoint_id", id, "endpoint_status", EndpointMissing)
			return EndpointCheck{ID: id, Status: EndpointMissing}
		}
		// Stripe's error text may quote the API key (stripe-mock echoes a
		// key it refuses; a proxy may echo the request): redacted, as every
		// line of the functions is.
		log.Warn("could not read the webhook endpoint", "endpoint_id", id, "error", m.Redact(err.Error()))
		return EndpointCheck{ID: id, Status: EndpointUnknown}
	}
	if e.Status == EndpointDisabled {
		log.Error("webhook endpoint disabled: Stripe delivers no events to it until it is enabled again "+
			"(Dashboard > Developers > Webhooks, or `stripe webhook_endpoints update "+id+" --disabled=false`); the reconciler catches up meanwhile",
			"endpoint_id", id, "endpoint_status", EndpointDisabled, "url", e.URL)
		return EndpointCheck{ID: id, Status: EndpointDisabled}
	}
	return EndpointCheck{ID: id, Status: EndpointEnabled}
}
