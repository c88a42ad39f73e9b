package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strings"
)

// upstream is what upstream.conf says: the module and version to patch,
// the h1: checksum its files must have, and the paths not to copy.
type upstream struct {
	Module  string
	Version string
	Sum     string
	Omit    []string
}

const confName = "upstream.conf"

// readConf reads dir/upstream.conf: lines of "key value", # comments.
func readConf(dir string) (upstream, []byte, error) {
	name := filepath.Join(dir, confName)
	text, err := os.ReadFile(name)
	if err != nil {
		return upstream{}, nil, fmt.Errorf("read the upstream of %s: %w", dir, err)
	}
	var u upstream
	sc := bufio.NewScanner(bytes.NewReader(text))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		key, value, _ := strings.Cut(line, " ")
		value = strings.TrimSpace(value)
		switch key {
		case "module":
			u.Module = value
		case "version":
			u.Version = value
		case "sum":
			u.Sum = value
		case "omit":
			u.Omit = append(u.Omit, path.Clean(value))
		default:
			return upstream{}, nil, fmt.Errorf("%s:%d: unknown key %q (module, version, sum or omit)", name, n, key)
		}
	}
	if u.Module == "" || u.Version == "" || !strings.HasPrefix(u.Sum, "h1:") {
		return upstream{}, nil, fmt.Errorf("%s: needs a module, a version and an h1: sum", name)
	}
	return u, text, nil
}

// setVersion returns conf with its version and sum lines replaced.
func setVersion(conf []byte, version, sum string) []byte {
	var out bytes.Buffer
	for _, line := range splitLines(conf) {
		key, _, _ := strings.Cut(strings.TrimSpace(line), " ")
		switch key {
		case "version":
			line = "version " + version + "\n"
		case "sum":
			line = "sum " + sum + "\n"
		}
		out.WriteString(line)
	}
	return out.Bytes()
}

// errChecksum is returned when upstream's files are not the ones recorded.
var errChecksum = errors.New("checksum mismatch")

// download fetches module@version through the Go module proxy with the
// ordinary go command (which checks it against the checksum database) and
// returns its directory in the module cache and its h1: checksum.
func download(ctx context.Context, module, version string) (dir, sum string, err error) {
	tmp, err := os.MkdirTemp("", "patchmod-")
	if err != nil {
		return "", "", err
	}
	defer os.RemoveAll(tmp)
	cmd := exec.CommandContext(ctx, "go", "mod", "download", "-json", module+"@"+version)
	cmd.Dir = tmp // outside any module, so no go.mod's replace applies
	cmd.Env = append(os.Environ(), "GOWORK=off", "GO111MODULE=on", "GOFLAGS=-mod=mod")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, runErr := cmd.Output()
	var info struct{ Dir, Sum, Error string }
	if err := json.Unmarshal(out, &info); err != nil || info.Error != "" || runErr != nil {
		reason := strings.TrimSpace(info.Error)
		if reason == "" {
			reason = strings.TrimSpace(stderr.String())
		}
		if reason == "" && runErr != nil {
			reason = runErr.Error()
		}
		return "", "", fmt.Errorf("go mod download %s@%s: %s", module, version, reason)
	}
	return info.Dir, info.Sum, nil
}

// hashDir computes the h1: checksum of a module's extracted files, as
// go.sum records it: the SHA-256 of the sorted lines "<sha256 of file>
// <module@version/path>", in base64.
func hashDir(dir, prefix string) (string, error) {
	var names []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		names = append(names, filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("hash %s: %w", dir, err)
	}
	sort.Strings(names)
	summary := sha256.New()
	for _, name := range names {
		data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(name)))
		if err != nil {
			return "", fmt.Errorf("hash %s: %w", dir, err)
		}
		fmt.Fprintf(summary, "%x  %s\n", sha256.Sum256(data), prefix+"/"+name)
	}
	return "h1:" + base64.StdEncoding.EncodeToString(summary.Sum(nil)), nil
}

// fetchVerified downloads u and checks its files against u.Sum.
func fetchVerified(ctx context.Context, u upstream) (string, error) {
	dir, sum, err := download(ctx, u.Module, u.Version)
	if err != nil {
		return "", err
	}
	if sum != u.Sum {
		return "", fmt.Errorf("%s@%s: %w: the module proxy says %s, %s records %s", u.Module, u.Version, errChecksum, sum, confName, u.Sum)
	}
	got, err := hashDir(dir, u.Module+"@"+u.Version)
	if err != nil {
		return "", err
	}
	if got != u.Sum {
		return "", fmt.Errorf("%s@%s: %w: the files in %s hash to %s, %s records %s (run go clean -modcache)", u.Module, u.Version, errChecksum, dir, got, confName, u.Sum)
	}
	return dir, nil
}
