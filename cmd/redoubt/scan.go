package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"redoubt/internal/scan"
)

// scanCmd is `redoubt scan [server flags] [--json] [--fail-on SEVERITY]`:
// it loads the configuration exactly as the server would (the same flags
// and file), runs the security scanner once, probing real backends, and
// prints the findings. Exit status: 0 when no finding is at or above
// --fail-on, 1 when one is (or the configuration is wrong, as for the
// server), 2 for bad flags.
func scanCmd(args []string, stdout, stderr io.Writer) int {
	set := flag.NewFlagSet("redoubt scan", flag.ContinueOnError)
	set.SetOutput(stderr)
	sf := addServerFlags(set)
	asJSON := set.Bool("json", false, "print one JSON object per finding, one a line")
	failOn := set.String("fail-on", "high", "exit 1 when a finding is at least this severe: info, low, medium, high, critical, or none")
	timeout := set.Duration("timeout", scan.DefaultTimeout, "bound on each backend node's probe")
	set.Usage = func() {
		fmt.Fprintln(stderr, `Usage: redoubt scan [server flags] [--json] [--fail-on SEVERITY] [--timeout D]

Checks a configuration for security risks and probes its backends (a
redis, managed or cluster backend is connected to; only commands that
read are sent). It takes the server's flags and configuration, so
  REDOUBT_UPSTREAM_PASSWORD=… redoubt scan --upstream redis://10.0.0.5:6379
checks a Redis before Redoubt is put in front of it.

Exit status: 0 no finding at or above --fail-on, 1 one at least (or a
configuration error), 2 bad flags.

Flags:`)
		set.PrintDefaults()
	}
	if err := set.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if set.NArg() > 0 {
		fmt.Fprintf(stderr, "redoubt scan: unexpected argument %q (see redoubt scan --help)\n", set.Arg(0))
		return exitUsage
	}
	threshold, never := scan.Critical, strings.EqualFold(*failOn, "none")
	if !never {
		var err error
		if threshold, err = scan.ParseSeverity(*failOn); err != nil {
			fmt.Fprintf(stderr, "redoubt scan: --fail-on: %v, or none\n", err)
			return exitUsage
		}
	}
	if *timeout <= 0 {
		fmt.Fprintln(stderr, "redoubt scan: --timeout must be positive")
		return exitUsage
	}
	cfg, code := sf.load(stderr)
	if cfg == nil {
		return code
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	start := time.Now()
	findings := scan.Run(ctx, scan.Options{Config: cfg, Timeout: *timeout})
	if ctx.Err() != nil {
		fmt.Fprintln(stderr, "redoubt scan: interrupted")
		return exitFailed
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		for _, f := range findings {
			if err := enc.Encode(f); err != nil {
				fmt.Fprintf(stderr, "redoubt scan: %v\n", err)
				return exitFailed
			}
		}
	} else {
		printFindings(stdout, findings, len(cfg.Instances), time.Since(start))
	}
	if !never && len(scan.AtLeast(findings, threshold)) > 0 {
		return exitFailed
	}
	return exitOK
}

// printFindings writes the findings as a readable report: one block per
// finding, the most severe first, then a count by severity.
func printFindings(w io.Writer, findings []scan.Finding, instances int, took time.Duration) {
	for _, f := range findings {
		where := f.Instance
		if where == "" {
			where = "(admin)"
		}
		if f.Node != "" {
			where += " " + f.Node
		}
		fmt.Fprintf(w, "%-8s  %-26s  %s\n", strings.ToUpper(f.Severity.String()), f.ID, where)
		fmt.Fprintf(w, "          %s\n", f.Title)
		fmt.Fprintf(w, "          evidence: %s\n", f.Evidence)
		fmt.Fprintf(w, "          remedy:   %s\n\n", f.Remedy)
	}
	counts := map[scan.Severity]int{}
	for _, f := range findings {
		counts[f.Severity]++
	}
	var parts []string
	for s := scan.Critical; s >= scan.Info; s-- {
		if counts[s] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[s], s))
		}
	}
	summary := "no findings"
	if len(parts) > 0 {
		summary = fmt.Sprintf("%d finding%s: %s", len(findings), plural(len(findings)), strings.Join(parts, ", "))
	}
	fmt.Fprintf(w, "%d instance%s scanned in %v: %s\n", instances, plural(instances), took.Round(time.Millisecond), summary)
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
