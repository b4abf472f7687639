package extension

import (
	"archive/tar"
	"bytes"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"
)

// VersionPlaceholder is the text in manifest.yaml that RenderManifest
// replaces with the version. It must appear exactly once.
const VersionPlaceholder = "@VERSION@"

// versionRE is what a version may look like: git describe output, a tag, or
// "dev". It keeps the rendered YAML a plain double-quoted scalar.
var versionRE = regexp.MustCompile(`^[0-9A-Za-z][0-9A-Za-z.+_-]*$`)

// RenderManifest returns src with VersionPlaceholder replaced by version.
func RenderManifest(src []byte, version string) ([]byte, error) {
	if !versionRE.MatchString(version) {
		return nil, fmt.Errorf("version %q: want letters, digits and . + _ - only", version)
	}

	if n := bytes.Count(src, []byte(VersionPlaceholder)); n != 1 {
		return nil, fmt.Errorf("manifest source has %d %s placeholders, want exactly 1", n, VersionPlaceholder)
	}

	return bytes.Replace(src, []byte(VersionPlaceholder), []byte(version), 1), nil
}

// Entry is one file or directory of the extension image.
type Entry struct {
	// Path is slash-separated and relative to the image root, without a
	// trailing slash: "manifest.yaml", "rootfs/usr".
	Path string
	// Mode holds the permission bits, plus fs.ModeDir for a directory.
	Mode fs.FileMode
	// Data is a regular file's contents.
	Data []byte
}

// IsDir reports whether e is a directory.
func (e Entry) IsDir() bool { return e.Mode.IsDir() }

// Entries lists the image for one architecture: manifest.yaml, the program,
// the rule, the profile directory with profiles in it, and every parent
// directory, sorted by ComparePaths (each directory before what it holds).
func Entries(manifest, program []byte, profiles ...ProfileFile) []Entry {
	files := []Entry{
		{Path: "manifest.yaml", Mode: 0o644, Data: manifest},
		{Path: "rootfs" + BinaryPath, Mode: 0o755, Data: program},
		{Path: "rootfs" + RulePath, Mode: 0o644, Data: Rule},
		{Path: "rootfs" + ProfileDir, Mode: fs.ModeDir | 0o755},
	}

	for _, p := range profiles {
		files = append(files, Entry{Path: "rootfs" + ProfileDir + "/" + p.Name, Mode: 0o644, Data: p.Data})
	}

	seen := map[string]bool{}

	var entries []Entry

	for _, f := range files {
		for dir := path.Dir(f.Path); dir != "."; dir = path.Dir(dir) {
			if !seen[dir] {
				seen[dir] = true

				entries = append(entries, Entry{Path: dir, Mode: fs.ModeDir | 0o755})
			}
		}

		if !seen[f.Path] {
			seen[f.Path] = true

			entries = append(entries, f)
		}
	}

	slices.SortFunc(entries, func(a, b Entry) int { return ComparePaths(a.Path, b.Path) })

	return entries
}

// ComparePaths orders slash-separated paths element by element, so that a
// directory sorts right before its contents ("a", "a/b", "a-b"), the order
// in which an extractor that creates no missing parents can unpack them.
func ComparePaths(a, b string) int {
	return slices.Compare(strings.Split(a, "/"), strings.Split(b, "/"))
}

// checkEntries refuses what Talos refuses (world-writable or special files)
// and anything the writers cannot reproduce.
func checkEntries(entries []Entry) error {
	for i, e := range entries {
		switch {
		case e.Path == "" || path.Clean(e.Path) != e.Path || path.IsAbs(e.Path) || e.Path == ".." || strings.HasPrefix(e.Path, "../"):
			return fmt.Errorf("entry %q: want a clean relative path", e.Path)
		case e.Mode&^(fs.ModeDir|fs.ModePerm) != 0:
			return fmt.Errorf("entry %q: special file (mode %s)", e.Path, e.Mode)
		case e.Mode&0o002 != 0:
			return fmt.Errorf("entry %q: world-writable (mode %s)", e.Path, e.Mode)
		case e.IsDir() && len(e.Data) > 0:
			return fmt.Errorf("entry %q: a directory with contents", e.Path)
		case i > 0 && ComparePaths(entries[i-1].Path, e.Path) >= 0:
			return fmt.Errorf("entry %q: not sorted after %q", e.Path, entries[i-1].Path)
		}
	}

	return nil
}

