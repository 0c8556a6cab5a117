package payapi

import (
	"context"
	"net/http"

	"github.com/stripe/stripe-go/v76"
)

// createCustomerRequest is the body of POST /customers.
type createCustomerRequest struct {
	Email    *string           `json:"email"`
	Name     *string           `json:"name"`
	Metadata map[string]string `json:"metadata"`
}

// customer answers POST /customers. Name is null when the customer has none.
type customer struct {
	ID    string  `json:"id"`
	Email string  `json:"email"`
	Name  *string `json:"name"`
}

// createCustomer serves POST /customers.
func (h *Handler) createCustomer(ctx context.Context, c *call) (int, any, error) {
	var req createCustomerRequest
	if err := c.decode(&req); err != nil {
		return 0, nil, err
	}
	for _, err := range []error{
		checkEmail("email", req.Email, true),
		checkText("name", req.Name, maxName),
		checkMetadata("metadata", req.Metadata),
	} {
		if err != nil {
			return 0, nil, err
		}
	}
	params := &stripe.CustomerParams{Email: req.Email, Name: req.Name, Metadata: req.Metadata}
	c.write(&params.Params)
	cus, err := c.stripe.Customers.New(params)
	if err != nil {
		return 0, nil, stripeFailed("create customer", err)
	}
	c.seen(cus.LastResponse)
	out := customer{ID: cus.ID, Email: cus.Email}
	if cus.Name != "" {
		out.Name = &cus.Name
	}
	return http.StatusCreated, out, nil
}
