package luks2

import (
	"bytes"
	"encoding/binary"
	"flag"
	"os"
	"slices"
	"testing"

	"github.com/raid-settle/raid-settle/blockdev/internal/fixture"
	"github.com/raid-settle/raid-settle/blockdev/problem"
)

// FuzzCheck feeds Check mutations of real LUKS2 headers. The seeds are the
// first two header copies of images cryptsetup formats when the fuzz test
// starts, so they follow the installed cryptsetup. slack makes the partition
// claim more bytes than the reader has, to exercise short reads. Every
// finding must carry one of this package's codes.
func FuzzCheck(f *testing.F) {
	noMinimizeByDefault(f)

	for _, path := range []string{fixture.LUKS2(f, ""), fixture.LUKS2(f, "64k")} {
		data, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}

		seed := data[:2*binary.BigEndian.Uint64(data[8:16])]

		f.Add(seed, uint16(0))
		f.Add(seed[:len(seed)/2+100], uint16(0))
		f.Add(seed, uint16(40000))
	}

	f.Fuzz(func(t *testing.T, data []byte, slack uint16) {
		size := int64(len(data)) + int64(slack)

		info, ps, err := Check(bytes.NewReader(data), size)
		if err != nil {
			// bytes.Reader only ever reports io.EOF, which is a finding.
			t.Fatalf("error from an in-memory reader: %v", err)
		}

		for _, p := range ps {
			if !slices.Contains(AllCodes, p.Code) || p.Severity == "" || p.Message == "" {
				t.Errorf("malformed problem %+v", p)
			}
		}

		if info != nil && info.HeaderSize > MaxHeaderSize && !problem.HasErrors(ps) {
			t.Errorf("hdr_size %d accepted without an error", info.HeaderSize)
		}
	})
}

// noMinimizeByDefault turns off minimization of new inputs unless
// -test.fuzzminimizetime was given. Go's minimizer is quadratic in the input
// length: on 32 KiB header images it spends its whole default 60 s per new
// input, during which the worker fuzzes nothing, so a 30 s run executes a
// few dozen inputs instead of tens of thousands. The coordinator reads the
// flag when f.Fuzz starts, after this runs. A crasher is still written to
// testdata/fuzz, unminimized.
func noMinimizeByDefault(f *testing.F) {
	const name = "test.fuzzminimizetime"

	given := false

	flag.Visit(func(fl *flag.Flag) { given = given || fl.Name == name })

	if !given {
		if err := flag.Set(name, "0"); err != nil {
			f.Fatal(err)
		}
	}
}
