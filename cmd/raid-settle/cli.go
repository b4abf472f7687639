package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
)

// The command-line conventions every command follows, as talosctl's do:
// flags may come before or after the arguments ("--" ends them), --help
// prints the command's help on standard output and exits 0, and a usage
// error prints the message and the help on standard error and exits
// exitUsage. The standard library's flag package carries them; cobra,
// which talosctl uses, would bring text/template into the node build for
// its help templates (a cobra hello-world is 1.1 MB larger than a plain one).

// errHelp is returned by parseArgs once it has printed the help.
var errHelp = flag.ErrHelp

// newFlagSet returns the flag set of command name, whose help text is help
// followed by the flags' defaults.
func newFlagSet(name, help string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), help)
		fs.PrintDefaults()
	}

	return fs
}

// parseArgs parses the flags of fs wherever they are among args and returns
// the arguments. Asked for help, it prints it to stdout and returns errHelp;
// on a usage error it prints the error and the help to stderr.
func parseArgs(fs *flag.FlagSet, args []string, stdout, stderr io.Writer) ([]string, error) {
	for _, a := range args {
		if a == "--" {
			break
		}

		if a == "-h" || a == "-help" || a == "--help" {
			fs.SetOutput(stdout)
			fs.Usage()

			return nil, errHelp
		}
	}

	fs.SetOutput(stderr)

	var positional []string

	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}

		rest := fs.Args()
		if len(rest) == 0 {
			return positional, nil
		}

		if rest[0] == "--" {
			return append(positional, rest[1:]...), nil
		}

		positional = append(positional, rest[0])
		args = rest[1:]
	}
}

// parseExit is the exit code for an error from parseArgs: 0 after the help,
// exitUsage otherwise.
func parseExit(err error) int {
	if errors.Is(err, errHelp) {
		return 0
	}

	return exitUsage
}
