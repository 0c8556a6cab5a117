package deploycheck

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"stripetask/internal/fixture"
)

// localEnv is this process's environment without the settings that would
// change what the local targets and scripts do: Stripe and pay secrets,
// make's own variables (a `make test PORT=...` must not leak into the
// checks), and Lambda's.
func localEnv(extra ...string) []string {
	drop := []string{"STRIPE_", "PAY_API_KEY=", "ALLOWED_ORIGINS=", "BASIC_AUTH=", "SECRETS_ID=", "DEDUP_TABLE=",
		"AWS_LAMBDA_RUNTIME_API=", "MAKEFLAGS=", "MFLAGS=", "MAKELEVEL=", "HOST=", "PORT=", "PAY_PORT=", "EVENT=", "LOCAL_WEBHOOK_SECRET=", "RUN_LOCAL_BUILD_DIR="}
	var env []string
next:
	for _, kv := range os.Environ() {
		for _, d := range drop {
			if strings.HasPrefix(kv, d) {
				continue next
			}
		}
		env = append(env, kv)
	}
	return append(env, extra...)
}

// makeN returns what make would run for args, without running it.
func makeN(t *testing.T, env []string, args ...string) string {
	t.Helper()
	bin, err := exec.LookPath("make")
	if err != nil {
		t.Fatalf("make is needed for the Makefile's checks: %v", err)
	}
	cmd := exec.Command(bin, append([]string{"-n", "--no-print-directory"}, args...)...)
	cmd.Dir = root
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("make -n %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// TestMakeLocalTargets checks the local targets' commands: loopback and the
// documented ports by default, HOST/PORT/PAY_PORT to change them, send
// posting where run listens, events writing copies outside events/, and
// tools providing the Python tools the tests need.
func TestMakeLocalTargets(t *testing.T) {
	env := localEnv()
	tests := []struct {
		args     []string
		env      []string
		want     []string
		wantNone []string
	}{
		{args: []string{"run"}, want: []string{"./scripts/run-local webhook 127.0.0.1:3000"}},
		{args: []string{"run-pay"}, want: []string{"./scripts/run-local pay 127.0.0.1:3001"}},
		{args: []string{"run", "HOST=0.0.0.0", "PORT=4000"}, want: []string{"./scripts/run-local webhook 0.0.0.0:4000"}},
		{args: []string{"run-pay", "PAY_PORT=4001"}, want: []string{"./scripts/run-local pay 127.0.0.1:4001"}},
		// Shells may export HOST as the machine's name: only make's command line sets it.
		{args: []string{"run"}, env: []string{"HOST=somehost", "PORT=4002"}, want: []string{"./scripts/run-local webhook 127.0.0.1:4002"}},
		{args: []string{"send", "EVENT=charge.succeeded"}, want: []string{"./cmd/send", "-url http://127.0.0.1:3000/webhook \"charge.succeeded\""}},
		{args: []string{"send", "EVENT=events/rest-api/charge.succeeded.json", "HOST=0.0.0.0", "PORT=4000"}, want: []string{"-url http://127.0.0.1:4000/webhook \"events/rest-api/charge.succeeded.json\""}},
		{args: []string{"events"}, want: []string{"./cmd/events", "-o build "}, wantNone: []string{" -w "}},
		{args: []string{"resign-fixtures"}, want: []string{"./cmd/events", " -w "}},
		{args: []string{"test"}, want: []string{"./scripts/python-tools", `"moto[server]==`, `"cfn-lint==1.`, "go test -race"}},
		{args: []string{"lint-template"}, want: []string{"./scripts/python-tools", "cfn-lint template.yaml"}},
	}
	for _, tt := range tests {
		name := strings.Join(append(append([]string{}, tt.env...), tt.args...), " ")
		t.Run(name, func(t *testing.T) {
			out := makeN(t, append(append([]string{}, env...), tt.env...), tt.args...)
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("make %s does not run %q:\n%s", name, w, out)
				}
			}
			for _, w := range tt.wantNone {
				if strings.Contains(out, w) {
					t.Errorf("make %s runs %q:\n%s", name, w, out)
				}
			}
		})
	}
}

