// Command webhook is the Stripe webhook function. In AWS Lambda it serves API
// Gateway events; locally, `webhook serve` and `webhook invoke FILE` run the
// same code without AWS. See the README.
package main

import (
	"context"
	"os"

	"stripetask/handler"
	"stripetask/internal/bootstrap"
)

func main() {
	os.Exit(bootstrap.Webhook(context.Background(), handler.Handler{}, bootstrap.OS()))
}
