// Command hello is the smallest aws-lambda-go function that answers an HTTP
// event: the baseline the cold-start benchmark measures the webhook against.
// It lives under testdata so that `go build ./...` and `go vet ./...` skip
// it; lambdarie.Build builds it by its path, lambdarie.HelloPackage.
package main

import (
	"context"
	"encoding/json"

	"github.com/aws/aws-lambda-go/lambda"
)

// response is an API Gateway HTTP API (payload 2.0) response.
type response struct {
	StatusCode int               `json:"statusCode"`
	Headers    map[string]string `json:"headers"`
	Body       string            `json:"body"`
}

// hello answers every event alike.
func hello(ctx context.Context, event json.RawMessage) (response, error) {
	return response{
		StatusCode: 200,
		Headers:    map[string]string{"Content-Type": "application/json"},
		Body:       `{"status":"hello"}`,
	}, nil
}

func main() {
	lambda.Start(hello)
}
