// Command mkextension packages raid-settle binaries as a Talos system
// extension: one unpacked tree and one flat tarball per architecture, and an
// OCI image layout holding every architecture. `make extension` runs it after
// `make build-all`.
//
//	mkextension -version v0.1.0 -epoch 1700000000 \
//	    -manifest manifest.yaml -bin '_out/linux-{arch}/raid-settle' -out _out/extension
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/raid-settle/raid-settle/extension"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("mkextension", flag.ContinueOnError)
	fs.SetOutput(stderr)

	out := fs.String("out", "_out/extension", "output directory")
	bin := fs.String("bin", "_out/linux-{arch}/raid-settle", "path of each architecture's program; {arch} is replaced")
	arches := fs.String("arch", "amd64 arm64", "architectures, separated by spaces or commas")
	manifest := fs.String("manifest", "manifest.yaml", "manifest source carrying "+extension.VersionPlaceholder)
	version := fs.String("version", "", "extension version (git describe)")
	profiles := fs.String("profiles", "", "directory of controller profiles (*.json, certify's output) to ship in "+extension.ProfileDir)
	epoch := fs.String("epoch", os.Getenv("SOURCE_DATE_EPOCH"), "Unix time of every entry and image (default $SOURCE_DATE_EPOCH, else 0)")

	if err := fs.Parse(args); err != nil {
		return 2
	}

	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "mkextension: unexpected arguments %q\n", fs.Args())

		return 2
	}

	seconds := int64(0)

	if *epoch != "" {
		var err error
		if seconds, err = strconv.ParseInt(*epoch, 10, 64); err != nil || seconds < 0 {
			fmt.Fprintf(stderr, "mkextension: -epoch %q: want Unix seconds\n", *epoch)

			return 2
		}
	}

	src, err := os.ReadFile(*manifest)
	if err != nil {
		fmt.Fprintf(stderr, "mkextension: %v\n", err)

		return 1
	}

	opts := extension.Options{
		ManifestSource: src,
		Version:        *version,
		Epoch:          time.Unix(seconds, 0),
	}

	if *profiles != "" {
		if opts.Profiles, err = extension.ReadProfiles(*profiles); err != nil {
			fmt.Fprintf(stderr, "mkextension: %v\n", err)

			return 1
		}
	}

	for _, a := range strings.FieldsFunc(*arches, func(r rune) bool { return r == ',' || r == ' ' }) {
		opts.Binaries = append(opts.Binaries, extension.Binary{Arch: a, Path: strings.ReplaceAll(*bin, "{arch}", a)})
	}

	res, err := extension.Build(*out, opts)
	if err != nil {
		fmt.Fprintf(stderr, "mkextension: %v\n", err)

		return 1
	}

	fmt.Fprintf(stdout, "raid-settle extension %s (epoch %d)\n", *version, seconds)

	for _, img := range res.Images {
		fmt.Fprintf(stdout, "  linux/%s  tree %s\n", img.Arch, img.Tree)
		fmt.Fprintf(stdout, "               tarball %s (%d bytes)\n", img.Tarball, img.TarballSize)
		fmt.Fprintf(stdout, "               manifest %s, layer %s\n", img.Manifest, img.Layer)
	}

	fmt.Fprintf(stdout, "  OCI layout %s, index %s\n", res.OCIDir, res.Index)

	return 0
}
