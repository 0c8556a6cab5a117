package pipeline

import (
	"testing"
	"time"
)

// TestAbandonedWait pins what a source in Lambda learns after its answer:
// nothing abandoned is an immediate no; a run inside its method is a yes;
// a run that returned and is settling is waited for, then a no; one whose
// settling does not end in time is a yes (the environment ends rather than
// freeze it mid-write).
func TestAbandonedWait(t *testing.T) {
	var a abandoned
	if a.wait(t.Context()) {
		t.Fatal("idle: want false")
	}
	if n := testing.AllocsPerRun(100, func() { a.wait(t.Context()) }); n != 0 {
		t.Errorf("idle wait allocates %v times; it runs after every invocation", n)
	}
	a.begin()
	if !a.wait(t.Context()) {
		t.Fatal("a run inside its method: want true")
	}
	a.returned() // settling now
	go func() {
		time.Sleep(50 * time.Millisecond)
		a.settled()
	}()
	if a.wait(t.Context()) {
		t.Fatal("after the settle: want false")
	}
	a.begin()
	a.returned() // settling, and never done
	start := time.Now()
	if !a.wait(t.Context()) {
		t.Fatal("a settle that never ends: want true")
	}
	if d := time.Since(start); d < settleWait {
		t.Fatalf("gave up after %v, before settleWait %v", d, settleWait)
	}
}
