package extension

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// testArches are the architectures the extension ships.
var testArches = []string{"amd64", "arm64"}

// testEpoch is the time every test build uses.
var testEpoch = time.Unix(1700000000, 0)

const testVersion = "v0.0.0-test"

// moduleRoot is the repository root, seen from this package's directory.
const moduleRoot = ".."

var (
	programsOnce sync.Once
	programsDir  string
	programsErr  error

	builtOnce sync.Once
	built     *Output
	builtErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()

	if programsDir != "" {
		os.RemoveAll(programsDir)
	}

	os.Exit(code)
}

// goTool runs the go command in the repository root.
func goTool(env []string, args ...string) ([]byte, error) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		return nil, fmt.Errorf("the go command is needed to build raid-settle for the tests: %w", err)
	}

	cmd := exec.Command(goBin, args...)
	cmd.Dir = moduleRoot
	cmd.Env = append(os.Environ(), env...)

	out, err := cmd.CombinedOutput()
	if err != nil {
		return out, fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, out)
	}

	return out, nil
}

// programs builds ./cmd/raid-settle (the node build) for every test
// architecture, the way `make build-all` does, once per test run, and returns the binaries.
func programs(t *testing.T) []Binary {
	t.Helper()

	programsOnce.Do(func() {
		if programsDir, programsErr = os.MkdirTemp("", "raid-settle-extension-test-"); programsErr != nil {
			return
		}

		for _, arch := range testArches {
			_, programsErr = goTool(
				[]string{"CGO_ENABLED=0", "GOOS=linux", "GOARCH=" + arch},
				"build", "-tags", "node", "-trimpath", "-ldflags", "-s -w -X main.version="+testVersion,
				"-o", filepath.Join(programsDir, arch, "raid-settle"), "./cmd/raid-settle",
			)
			if programsErr != nil {
				return
			}
		}
	})

	if programsErr != nil {
		t.Fatalf("building raid-settle: %v", programsErr)
	}

	var bins []Binary
	for _, arch := range testArches {
		bins = append(bins, Binary{Arch: arch, Path: filepath.Join(programsDir, arch, "raid-settle")})
	}

	return bins
}

// manifestSource reads the repository's manifest.yaml.
func manifestSource(t *testing.T) []byte {
	t.Helper()

	src, err := os.ReadFile(filepath.Join(moduleRoot, "manifest.yaml"))
	if err != nil {
		t.Fatal(err)
	}

	return src
}

// buildInto runs Build into dir with the test inputs and epoch.
func buildInto(t *testing.T, dir string, epoch time.Time) *Output {
	t.Helper()

	out, err := Build(dir, Options{
		ManifestSource: manifestSource(t),
		Version:        testVersion,
		Epoch:          epoch,
		Binaries:       programs(t),
	})
	if err != nil {
		t.Fatalf("Build: %v", err)
	}

	return out
}

// shared returns one build, made once per test run, for tests that only read.
func shared(t *testing.T) *Output {
	t.Helper()

	bins := programs(t)

	builtOnce.Do(func() {
		dir := filepath.Join(programsDir, "extension")
		built, builtErr = Build(dir, Options{
			ManifestSource: manifestSource(t),
			Version:        testVersion,
			Epoch:          testEpoch,
			Binaries:       bins,
		})
	})

	if builtErr != nil {
		t.Fatalf("Build: %v", builtErr)
	}

	return built
}

// untarStrict unpacks a tar stream into dir the way Talos's imager does
// (pkg/archiver.Untar): it creates no missing parent directory and never
// overwrites, so an archive whose directories do not come before their
// contents, or that repeats a path, fails here as it would there.
func untarStrict(r io.Reader, dir string) error {
	tr := tar.NewReader(r)

	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}

		if err != nil {
			return err
		}

		name := filepath.Clean(hdr.Name)
		if name == "." || filepath.IsAbs(name) || strings.HasPrefix(name, "..") {
			return fmt.Errorf("unsafe tar path %q", hdr.Name)
		}

		p := filepath.Join(dir, name)
		mode := os.FileMode(hdr.Mode).Perm()

		switch hdr.Typeflag {
		case tar.TypeDir:
			if err = os.Mkdir(p, mode); err != nil {
				return err
			}
		case tar.TypeReg:
			f, err := os.OpenFile(p, os.O_CREATE|os.O_EXCL|os.O_WRONLY, mode)
			if err != nil {
				return err
			}

			if _, err = io.Copy(f, tr); err != nil {
				f.Close()

				return err
			}

			if err = f.Close(); err != nil {
				return err
			}
		default:
			return fmt.Errorf("%s: unexpected tar entry type %q", hdr.Name, hdr.Typeflag)
		}

		if err = os.Chmod(p, mode); err != nil {
			return err
		}
	}
}