// script returns the path of a script under scripts/.
func script(t *testing.T, name string) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join(root, "scripts", name))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestRunPayRefusesRealKey checks that `make run-pay` never pairs a Stripe
// key of the user's with the local PAY_API_KEY published in the README.
func TestRunPayRefusesRealKey(t *testing.T) {
	for _, key := range []string{"sk_live_51Hdeadbeefdeadbeef", "sk_test_51Hmineminemine", "rk_live_51Hrestricted"} {
		t.Run(key[:8], func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, script(t, "run-local"), "pay", "127.0.0.1:0")
			cmd.Env = localEnv("STRIPE_KEY="+key, "LOCAL_WEBHOOK_SECRET="+fixture.LocalSecret, "RUN_LOCAL_BUILD_DIR="+t.TempDir())
			out, err := cmd.CombinedOutput()
			if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
				t.Fatalf("run-local pay with STRIPE_KEY %s…: %v, want exit status 1\n%s", key[:8], err, out)
			}
			for _, w := range []string{"refusing", "PAY_API_KEY", "pay_local_test_key_0123456789"} {
				if !strings.Contains(string(out), w) {
					t.Errorf("message does not mention %q:\n%s", w, out)
				}
			}
			if strings.Contains(string(out), key) {
				t.Errorf("message shows the key:\n%s", out)
			}
		})
	}
}

