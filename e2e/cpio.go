package e2e

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// cpioWriter writes a cpio archive in the "newc" format the kernel unpacks
// into its initramfs. Only directories, regular files and symbolic links are
// written; owners are root and times are zero, so the same tree always makes
// the same bytes.
type cpioWriter struct {
	w     io.Writer
	ino   uint32
	off   int64
	dirs  map[string]bool
	err   error
	links map[string]bool
}

func newCPIOWriter(w io.Writer) *cpioWriter {
	return &cpioWriter{w: w, ino: 1, dirs: map[string]bool{"": true, ".": true}, links: map[string]bool{}}
}

// header writes one newc header and name, padded to 4 bytes.
func (c *cpioWriter) header(name string, mode uint32, size int, nlink uint32) {
	if c.err != nil {
		return
	}

	c.ino++
	hdr := fmt.Sprintf("070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
		c.ino, mode, 0, 0, nlink, 0, size, 0, 0, 0, 0, len(name)+1, 0)
	c.write([]byte(hdr + name + "\x00"))
	c.pad()
}

func (c *cpioWriter) write(b []byte) {
	if c.err != nil {
		return
	}

	n, err := c.w.Write(b)
	c.off += int64(n)
	c.err = err
}

func (c *cpioWriter) pad() {
	if r := c.off % 4; r != 0 {
		c.write(make([]byte, 4-r))
	}
}

// mkdirAll writes the directories above and at name that are not written yet.
func (c *cpioWriter) mkdirAll(name string) {
	name = strings.Trim(name, "/")
	if c.dirs[name] {
		return
	}

	c.mkdirAll(filepath.Dir(name))
	c.dirs[name] = true
	c.header(name, 0o040755, 0, 2)
}

// File writes a regular file with the given permission bits.
func (c *cpioWriter) File(name string, perm fs.FileMode, data []byte) {
	name = strings.Trim(name, "/")
	c.mkdirAll(filepath.Dir(name))
	c.header(name, 0o100000|uint32(perm.Perm()), len(data), 1)
	c.write(data)
	c.pad()
}

// Symlink writes a symbolic link name pointing at target.
func (c *cpioWriter) Symlink(name, target string) {
	name = strings.Trim(name, "/")
	c.mkdirAll(filepath.Dir(name))
	c.links[name] = true
	c.header(name, 0o120777, len(target), 1)
	c.write([]byte(target))
	c.pad()
}

// Dir writes an empty directory.
func (c *cpioWriter) Dir(name string) { c.mkdirAll(name) }

// Tree writes every directory, regular file and symbolic link under root,
// sorted, under the archive path prefix. Anything else is an error.
func (c *cpioWriter) Tree(root, prefix string) error {
	var paths []string

	err := filepath.WalkDir(root, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}

		paths = append(paths, p)

		return nil
	})
	if err != nil {
		return err
	}

	sort.Strings(paths)

	for _, p := range paths {
		rel, _ := filepath.Rel(root, p)
		name := filepath.Join(prefix, rel)

		info, err := os.Lstat(p)
		if err != nil {
			return err
		}

		switch {
		case info.IsDir():
			c.Dir(name)
		case info.Mode().IsRegular():
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}

			c.File(name, info.Mode(), data)
		case info.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}

			c.Symlink(name, target)
		default:
			return fmt.Errorf("%s: unsupported file type %s", p, info.Mode().Type())
		}
	}

	return c.err
}

// Close writes the trailer.
func (c *cpioWriter) Close() error {
	c.header("TRAILER!!!", 0, 0, 1)

	return c.err
}
