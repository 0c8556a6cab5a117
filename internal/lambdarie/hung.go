package lambdarie

import (
	"net"
	"sync"
	"testing"
)

// HungServer listens on a 127.0.0.1 port for the rest of the test, accepts
// every connection and never answers, nor closes one: a remote API that
// hangs, such as a Stripe API base for a function's deadline. It returns
// the server's base URL, e.g. "http://127.0.0.1:41234", and reports how
// many connections it accepted so far.
func HungServer(tb testing.TB) (url string, accepted func() int) {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	var (
		mu    sync.Mutex
		conns []net.Conn
		done  = make(chan struct{})
	)
	go func() {
		defer close(done)
		for { // ends when the listener is closed
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	tb.Cleanup(func() {
		l.Close()
		<-done
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return "http://" + l.Addr().String(), func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(conns)
	}
}
