package dispatchtest

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"time"

	"stripetask/internal/devtools"
)

// shared is the kit's one piece of global state: the stripe-mock of the
// test binary, started by the first test that needs it and used by all
// the others, with the objects fetched from it.
var shared struct {
	once    sync.Once
	objects *objects
	err     error
}

// sharedObjects returns the objects of the test binary's stripe-mock,
// starting it on the first call.
func sharedObjects() (*objects, error) {
	shared.once.Do(func() {
		bin, err := devtools.StripeMock(os.Getenv)
		if err != nil {
			shared.err = fmt.Errorf("dispatchtest needs stripe-mock: %w", err)
			return
		}
		api, err := startStripeMock(bin)
		if err != nil {
			shared.err = fmt.Errorf("dispatchtest: %w", err)
			return
		}
		shared.objects = newObjects(api)
	})
	return shared.objects, shared.err
}

// startStripeMock starts stripe-mock from bin on free loopback ports for
// the rest of the process and returns its HTTP base URL.
//
// It is stopped when the process exits, however it exits (a test binary
// killed at its -timeout too): on Linux the kernel sends it SIGKILL when
// the thread that started it ends (the parent-death signal), and that
// thread belongs to a goroutine that waits for stripe-mock and never lets
// it go, so it ends only with the process. Elsewhere stripe-mock outlives
// the test binary.
func startStripeMock(bin string) (string, error) {
	found := make(chan string, 1)
	failed := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with this goroutine
		r, w, err := os.Pipe()
		if err != nil {
			failed <- err
			return
		}
		cmd := exec.Command(bin, "-http-addr", "127.0.0.1:", "-https-addr", "127.0.0.1:")
		cmd.Stdout, cmd.Stderr = w, w
		cmd.SysProcAttr = sysProcAttr()
		err = cmd.Start()
		w.Close()
		if err != nil {
			r.Close()
			failed <- fmt.Errorf("starting stripe-mock (%s): %w", bin, err)
			return
		}
		go func() {
			sc := bufio.NewScanner(r)
			for sc.Scan() { // drains the output until stripe-mock exits
				if addr, ok := strings.CutPrefix(sc.Text(), "Listening for HTTP at address: "); ok {
					select {
					case found <- "http://" + addr:
					default:
					}
				}
			}
			r.Close()
		}()
		err = cmd.Wait()
		failed <- fmt.Errorf("stripe-mock (%s) exited: %v", bin, err)
	}()
	timer := time.NewTimer(30 * time.Second)
	defer timer.Stop()
	select {
	case url := <-found:
		return url, nil
	case err := <-failed:
		return "", err
	case <-timer.C:
		return "", fmt.Errorf("stripe-mock (%s) did not report its address within 30 s", bin)
	}
}
