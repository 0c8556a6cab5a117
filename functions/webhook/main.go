// Command webhook is the Stripe webhook function. In AWS Lambda it serves API
// Gateway events; locally, `webhook serve` and `webhook invoke FILE` run the
// same code without AWS. See the README.
package main

import (
	"context"
	"os"

	"stripetask/boot"
	"stripetask/handler"
)

func main() {
	os.Exit(boot.Webhook(context.Background(), handler.Handler{}, boot.OS()))
}
