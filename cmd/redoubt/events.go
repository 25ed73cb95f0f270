package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"redoubt/internal/eventlog"
)

// eventsUsage is the help of `redoubt events`.
const eventsUsage = `Usage: redoubt events verify --data DIR [--head HASH]
       redoubt events list --data DIR [--type T] [--since TIME] [--until TIME] [--limit N] [--json]
       (each also takes --config FILE [--instance NAME] instead of --data, and --help)

The event log of an instance is DIR/events: hash-chained JSON lines.
verify checks the chain and names the first entry edited, removed or reordered.
list prints entries; it does not check the chain.`

// events is `redoubt events verify|list`. Both only read, so they run
// beside a running instance (the data directory is not locked).
func events(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, eventsUsage)
		return exitUsage
	}
	switch args[0] {
	case "verify":
		return eventsVerify(args[1:], stdout, stderr)
	case "list":
		return eventsList(args[1:], stdout, stderr)
	case "-h", "-help", "--help", "help":
		fmt.Fprintln(stderr, eventsUsage)
		return exitOK
	}
	fmt.Fprintf(stderr, "redoubt events: unknown command %q\n%s\n", args[0], eventsUsage)
	return exitUsage
}

// eventsCmd holds what both subcommands share: the flags naming the
// instance, and the error printer.
type eventsCmd struct {
	name   string
	set    *flag.FlagSet
	tf     targetFlags
	stderr io.Writer
}

func newEventsCmd(name, usage string, stderr io.Writer) *eventsCmd {
	c := &eventsCmd{name: "redoubt events " + name, stderr: stderr}
	c.set = flag.NewFlagSet(c.name, flag.ContinueOnError)
	c.set.SetOutput(stderr)
	c.tf = addTargetFlags(c.set)
	c.set.Usage = func() {
		fmt.Fprintln(stderr, usage)
		c.set.PrintDefaults()
	}
	return c
}

func (c *eventsCmd) fail(code int, format string, a ...any) int {
	fmt.Fprintf(c.stderr, c.name+": "+format+"\n", a...)
	return code
}

// parse parses args and returns the event directory, or an exit status.
func (c *eventsCmd) parse(args []string) (string, int, bool) {
	if err := c.set.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return "", exitOK, false
		}
		return "", exitUsage, false
	}
	if c.set.NArg() > 0 {
		return "", c.fail(exitUsage, "unexpected argument %q", c.set.Arg(0)), false
	}
	tgt, err := c.tf.resolve()
	if err != nil {
		return "", c.fail(exitUsage, "%v", err), false
	}
	if fi, err := os.Stat(tgt.Data); err != nil || !fi.IsDir() {
		return "", c.fail(exitFailed, "data directory %s does not exist", tgt.Data), false
	}
	return filepath.Join(tgt.Data, eventlog.DirName), 0, true
}

// eventsVerify is `redoubt events verify`: exit 0 when the chain is
// intact, 1 naming the first damage.
func eventsVerify(args []string, stdout, stderr io.Writer) int {
	c := newEventsCmd("verify", `Usage: redoubt events verify --data DIR [--head HASH]
       redoubt events verify --config FILE [--instance NAME] [--head HASH]

Checks the hash chain of the event log in DIR/events and names the first entry
that was edited, removed or reordered. Exit status: 0 intact, 1 damaged, 2 usage.`, stderr)
	head := c.set.String("head", "", "a head hash the server reported (INFO, metrics) or kept elsewhere: it must be in the log, which shows that no entry up to it was cut off, and only entries up to it may account for the entries retention removed")
	dir, code, ok := c.parse(args)
	if !ok {
		return code
	}
	rep, err := eventlog.VerifyHead(dir, *head)
	if errors.Is(err, fs.ErrNotExist) {
		fmt.Fprintf(stdout, "%s holds no event log\n", filepath.Dir(dir))
		if *head != "" {
			return c.fail(exitFailed, "--head %s: the log is missing", *head)
		}
		return exitOK
	}
	if err != nil {
		return c.fail(exitFailed, "%v", err)
	}
	fmt.Fprintf(stdout, "%s: %d files, %d entries", dir, rep.Files, rep.Entries)
	if rep.Entries > 0 {
		fmt.Fprintf(stdout, ", seq %d–%d\nhead %s", rep.FirstSeq, rep.LastSeq, rep.Head)
	}
	fmt.Fprintln(stdout)
	if rep.Pruned {
		fmt.Fprintf(stdout, "seq 1–%d removed by retention, as recorded in the log (entry %d)\n", rep.FirstSeq-1, rep.PrunedBy)
	}
	if rep.Recovered > 0 {
		fmt.Fprintf(stdout, "%d file(s) end in a line torn by a crash, as recorded in the log\n", rep.Recovered)
	}
	status := exitOK
	if !rep.OK {
		fmt.Fprintf(stdout, "DAMAGED: %s\n", printable(rep.First.String()))
		if rep.Problems > 1 {
			fmt.Fprintf(stdout, "(%d problems in all; the first is shown)\n", rep.Problems)
		}
		status = exitFailed
	}
	if *head != "" && !checkHead(*head, rep, stdout) {
		status = exitFailed
	}
	if status == exitOK {
		fmt.Fprintln(stdout, "event log is intact")
	}
	return status
}

