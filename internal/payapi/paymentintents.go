package payapi

import (
	"context"
	"net/http"

	"github.com/stripe/stripe-go/v76"
)

// createPaymentIntentRequest is the body of POST /payment-intents.
type createPaymentIntentRequest struct {
	Amount        *int64            `json:"amount"`
	Currency      *string           `json:"currency"`
	Customer      *string           `json:"customer"`
	CaptureMethod *string           `json:"capture_method"`
	Description   *string           `json:"description"`
	ReceiptEmail  *string           `json:"receipt_email"`
	Metadata      map[string]string `json:"metadata"`
}

// createdPaymentIntent answers POST /payment-intents: what a browser needs
// to confirm the payment with Stripe.js.
type createdPaymentIntent struct {
	ID             string `json:"id"`
	ClientSecret   string `json:"client_secret"`
	PublishableKey string `json:"publishable_key"`
	Amount         int64  `json:"amount"`
	Currency       string `json:"currency"`
	Status         string `json:"status"`
}

// paymentIntent answers the other payment intent routes.
type paymentIntent struct {
	ID             string `json:"id"`
	Status         string `json:"status"`
	Amount         int64  `json:"amount"`
	AmountReceived int64  `json:"amount_received"`
	Currency       string `json:"currency"`
	CaptureMethod  string `json:"capture_method"`
}

func viewPaymentIntent(pi *stripe.PaymentIntent) paymentIntent {
	return paymentIntent{
		ID: pi.ID, Status: string(pi.Status), Amount: pi.Amount, AmountReceived: pi.AmountReceived,
		Currency: string(pi.Currency), CaptureMethod: string(pi.CaptureMethod),
	}
}

// createPaymentIntent serves POST /payment-intents.
func (h *Handler) createPaymentIntent(ctx context.Context, c *call) (int, any, error) {
	var req createPaymentIntentRequest
	if err := c.decode(&req); err != nil {
		return 0, nil, err
	}
	if err := checkAmount("amount", req.Amount, true); err != nil {
		return 0, nil, err
	}
	currency, err := checkCurrency("currency", req.Currency)
	if err != nil {
		return 0, nil, err
	}
	for _, err := range []error{
		checkID("customer", "cus_", req.Customer, false),
		checkEnum("capture_method", req.CaptureMethod, string(stripe.PaymentIntentCaptureMethodAutomatic), string(stripe.PaymentIntentCaptureMethodManual)),
		checkText("description", req.Description, maxDescription),
		checkEmail("receipt_email", req.ReceiptEmail, false),
		checkMetadata("metadata", req.Metadata),
	} {
		if err != nil {
			return 0, nil, err
		}
	}
	pk, err := publishableKey(c)
	if err != nil {
		return 0, nil, err
	}
	params := &stripe.PaymentIntentParams{
		Amount:        req.Amount,
		Currency:      stripe.String(currency),
		Customer:      req.Customer,
		CaptureMethod: req.CaptureMethod,
		Description:   req.Description,
		ReceiptEmail:  req.ReceiptEmail,
		Metadata:      req.Metadata,
	}
	c.write(&params.Params)
	pi, err := c.stripe.PaymentIntents.New(params)
	if err != nil {
		return 0, nil, stripeFailed("create payment intent", err)
	}
	c.seen(pi.LastResponse)
	return http.StatusCreated, createdPaymentIntent{
		ID: pi.ID, ClientSecret: pi.ClientSecret, PublishableKey: pk,
		Amount: pi.Amount, Currency: string(pi.Currency), Status: string(pi.Status),
	}, nil
}

// publishableKey returns STRIPE_PUBLISHABLE_KEY, which routes handing out
// a client secret need: without it the browser cannot use the secret.
func publishableKey(c *call) (string, error) {
	pk := c.secrets[PublishableKeySecret]
	if pk == "" {
		return "", &apiError{status: http.StatusServiceUnavailable, msg: "payment provider is not configured", err: errNoPublishableKey}
	}
	return pk, nil
}

// pathID returns the {id} path value after checking it has prefix.
func pathID(c *call, prefix string) (string, error) {
	id := c.r.PathValue("id")
	if err := checkID("id", prefix, &id, true); err != nil {
		return "", err
	}
	return id, nil
}

// getPaymentIntent serves GET /payment-intents/{id}.
func (h *Handler) getPaymentIntent(ctx context.Context, c *call) (int, any, error) {
	id, err := pathID(c, "pi_")
	if err != nil {
		return 0, nil, err
	}
	params := &stripe.PaymentIntentParams{}
	c.read(&params.Params)
	pi, err := c.stripe.PaymentIntents.Get(id, params)
	if err != nil {
		return 0, nil, stripeFailed("get payment intent", err)
	}
	c.seen(pi.LastResponse)
	return http.StatusOK, viewPaymentIntent(pi), nil
}

// captureRequest is the optional body of POST /payment-intents/{id}/capture.
type captureRequest struct {
	AmountToCapture *int64 `json:"amount_to_capture"`
}

// capturePaymentIntent serves POST /payment-intents/{id}/capture.
func (h *Handler) capturePaymentIntent(ctx context.Context, c *call) (int, any, error) {
	id, err := pathID(c, "pi_")
	if err != nil {
		return 0, nil, err
	}
	var req captureRequest
	if err := c.decode(&req); err != nil {
		return 0, nil, err
	}
	if err := checkAmount("amount_to_capture", req.AmountToCapture, false); err != nil {
		return 0, nil, err
	}
	params := &stripe.PaymentIntentCaptureParams{AmountToCapture: req.AmountToCapture}
	c.write(&params.Params)
	pi, err := c.stripe.PaymentIntents.Capture(id, params)
	if err != nil {
		return 0, nil, stripeFailed("capture payment intent", err)
	}
	c.seen(pi.LastResponse)
	return http.StatusOK, viewPaymentIntent(pi), nil
}

// cancelPaymentIntent serves POST /payment-intents/{id}/cancel. Its body,
// if any, is an empty object.
func (h *Handler) cancelPaymentIntent(ctx context.Context, c *call) (int, any, error) {
	id, err := pathID(c, "pi_")
	if err != nil {
		return 0, nil, err
	}
	if err := c.decode(&struct{}{}); err != nil {
		return 0, nil, err
	}
	params := &stripe.PaymentIntentCancelParams{}
	c.write(&params.Params)
	pi, err := c.stripe.PaymentIntents.Cancel(id, params)
	if err != nil {
		return 0, nil, stripeFailed("cancel payment intent", err)
	}
	c.seen(pi.LastResponse)
	return http.StatusOK, viewPaymentIntent(pi), nil
}
