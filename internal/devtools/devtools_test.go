package devtools

import (
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// tempRepo makes a directory with a go.mod and a bin/, changes into a
// subdirectory of it, and returns the directory.
func tempRepo(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	for _, d := range []string{"bin", filepath.Join("internal", "pkg")} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(root, "go.mod"), []byte("module x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Chdir(filepath.Join(root, "internal", "pkg"))
	return root
}

func executable(t *testing.T, path string) {
	t.Helper()
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
}

func TestModuleRoot(t *testing.T) {
	root := tempRepo(t)
	got, err := ModuleRoot()
	if err != nil || got != root {
		t.Fatalf("ModuleRoot() = %q, %v; want %q", got, err, root)
	}
}

// TestFind checks the order: <repo>/bin, then PATH; and the error.
func TestFind(t *testing.T) {
	root := tempRepo(t)
	onPath := t.TempDir()
	t.Setenv("PATH", onPath)

	if _, err := Find("moto_server"); err == nil || !strings.Contains(err.Error(), "make tools") || !strings.Contains(err.Error(), filepath.Join(root, "bin")) {
		t.Errorf("missing tool: error %v, want one naming %s/bin and `make tools`", err, root)
	}

	executable(t, filepath.Join(onPath, "moto_server"))
	if got, err := Find("moto_server"); err != nil || got != filepath.Join(onPath, "moto_server") {
		t.Errorf("on PATH only: Find = %q, %v", got, err)
	}

	// A link into a venv, as `make tools` makes it, wins over PATH.
	venvBin := filepath.Join(root, "bin", "venv", "bin")
	if err := os.MkdirAll(venvBin, 0o755); err != nil {
		t.Fatal(err)
	}
	executable(t, filepath.Join(venvBin, "moto_server"))
	if err := os.Symlink(filepath.Join("venv", "bin", "moto_server"), filepath.Join(root, "bin", "moto_server")); err != nil {
		t.Fatal(err)
	}
	if got, err := Find("moto_server"); err != nil || got != filepath.Join(root, "bin", "moto_server") {
		t.Errorf("in <repo>/bin: Find = %q, %v", got, err)
	}

	// A dangling link (the venv removed) falls back to PATH.
	if err := os.RemoveAll(filepath.Join(root, "bin", "venv")); err != nil {
		t.Fatal(err)
	}
	if got, err := Find("moto_server"); err != nil || got != filepath.Join(onPath, "moto_server") {
		t.Errorf("dangling link: Find = %q, %v", got, err)
	}
}

func TestStripeMockLookup(t *testing.T) {
	tempRepo(t)
	t.Setenv("PATH", t.TempDir())
	if got, err := StripeMock(func(k string) string { return map[string]string{"STRIPE_MOCK": "/opt/stripe-mock"}[k] }); err != nil || got != "/opt/stripe-mock" {
		t.Errorf("STRIPE_MOCK: %q, %v", got, err)
	}
	_, err := StripeMock(func(string) string { return "" })
	if err == nil || !strings.Contains(err.Error(), "make tools") || !strings.Contains(err.Error(), StripeMockVersion) {
		t.Errorf("missing: error %v, want one naming `make tools` and %s", err, StripeMockVersion)
	}
}

// TestFreeAddr: the address is on loopback, bindable, and outside the
// kernel's ephemeral range.
func TestFreeAddr(t *testing.T) {
	for range 20 {
		addr, err := FreeAddr()
		if err != nil {
			t.Fatal(err)
		}
		host, port, _ := net.SplitHostPort(addr)
		n, _ := strconv.Atoi(port)
		if host != "127.0.0.1" || n < lowestPort || n >= ephemeralStart() {
			t.Fatalf("FreeAddr() = %s: want 127.0.0.1, a port in [%d, %d)", addr, lowestPort, ephemeralStart())
		}
		l, err := net.Listen("tcp", addr)
		if err != nil {
			t.Fatalf("%s is not free: %v", addr, err)
		}
		l.Close()
	}
}
