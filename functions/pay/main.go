// Command pay is the payments API function. In AWS Lambda it serves API
// Gateway events; locally, `pay serve` and `pay invoke FILE` run the same
// code without AWS. See the README.
package main

import (
	"context"
	"os"

	"stripetask/internal/bootstrap"
)

func main() {
	os.Exit(bootstrap.Pay(context.Background(), bootstrap.OS()))
}
