// Package elfdeps finds what a dynamically linked program needs in an
// unpacked Debian tree: its interpreter, the libraries its DT_NEEDED entries
// and run paths name, and those it declares it may dlopen(), following
// symbolic links and the /usr merge as the guest will see them. The e2e
// harness uses it to put udevd and its tools into the guest's initramfs.
package elfdeps

import (
	"bytes"
	"debug/elf"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
)

// libDirs are where the guest's dynamic loader looks for libraries when a
// binary names no run path (Debian's multiarch directories).
// An amd64 tree has no aarch64 directories and an arm64 tree no x86_64 ones.
var libDirs = []string{"/usr/lib/x86_64-linux-gnu", "/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/lib/aarch64-linux-gnu", "/usr/lib64", "/lib64", "/usr/lib", "/lib"}

// Closure follows the interpreter and DT_NEEDED entries of the ELF
// files (guest paths) through the unpacked tree and returns every library
// needed, guest path to host path. A library that cannot be found is an
// error naming it and who needs it.
func Closure(root string, bins []string) (map[string]string, error) {
	out := map[string]string{}
	queue := append([]string(nil), bins...)
	done := map[string]bool{}

	var missing []string

	for len(queue) > 0 {
		bin := queue[0]
		queue = queue[1:]

		if done[bin] {
			continue
		}

		done[bin] = true

		host, err := Resolve(root, bin)
		if err != nil {
			return nil, err
		}

		f, err := elf.Open(host)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", bin, err)
		}

		needed, _ := f.ImportedLibraries()
		optional := dlopenNotes(f)
		runpath, _ := f.DynString(elf.DT_RUNPATH)
		rpath, _ := f.DynString(elf.DT_RPATH)
		interp := elfInterp(f)
		f.Close()

		if interp != "" {
			if _, err := Resolve(root, interp); err != nil {
				missing = append(missing, interp+" (interpreter of "+bin+")")
			} else {
				out[interp] = mustResolve(root, interp)
			}
		}

		var dirs []string
		for _, rp := range append(runpath, rpath...) {
			for _, d := range strings.Split(rp, ":") {
				dirs = append(dirs, strings.ReplaceAll(d, "$ORIGIN", path.Dir(bin)))
			}
		}

		dirs = append(dirs, libDirs...)

		for i, lib := range append(needed, optional...) {
			found := ""

			for _, d := range dirs {
				if _, err := Resolve(root, path.Join(d, lib)); err == nil {
					found = path.Join(d, lib)

					break
				}
			}

			switch {
			case found != "":
				out[UsrMerge(found)] = mustResolve(root, found)
				queue = append(queue, found)
			case i < len(needed):
				missing = append(missing, lib+" (needed by "+bin+")")
			}
		}
	}

	if len(missing) > 0 {
		sort.Strings(missing)

		return nil, fmt.Errorf("libraries not found in the guest packages: %s", strings.Join(missing, ", "))
	}

	return out, nil
}

// dlopenNotes returns the libraries an ELF file declares it may dlopen(),
// from its .note.dlopen section (the freedesktop.org format systemd 256+
// uses: notes owned by "FDO" of type 0x407c0c0a whose descriptor is a JSON
// array of {"soname": [...]}). systemd-udevd loads libkmod this way, so
// without it udev cannot load modules. Those found in the packages go in;
// the others are optional features.
func dlopenNotes(f *elf.File) []string {
	sec := f.Section(".note.dlopen")
	if sec == nil {
		return nil
	}

	data, err := sec.Data()
	if err != nil {
		return nil
	}

	var out []string

	for len(data) >= 12 {
		namesz := f.ByteOrder.Uint32(data[0:])
		descsz := f.ByteOrder.Uint32(data[4:])
		typ := f.ByteOrder.Uint32(data[8:])
		nameEnd := 12 + align4(namesz)
		descEnd := nameEnd + align4(descsz)

		if uint64(descEnd) > uint64(len(data)) {
			break
		}

		name := strings.TrimRight(string(data[12:12+namesz]), "\x00")
		if name == "FDO" && typ == 0x407c0c0a {
			var entries []struct {
				Soname []string `json:"soname"`
			}

			if json.Unmarshal(bytes.TrimRight(data[nameEnd:nameEnd+descsz], "\x00"), &entries) == nil {
				for _, e := range entries {
					out = append(out, e.Soname...)
				}
			}
		}

		data = data[descEnd:]
	}

	return out
}

// align4 rounds n up to the 4-byte alignment of ELF note fields.
func align4(n uint32) uint32 { return (n + 3) &^ 3 }

// elfInterp is the guest path of f's program interpreter, "" for none.
func elfInterp(f *elf.File) string {
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			b := make([]byte, p.Filesz)
			if _, err := p.ReadAt(b, 0); err == nil {
				return UsrMerge(strings.TrimRight(string(b), "\x00"))
			}
		}
	}

	return ""
}

// IsELF reports whether the file at host path p is an ELF file.
func IsELF(p string) bool {
	f, err := os.Open(p)
	if err != nil {
		return false
	}
	defer f.Close()

	b := make([]byte, 4)
	_, err = f.Read(b)

	return err == nil && string(b) == "\x7fELF"
}

// UsrMerge maps /lib, /lib64, /bin and /sbin paths to their /usr
// counterparts, as they are in the initramfs.
func UsrMerge(p string) string {
	for _, d := range []string{"/lib/", "/lib64/", "/bin/", "/sbin/"} {
		if strings.HasPrefix(p, d) {
			return "/usr" + p
		}
	}

	return p
}

// Resolve follows symbolic links of the guest path p inside root, as
// the guest would see them, and returns the host path of the file.
func Resolve(root, p string) (string, error) {
	p = UsrMerge(path.Clean("/" + p))

	for range 40 {
		host := filepath.Join(root, p)

		info, err := os.Lstat(host)
		if err != nil {
			// The packages may still ship the unmerged path.
			if alt := strings.TrimPrefix(p, "/usr"); alt != p {
				if _, err2 := os.Lstat(filepath.Join(root, alt)); err2 == nil {
					p = alt

					continue
				}
			}

			return "", err
		}

		if info.Mode()&fs.ModeSymlink == 0 {
			return host, nil
		}

		target, err := os.Readlink(host)
		if err != nil {
			return "", err
		}

		if !path.IsAbs(target) {
			target = path.Join(path.Dir(p), target)
		}

		p = UsrMerge(path.Clean(target))
	}

	return "", fmt.Errorf("%s: too many symbolic links", p)
}

// mustResolve is Resolve for a path known to resolve.
func mustResolve(root, p string) string {
	h, _ := Resolve(root, p)

	return h
}
