// Command objectgen generates dispatchtest/objects_gen.go: for every kind
// of object in stripe-mock's OpenAPI specification (the values of the
// "object" field, "charge", "checkout.session", ...), where package
// dispatchtest takes a realistic one from:
//
//   - a GET on stripe-mock: the path of a GET operation whose 200 response
//     is that object (directly or as one of an anyOf, such as a customer or
//     a deleted customer) and that needs no query parameter, its path
//     parameters filled with the ids of stripe-mock's fixtures (stripe-mock
//     answers with its fixture, carrying the ids of the path). Paths ending
//     in the object's own id are preferred, then those with fewer
//     parameters, then the first in lexical order;
//   - where the specification has no such GET: the object of stripe-mock's
//     own fixtures file (fixtures3.json), embedded in the table;
//   - where it has neither, nothing: the kit makes a minimal object.
//
// Both files are read from stripe-mock's module in the module cache (the
// version `make tools` installs, devtools.StripeMockVersion). It is run
// from package dispatchtest by
//
//	//go:generate go run ./internal/objectgen -o objects_gen.go
//
// so regenerate with `go generate ./dispatchtest/` after bumping
// stripe-mock. TestGeneratedIsCurrent fails while the file is stale.
package main

import (
	"flag"
	"fmt"
	"os"
	"stripetask/internal/devtools"
)

func main() {
	out := flag.String("o", "", "output `file`")
	flag.Parse()
	if *out == "" || flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "usage: objectgen -o file")
		os.Exit(2)
	}
	if err := run(*out); err != nil {
		fmt.Fprintf(os.Stderr, "objectgen: %v\n", err)
		os.Exit(1)
	}
}

func run(out string) error {
	dir, err := devtools.StripeMockModule()
	if err != nil {
		return err
	}
	src, err := generate(dir)
	if err != nil {
		return err
	}
	return os.WriteFile(out, src, 0o644)
}