// checkHead says where the entry with hash head is in the log, as
// VerifyHead found it. (VerifyHead also reports the start of the log as
// unconfirmed when only an entry after the head accounts for it.)
func checkHead(head string, rep eventlog.Report, stdout io.Writer) bool {
	if rep.HeadSeq == 0 {
		fmt.Fprintf(stdout, "DAMAGED: head %s is not in the log: entries were cut off from its end, or the log was rewritten\n", printable(head))
		return false
	}
	fmt.Fprintf(stdout, "head %s is entry %d", printable(head), rep.HeadSeq)
	if rep.LastSeq >= rep.HeadSeq {
		fmt.Fprintf(stdout, "; %d entries follow it", rep.LastSeq-rep.HeadSeq)
	}
	fmt.Fprintln(stdout)
	return true
}

// listFlag collects a flag given several times or with commas.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Set(v string) error {
	for s := range strings.SplitSeq(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			*l = append(*l, s)
		}
	}
	return nil
}

// eventsList is `redoubt events list`.
func eventsList(args []string, stdout, stderr io.Writer) int {
	c := newEventsCmd("list", `Usage: redoubt events list --data DIR [--type T] [--since TIME] [--until TIME] [--limit N] [--json]
       redoubt events list --config FILE [--instance NAME] …

Prints the newest entries of the event log in DIR/events, oldest first. It does not
check the chain: see redoubt events verify. Exit status: 0 done, 1 error, 2 usage.`, stderr)
	var types listFlag
	c.set.Var(&types, "type", "only entries of this type (repeat the flag or separate types with commas)")
	since := c.set.String("since", "", "only entries at or after this time (RFC 3339, e.g. 2026-01-02T15:04:05Z)")
	until := c.set.String("until", "", "only entries before this time (RFC 3339)")
	limit := c.set.Int("limit", 100, "print at most this many, the newest (0: all)")
	asJSON := c.set.Bool("json", false, "print each entry as a JSON line")
	dir, code, ok := c.parse(args)
	if !ok {
		return code
	}
	f := eventlog.Filter{Types: types, Limit: *limit}
	if *limit < 0 {
		return c.fail(exitUsage, "--limit must be 0 or more")
	}
	for _, t := range []struct {
		flag string
		s    string
		to   *time.Time
	}{{"since", *since, &f.Since}, {"until", *until, &f.Until}} {
		if t.s == "" {
			continue
		}
		v, err := time.Parse(time.RFC3339Nano, t.s)
		if err != nil {
			return c.fail(exitUsage, "--%s: %v", t.flag, err)
		}
		*t.to = v
	}
	es, err := eventlog.Query(dir, f)
	if errors.Is(err, fs.ErrNotExist) {
		fmt.Fprintf(stderr, "%s holds no event log\n", filepath.Dir(dir))
		return exitOK
	}
	if err != nil {
		return c.fail(exitFailed, "%v", err)
	}
	for _, e := range es {
		if *asJSON {
			b, err := json.Marshal(e)
			if err != nil {
				return c.fail(exitFailed, "%v", err)
			}
			fmt.Fprintf(stdout, "%s\n", escapeTerminal(b))
			continue
		}
		fmt.Fprintln(stdout, formatEntry(e))
	}
	return exitOK
}

// formatEntry prints an entry on one line. The file is not trusted: every
// value that is not plain printable text is quoted, so an entry cannot
// send control sequences to a terminal or fake a second line.
func formatEntry(e eventlog.Entry) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s  #%d  %s  %s", e.Time.UTC().Format("2006-01-02T15:04:05.000Z"), e.Seq, show(e.Type), show(e.Instance))
	kv := func(k, v string) {
		if v != "" {
			b.WriteString("  " + show(k) + "=" + show(v))
		}
	}
	kv("addr", e.Addr)
	kv("account", e.Account)
	kv("detail", e.Detail)
	for _, k := range slices.Sorted(maps.Keys(e.Fields)) {
		kv(k, e.Fields[k])
	}
	return b.String()
}

// escapeTerminal writes as \u escapes the characters encoding/json leaves
// raw that a terminal acts on or that change how a line reads: DEL, the C1
// controls (U+0080–U+009F: U+009B is CSI to many UTF-8 terminals) and the
// bidirectional marks, embeddings, overrides and isolates. b is JSON; they
// can only be inside its strings, where the escape means the same.
func escapeTerminal(b []byte) []byte {
	var out []byte
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if terminalControl(r) {
			if out == nil {
				out = append(make([]byte, 0, len(b)+32), b[:i]...)
			}
			out = fmt.Appendf(out, `\u%04x`, r)
		} else if out != nil {
			out = append(out, b[i:i+n]...)
		}
		i += n
	}
	if out == nil {
		return b
	}
	return out
}

// terminalControl reports whether r is one of the characters
// escapeTerminal escapes.
func terminalControl(r rune) bool {
	switch {
	case r >= 0x7f && r <= 0x9f, // DEL, C1
		r == 0x061c, r == 0x200e, r == 0x200f, // ALM, LRM, RLM
		r >= 0x202a && r <= 0x202e, // LRE, RLE, PDF, LRO, RLO
		r >= 0x2066 && r <= 0x2069: // LRI, RLI, FSI, PDI
		return true
	}
	return false
}

// printable escapes what is not printable in s (a problem's detail may
// quote bytes of the file).
func printable(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r == utf8.RuneError || !strconv.IsPrint(r) {
			q := strconv.QuoteRuneToASCII(r)
			b.WriteString(q[1 : len(q)-1])
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// show returns s as is when it is plain text without spaces or quotes,
// else quoted with every non-printable character escaped.
func show(s string) string {
	if s == "" {
		return `""`
	}
	for _, r := range s {
		if r <= ' ' || r == '"' || r == '\\' || r == '=' || r >= 0x7f {
			return strconv.QuoteToASCII(s)
		}
	}
	return s
}