// TestRunLocalWebhook runs `make run`'s script as the README has it, with no
// STRIPE_KEY, on a free loopback port: a signed checkout.session.completed
// (whose method calls the Stripe API) is handled, so stripe-mock stands in
// for Stripe; SIGTERM then stops the server and stripe-mock.
func TestRunLocalWebhook(t *testing.T) {
	port := freePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	cmd := exec.Command(script(t, "run-local"), "webhook", addr)
	cmd.Env = localEnv("LOCAL_WEBHOOK_SECRET="+fixture.LocalSecret, "RUN_LOCAL_BUILD_DIR="+t.TempDir())
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait(); pw.Close() }()
	t.Cleanup(func() { syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }) // whatever is left
	var mu sync.Mutex
	var output strings.Builder
	mockURL := make(chan string, 1)
	listening := make(chan struct{}, 1)
	mockLine := regexp.MustCompile(`^stripe-mock: (http://\S+) `)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			mu.Lock()
			output.WriteString(sc.Text() + "\n")
			mu.Unlock()
			if m := mockLine.FindStringSubmatch(sc.Text()); m != nil {
				mockURL <- m[1]
			}
			if strings.Contains(sc.Text(), `"msg":"listening"`) {
				listening <- struct{}{}
			}
		}
	}()
	logs := func() string { mu.Lock(); defer mu.Unlock(); return output.String() }

	// The first run builds the function: allow for a cold build cache.
	select {
	case <-listening:
	case err := <-exited:
		t.Fatalf("run-local exited before listening: %v\n%s", err, logs())
	case <-time.After(3 * time.Minute):
		t.Fatalf("run-local did not listen within 3 minutes:\n%s", logs())
	}
	var mock string
	select {
	case mock = <-mockURL:
	default:
		t.Fatalf("run-local did not say where stripe-mock runs:\n%s", logs())
	}

	raw, err := os.ReadFile(filepath.Join(root, "events", "checkout.session.completed.json"))
	if err != nil {
		t.Fatal(err)
	}
	body := fixtureBody(t, raw)
	req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/webhook", strings.NewReader(string(body)))
	req.Header.Set("Stripe-Signature", fixture.Sign(body, fixture.LocalSecret, time.Now()))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST /webhook: %v\n%s", err, logs())
	}
	respBody, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(respBody), `"handled"`) {
		t.Errorf("POST /webhook: %d %s, want 200 handled\n%s", resp.StatusCode, respBody, logs())
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-exited:
	case <-time.After(20 * time.Second):
		t.Fatalf("run-local did not stop within 20 s of SIGTERM:\n%s", logs())
	}
	for _, a := range []string{addr, strings.TrimPrefix(mock, "http://")} {
		deadline := time.Now().Add(5 * time.Second)
		for {
			c, err := net.DialTimeout("tcp", a, time.Second)
			if err != nil {
				break
			}
			c.Close()
			if time.Now().After(deadline) {
				t.Errorf("%s still accepts connections after run-local stopped", a)
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
}

// fixtureBody returns the Stripe event of a payload 2.0 fixture.
func fixtureBody(t *testing.T, raw []byte) []byte {
	t.Helper()
	var e struct {
		Body string `json:"body"`
	}
	if err := json.Unmarshal(raw, &e); err != nil || e.Body == "" {
		t.Fatalf("fixture body: %v", err)
	}
	return []byte(e.Body)
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// fakePip stands in for a venv's pip: it logs its arguments to $FAKE_PIP_LOG
// and, unless FAKE_PIP=fail, "installs" moto_server and cfn-lint next to
// itself.
const fakePip = `#!/usr/bin/env bash
d=$(dirname "$0")
echo "pip $*" >>"$FAKE_PIP_LOG"
if [[ ${FAKE_PIP:-} == fail ]]; then
	echo "ERROR: Could not find a version that satisfies the requirement" >&2
	exit 1
fi
for t in moto_server cfn-lint; do
	printf '#!/usr/bin/env bash\necho %s\n' "$t" >"$d/$t"
	chmod +x "$d/$t"
done
`

// fakePython stands in for python3: `-m venv DIR` makes DIR/bin with the
// fake pip; the venv's python does nothing.
const fakePython = `#!/usr/bin/env bash
[[ $1 == -m && $2 == venv ]] || exit 3
mkdir -p "$3/bin"
cp "$FAKE_PIP_SRC" "$3/bin/pip"
printf '#!/usr/bin/env bash\n' >"$3/bin/python"
chmod +x "$3/bin/pip" "$3/bin/python"
`

// TestPythonTools runs scripts/python-tools (`make tools`) with a PATH of
// basic commands only, so that moto_server and cfn-lint are missing unless
// a case puts them there, and a fake python3 and pip: PyPI is not needed.
func TestPythonTools(t *testing.T) {
	sys := t.TempDir() // the PATH: basic commands, plus what a case adds
	for _, c := range []string{"bash", "env", "rm", "ln", "mkdir", "chmod", "cp", "dirname", "cat"} {
		p, err := exec.LookPath(c)
		if err != nil {
			t.Fatalf("%s: %v", c, err)
		}
		if err := os.Symlink(p, filepath.Join(sys, c)); err != nil {
			t.Fatal(err)
		}
	}
	helpers := t.TempDir()
	write := func(path, content string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(content), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(helpers, "pip"), fakePip)
	write(filepath.Join(helpers, "python3"), fakePython)
	pins := []string{"moto[server]==5.2.1", "cfn-lint==1.51.0", "aws-sam-translator==1.110.0"}

	type result struct {
		code           int
		stderr, pipLog string
	}
	run := func(t *testing.T, bin, path string, pins []string, extra ...string) result {
		t.Helper()
		log := filepath.Join(t.TempDir(), "pip.log")
		cmd := exec.Command(filepath.Join(sys, "bash"), append([]string{script(t, "python-tools"), bin}, pins...)...)
		cmd.Env = append([]string{"PATH=" + path, "HOME=" + t.TempDir(), "FAKE_PIP_SRC=" + filepath.Join(helpers, "pip"), "FAKE_PIP_LOG=" + log,
			"PYTHON=" + filepath.Join(helpers, "python3")}, extra...)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		pipLog, _ := os.ReadFile(log)
		return result{code, stderr.String(), string(pipLog)}
	}
	linked := func(t *testing.T, bin, tool string) bool {
		t.Helper()
		target, err := os.Readlink(filepath.Join(bin, tool))
		return err == nil && target == filepath.Join("venv", "bin", tool)
	}

	t.Run("on PATH", func(t *testing.T) {
		onPath := t.TempDir()
		write(filepath.Join(onPath, "moto_server"), "#!/bin/sh\n")
		write(filepath.Join(onPath, "cfn-lint"), "#!/bin/sh\n")
		bin := t.TempDir()
		r := run(t, bin, sys+":"+onPath, pins)
		if r.code != 0 || r.stderr != "" || r.pipLog != "" {
			t.Errorf("exit %d, stderr %q, pip %q: want a silent success", r.code, r.stderr, r.pipLog)
		}
		if _, err := os.Stat(filepath.Join(bin, "venv")); !os.IsNotExist(err) {
			t.Errorf("a venv was made (%v)", err)
		}
	})

	t.Run("installs into a venv", func(t *testing.T) {
		bin := t.TempDir()
		r := run(t, bin, sys, pins)
		if r.code != 0 {
			t.Fatalf("exit %d:\n%s", r.code, r.stderr)
		}
		if want := "pip install --disable-pip-version-check --quiet " + strings.Join(pins, " ") + "\n"; r.pipLog != want {
			t.Errorf("pip ran as %q, want %q", r.pipLog, want)
		}
		for _, tool := range []string{"moto_server", "cfn-lint"} {
			if !linked(t, bin, tool) {
				t.Errorf("%s/%s is not a link to venv/bin/%s", bin, tool, tool)
			}
		}
		// Once linked, nothing more is installed...
		if r := run(t, bin, sys, pins); r.code != 0 || r.pipLog != "" || r.stderr != "" {
			t.Errorf("second run: exit %d, pip %q, stderr %q; want nothing done", r.code, r.pipLog, r.stderr)
		}
		// ...until the Makefile's pins change.
		newPins := []string{"moto[server]==5.2.2", "cfn-lint==1.51.0", "aws-sam-translator==1.110.0"}
		if r := run(t, bin, sys, newPins); r.code != 0 || !strings.Contains(r.pipLog, "moto[server]==5.2.2") {
			t.Errorf("new pins: exit %d, pip %q; want them installed\n%s", r.code, r.pipLog, r.stderr)
		}
	})

	t.Run("only the missing one", func(t *testing.T) {
		onPath := t.TempDir()
		write(filepath.Join(onPath, "moto_server"), "#!/bin/sh\n")
		bin := t.TempDir()
		r := run(t, bin, sys+":"+onPath, pins)
		if r.code != 0 || !linked(t, bin, "cfn-lint") {
			t.Fatalf("exit %d, cfn-lint linked %v:\n%s", r.code, linked(t, bin, "cfn-lint"), r.stderr)
		}
		if _, err := os.Lstat(filepath.Join(bin, "moto_server")); !os.IsNotExist(err) {
			t.Errorf("moto_server on PATH was shadowed by a link (%v)", err)
		}
	})

	t.Run("pip fails", func(t *testing.T) {
		bin := t.TempDir()
		r := run(t, bin, sys, pins, "FAKE_PIP=fail")
		if r.code != 1 {
			t.Fatalf("exit %d, want 1:\n%s", r.code, r.stderr)
		}
		for _, w := range []string{"moto_server cfn-lint", "pip could not install", "PyPI", "PIP_INDEX_URL", "put them on PATH"} {
			if !strings.Contains(r.stderr, w) {
				t.Errorf("message does not mention %q:\n%s", w, r.stderr)
			}
		}
		for _, tool := range []string{"moto_server", "cfn-lint"} {
			if _, err := os.Lstat(filepath.Join(bin, tool)); !os.IsNotExist(err) {
				t.Errorf("%s linked although pip failed", tool)
			}
		}
	})

	t.Run("no venv module", func(t *testing.T) {
		noVenv := filepath.Join(t.TempDir(), "python3")
		write(noVenv, "#!/usr/bin/env bash\necho 'No module named venv' >&2\nexit 1\n")
		bin := t.TempDir()
		r := run(t, bin, sys, pins, "PYTHON="+noVenv)
		if r.code != 1 || !strings.Contains(r.stderr, "python3-venv") {
			t.Errorf("exit %d, want 1 and a message naming python3-venv:\n%s", r.code, r.stderr)
		}
		if _, err := os.Stat(filepath.Join(bin, "venv")); !os.IsNotExist(err) {
			t.Errorf("a broken venv was left behind (%v)", err)
		}
	})

	t.Run("no python", func(t *testing.T) {
		r := run(t, t.TempDir(), sys, pins, "PYTHON=no-such-python3")
		if r.code != 1 || !strings.Contains(r.stderr, "install Python 3 (with pip and venv)") {
			t.Errorf("exit %d, want 1 and a message naming Python 3:\n%s", r.code, r.stderr)
		}
	})
}