// WriteTar writes entries as a tar stream that depends on nothing else: owner
// root (0:0), every modification time mtime (whole seconds), no access or
// change times, USTAR headers. Directories get a trailing slash.
func WriteTar(w io.Writer, entries []Entry, mtime time.Time) error {
	if err := checkEntries(entries); err != nil {
		return err
	}

	tw := tar.NewWriter(w)

	for _, e := range entries {
		hdr := &tar.Header{
			Name:     e.Path,
			Typeflag: tar.TypeReg,
			Mode:     int64(e.Mode.Perm()),
			Size:     int64(len(e.Data)),
			ModTime:  mtime.UTC().Truncate(time.Second),
			Uname:    "root",
			Gname:    "root",
			Format:   tar.FormatUSTAR,
		}

		if e.IsDir() {
			hdr.Name += "/"
			hdr.Typeflag = tar.TypeDir
		}

		if err := tw.WriteHeader(hdr); err != nil {
			return fmt.Errorf("failed to write the tar header of %s: %w", e.Path, err)
		}

		if _, err := tw.Write(e.Data); err != nil {
			return fmt.Errorf("failed to write %s to the tar: %w", e.Path, err)
		}
	}

	if err := tw.Close(); err != nil {
		return fmt.Errorf("failed to finish the tar: %w", err)
	}

	return nil
}

// WriteTree writes entries under dir, which it empties first, with their
// modes (whatever the umask) and mtime as every modification time.
func WriteTree(dir string, entries []Entry, mtime time.Time) error {
	if err := checkEntries(entries); err != nil {
		return err
	}

	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("failed to clear %s: %w", dir, err)
	}

	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("failed to create %s: %w", dir, err)
	}

	for _, e := range entries {
		p := filepath.Join(dir, filepath.FromSlash(e.Path))

		var err error
		if e.IsDir() {
			err = os.Mkdir(p, e.Mode.Perm())
		} else {
			err = os.WriteFile(p, e.Data, e.Mode.Perm())
		}

		if err == nil {
			err = os.Chmod(p, e.Mode.Perm())
		}

		if err != nil {
			return fmt.Errorf("failed to write %s: %w", p, err)
		}
	}

	// Children first: creating a file changes its directory's mtime.
	for _, e := range slices.Backward(entries) {
		p := filepath.Join(dir, filepath.FromSlash(e.Path))
		if err := os.Chtimes(p, mtime, mtime); err != nil {
			return fmt.Errorf("failed to set the times of %s: %w", p, err)
		}
	}

	if err := os.Chtimes(dir, mtime, mtime); err != nil {
		return fmt.Errorf("failed to set the times of %s: %w", dir, err)
	}

	return nil
}

// elfMachines maps the architectures Build knows to their ELF machine.
var elfMachines = map[string]elf.Machine{
	"amd64": elf.EM_X86_64,
	"arm64": elf.EM_AARCH64,
}

// CheckBinary reports whether program is a statically linked Linux
// executable for arch: Talos has no loader for another architecture, and a
// dynamically linked program would find no C library under udevd.
func CheckBinary(program []byte, arch string) error {
	want, ok := elfMachines[arch]
	if !ok {
		return fmt.Errorf("unknown architecture %q", arch)
	}

	f, err := elf.NewFile(bytes.NewReader(program))
	if err != nil {
		return fmt.Errorf("not an ELF file: %w", err)
	}

	defer f.Close()

	var errs []error

	if f.Machine != want {
		errs = append(errs, fmt.Errorf("built for %s, want %s (%s)", f.Machine, want, arch))
	}

	if f.Type != elf.ET_EXEC && f.Type != elf.ET_DYN {
		errs = append(errs, fmt.Errorf("ELF type %s is not an executable", f.Type))
	}

	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			errs = append(errs, errors.New("dynamically linked (has an ELF interpreter); build with CGO_ENABLED=0"))
		}
	}

	return errors.Join(errs...)
}
