package payapi

import (
	"context"
	"net/http"
	"slices"
	"strconv"

	"github.com/stripe/stripe-go/v76"
)

// maxCheckoutQuantity bounds the quantity of POST /checkout.
const maxCheckoutQuantity = 100

// checkoutRequest is the body of POST /checkout. It has no amount: the
// amount is the price's, looked up at Stripe, times the quantity.
type checkoutRequest struct {
	Price    *string `json:"price"`
	Quantity *int64  `json:"quantity"`
}

// checkoutResponse answers POST /checkout.
type checkoutResponse struct {
	ClientSecret   string `json:"client_secret"`
	PublishableKey string `json:"publishable_key"`
	Amount         int64  `json:"amount"`
	Currency       string `json:"currency"`
}

// checkout serves POST /checkout, the public route for static pages: it
// creates a payment intent for quantity units of a one-time price. The
// price must be active, one_time, have a fixed unit_amount and, when
// ALLOWED_PRICES is set, be listed there.
func (h *Handler) checkout(ctx context.Context, c *call) (int, any, error) {
	var req checkoutRequest
	if err := c.decode(&req); err != nil {
		return 0, nil, err
	}
	if err := checkID("price", "price_", req.Price, true); err != nil {
		return 0, nil, err
	}
	if err := checkRange("quantity", req.Quantity, 1, maxCheckoutQuantity); err != nil {
		return 0, nil, err
	}
	qty := int64(1)
	if req.Quantity != nil {
		qty = *req.Quantity
	}
	if allowed := c.secrets.List(AllowedPricesSecret); len(allowed) > 0 && !slices.Contains(allowed, *req.Price) {
		return 0, nil, invalid("price", "is not for sale here")
	}
	pk, err := publishableKey(c)
	if err != nil {
		return 0, nil, err
	}

	pp := &stripe.PriceParams{}
	c.read(&pp.Params)
	price, err := c.stripe.Prices.Get(*req.Price, pp)
	if err != nil {
		return 0, nil, stripeFailed("get price", err)
	}
	c.seen(price.LastResponse)
	if err := sellable(price, qty); err != nil {
		return 0, nil, err
	}

	params := &stripe.PaymentIntentParams{
		Amount:   stripe.Int64(price.UnitAmount * qty),
		Currency: stripe.String(string(price.Currency)),
		Metadata: map[string]string{"price": price.ID, "quantity": strconv.FormatInt(qty, 10)},
	}
	c.write(&params.Params)
	pi, err := c.stripe.PaymentIntents.New(params)
	if err != nil {
		return 0, nil, stripeFailed("create payment intent", err)
	}
	c.seen(pi.LastResponse)
	return http.StatusCreated, checkoutResponse{
		ClientSecret: pi.ClientSecret, PublishableKey: pk, Amount: pi.Amount, Currency: string(pi.Currency),
	}, nil
}

// sellable checks that qty units of price can be sold by POST /checkout.
func sellable(price *stripe.Price, qty int64) error {
	switch {
	case !price.Active:
		return invalid("price", "is not active")
	case price.Type != stripe.PriceTypeOneTime:
		return invalid("price", "is not a one-time price")
	case price.UnitAmount <= 0: // null: tiered, custom or decimal-only
		return invalid("price", "has no fixed unit amount")
	case price.TransformQuantity != nil:
		return invalid("price", "transforms quantities, which checkout does not support")
	case price.UnitAmount > MaxAmount/qty: // unit_amount * qty > MaxAmount, without overflow
		return invalid("quantity", "makes the amount exceed %d", MaxAmount)
	}
	return nil
}
