// Command worker is the queue worker of queue mode (PROCESSING_MODE=queue):
// in AWS Lambda it runs the Stripe events the webhook put on the SQS FIFO
// queue; locally, `worker poll` reads the queue itself. See the README.
package main

import (
	"context"
	"os"

	"stripetask/handler"
	"stripetask/internal/bootstrap"
)

func main() {
	os.Exit(bootstrap.Worker(context.Background(), handler.Handler{}, bootstrap.OS()))
}
