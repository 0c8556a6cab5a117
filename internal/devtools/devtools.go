// Package devtools finds and runs the local development tools that `make
// tools` provides: stripe-mock (installed into <repo>/bin from the Go module
// proxy), and moto_server and cfn-lint (used from PATH, or installed into a
// Python virtual environment under <repo>/bin and linked there). The tests'
// helpers (internal/stripemock, internal/moto, internal/deploycheck) and the
// functions' local `invoke` mode use it, so that the tools are found whether
// or not <repo>/bin is on PATH. Nothing in it runs in AWS Lambda.
package devtools

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// ModuleRoot returns the repository's root: the nearest directory at or
// above the working directory that holds a go.mod.
func ModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod at or above the working directory")
		}
		dir = parent
	}
}

// Find returns the path of the tool name: <repo>/bin/name when it exists
// (where `make tools` puts or links it), else name on PATH. The error says
// where it looked and to run `make tools`.
func Find(name string) (string, error) {
	where := "./bin"
	if root, err := ModuleRoot(); err == nil {
		p := filepath.Join(root, "bin", name)
		where = filepath.Join(root, "bin")
		if info, err := os.Stat(p); err == nil && !info.IsDir() && info.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	return "", fmt.Errorf("%s not found in %s or on PATH: run `make tools`", name, where)
}
