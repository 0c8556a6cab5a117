// Command eventgen generates dispatch/eventtypes_gen.go: a table of every
// EventType constant that stripe-go v76 declares, the dispatch method named
// after it, and the stripe struct types the event's data.object decodes into.
//
// Go reflection cannot enumerate constants, so eventgen parses stripe-go's
// source, located with `go list -m`. It is run from package dispatch by
//
//	//go:generate go run ./internal/eventgen -o eventtypes_gen.go
//
// so regenerate with `go generate ./dispatch/` after bumping stripe-go.
//
// The object of an event is named by the event type minus its final action
// segment ("customer.subscription.created" carries a "customer.subscription").
// Its Go type is the CamelCase of that path, spelled as in the constant name
// ("CustomerSubscription"), or failing that the same with leading segments
// dropped ("Subscription"), whichever package stripe declares first. The
// exceptions table overrides this rule where it is wrong or where an event
// carries one of several kinds of object. eventgen fails if an event type
// ends up with no Go type, or if an exception is unused or names a missing
// type.
//
// Flags:
//
//	-o file   write the generated code to file (required)
//	-v        print every event type with its Go types to standard error
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

func main() {
	out := flag.String("o", "", "output `file`")
	verbose := flag.Bool("v", false, "print every event type with its Go types")
	flag.Parse()
	if *out == "" || flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "usage: eventgen -o file [-v]")
		os.Exit(2)
	}
	if err := run(*out, *verbose); err != nil {
		fmt.Fprintf(os.Stderr, "eventgen: %v\n", err)
		os.Exit(1)
	}
}

func run(out string, verbose bool) error {
	dir, version, err := locateModule()
	if err != nil {
		return err
	}
	src, ms, err := generate(dir, version)
	if err != nil {
		return err
	}
	if verbose {
		printMappings(os.Stderr, ms)
	}
	if err := os.WriteFile(out, src, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "eventgen: wrote %d event types from stripe-go %s to %s\n", len(ms), version, out)
	return nil
}

// printMappings writes one line per event: type, method, Go types, and the
// exception that chose them, if any.
func printMappings(w io.Writer, ms []mapping) {
	for _, m := range ms {
		note := ""
		if x := m.Exception; x != nil {
			note = "  [exception " + x.Match
			if x.Untyped {
				note += ", UNTYPED"
			}
			note += ": " + x.Why + "]"
		}
		fmt.Fprintf(w, "%-58s %-56s %s%s\n", m.Value, m.Method, strings.Join(m.Types, ", "), note)
	}
}
