// Package hungserver gives a test a server that never answers: it listens
// on a 127.0.0.1 port, accepts every connection, reads what the client
// sends, and neither answers nor closes the connection until the test ends.
// It stands for a remote API that hangs (Stripe, DynamoDB, a proxy in
// between), which the local stand-ins of the real services, stripe-mock
// and moto_server, cannot be made to do.
package hungserver

import (
	"net"
	"sync"
	"testing"
)

// Start runs the server for the rest of the test and returns its base URL,
// e.g. "http://127.0.0.1:41234", and a function that reports how many
// connections it has accepted so far. When the test ends, it closes the
// listener and every connection and waits for its goroutines to return.
func Start(tb testing.TB) (url string, accepted func() int) {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	var (
		mu     sync.Mutex
		conns  []net.Conn
		closed bool // by the cleanup: a connection accepted since is closed at once
		wg     sync.WaitGroup
	)
	wg.Go(func() {
		for { // ends when the listener is closed
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			if closed {
				mu.Unlock()
				c.Close()
				return
			}
			conns = append(conns, c)
			mu.Unlock()
			// Read the request, so that a client is never held up
			// sending it, only waiting for the answer.
			wg.Go(func() {
				buf := make([]byte, 4096)
				for { // ends when the connection is closed
					if _, err := c.Read(buf); err != nil {
						return
					}
				}
			})
		}
	})
	tb.Cleanup(func() {
		l.Close()
		mu.Lock()
		closed = true
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return "http://" + l.Addr().String(), func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(conns)
	}
}
