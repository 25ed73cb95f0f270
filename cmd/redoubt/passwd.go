package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"

	"golang.org/x/term"

	"redoubt/internal/auth"
)

// maxPasswordLen bounds what passwd reads.
const maxPasswordLen = 4096

// passwd prints the argon2id hash of a password for the configuration's
// password_hash. The password is read from the terminal without echo
// (twice), or as one line from stdin with --stdin or when stdin is not a
// terminal. It is checked against the password policy first and never
// printed.
func passwd(args []string, stdin *os.File, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("redoubt passwd", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fromStdin := fs.Bool("stdin", false, "read the password as one line from stdin")
	weak := fs.Bool("allow-weak", false, "skip the password policy (for tests and migrations; not recommended)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	var pw []byte
	var err error
	if *fromStdin || !term.IsTerminal(int(stdin.Fd())) {
		pw, err = readLine(stdin)
	} else {
		pw, err = readTerminal(stdin, stderr)
	}
	if err != nil {
		fmt.Fprintf(stderr, "redoubt passwd: %v\n", err)
		return 1
	}
	if !*weak {
		if err := auth.DefaultPolicy().Check(pw); err != nil {
			fmt.Fprintf(stderr, "redoubt passwd: %v\n", err)
			return 1
		}
	}
	h, err := auth.HashPassword(pw, auth.DefaultParams())
	if err != nil {
		fmt.Fprintf(stderr, "redoubt passwd: %v\n", err)
		return 1
	}
	fmt.Fprintln(stdout, h)
	return 0
}

func readLine(r io.Reader) ([]byte, error) {
	br := bufio.NewReaderSize(io.LimitReader(r, maxPasswordLen+2), maxPasswordLen+2)
	line, err := br.ReadBytes('\n')
	if err != nil && err != io.EOF {
		return nil, err
	}
	if len(line) > 0 && line[len(line)-1] != '\n' && len(line) > maxPasswordLen {
		return nil, fmt.Errorf("password longer than %d bytes", maxPasswordLen)
	}
	line = bytes.TrimRight(line, "\r\n")
	if len(line) == 0 {
		return nil, fmt.Errorf("empty password")
	}
	return line, nil
}

func readTerminal(stdin *os.File, stderr io.Writer) ([]byte, error) {
	fd := int(stdin.Fd())
	fmt.Fprint(stderr, "Password: ")
	a, err := term.ReadPassword(fd)
	fmt.Fprintln(stderr)
	if err != nil {
		return nil, err
	}
	fmt.Fprint(stderr, "Again: ")
	b, err := term.ReadPassword(fd)
	fmt.Fprintln(stderr)
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(a, b) {
		return nil, fmt.Errorf("the passwords differ")
	}
	if len(a) == 0 {
		return nil, fmt.Errorf("empty password")
	}
	return a, nil
}
