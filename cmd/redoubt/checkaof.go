package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"strings"

	"redoubt/internal/aof"
	"redoubt/internal/config"
	"redoubt/internal/datadir"
)

// Exit statuses of the maintenance subcommands.
const (
	exitOK     = 0 // done; for check-aof: the AOF is sound, or was fixed
	exitFailed = 1 // damaged and not fixed, refused, or an I/O error
	exitUsage  = 2 // bad flags or arguments
)

// target is the instance a maintenance subcommand works on: its data
// directory and the settings that matter offline.
type target struct {
	Data       string
	Databases  int
	AppendOnly bool // false: the instance would not load an AOF
	FromConfig bool
}

// targetFlags registers the flags that name an instance: --data DIR, or
// --config FILE with --instance NAME.
type targetFlags struct {
	data, cfg, instance *string
}

func addTargetFlags(set *flag.FlagSet) targetFlags {
	return targetFlags{
		data:     set.String("data", "", "the data directory"),
		cfg:      set.String("config", "", "YAML configuration file naming the instance (instead of --data)"),
		instance: set.String("instance", config.DefaultInstance, "with --config: the instance"),
	}
}

// resolve turns the flags into a target. Exactly one of --data and
// --config must be given: a maintenance command never guesses which
// directory to change.
func (tf targetFlags) resolve() (target, error) {
	switch {
	case *tf.data != "" && *tf.cfg != "":
		return target{}, errors.New("give --data or --config, not both")
	case *tf.data != "":
		return target{Data: *tf.data, Databases: config.DefaultDatabases, AppendOnly: true}, nil
	case *tf.cfg == "":
		return target{}, errors.New("--data DIR (or --config FILE [--instance NAME]) is required")
	}
	cfg, err := config.Load(*tf.cfg)
	if err == nil {
		err = cfg.Finish(*tf.cfg)
	}
	if err != nil {
		return target{}, fmt.Errorf("configuration errors:\n%w", err)
	}
	var names []string
	for _, inst := range cfg.Instances {
		if inst.Name == *tf.instance {
			return target{Data: inst.Data, Databases: inst.Databases,
				AppendOnly: inst.Persistence.Enabled, FromConfig: true}, nil
		}
		names = append(names, inst.Name)
	}
	return target{}, fmt.Errorf("%s has no instance %q (it has %s)", *tf.cfg, *tf.instance, strings.Join(names, ", "))
}

// openExisting opens and locks an existing data directory. Unlike
// datadir.Open alone it never creates one: checking a directory that
// does not exist is a mistake in the path.
func openExisting(path string, log *slog.Logger) (*datadir.Dir, error) {
	if _, err := os.Lstat(path); errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("data directory %s does not exist", path)
	}
	return datadir.Open(path, log)
}

// checkAOF is `redoubt check-aof [--fix] --data DIR`: it checks every
// file of the instance's append-only file without loading it and, with
// --fix, truncates a damaged last file at its last valid command after
// keeping a copy. The data directory is locked for the duration, so it
// refuses to run while the instance does.
func checkAOF(args []string, stdout, stderr io.Writer) int {
	set := flag.NewFlagSet("redoubt check-aof", flag.ContinueOnError)
	set.SetOutput(stderr)
	fix := set.Bool("fix", false, "truncate a torn or corrupt last file at its last valid command (a copy is kept as <file>.bak)")
	tf := addTargetFlags(set)
	set.Usage = func() {
		fmt.Fprintln(stderr, "Usage: redoubt check-aof [--fix] --data DIR\n       redoubt check-aof [--fix] --config FILE [--instance NAME]")
		fmt.Fprintln(stderr, "\nChecks the append-only file of a stopped instance. Exit status: 0 sound (or fixed), 1 damaged, 2 usage.")
		set.PrintDefaults()
	}
	if err := set.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	fail := func(code int, format string, a ...any) int {
		fmt.Fprintf(stderr, "redoubt check-aof: "+format+"\n", a...)
		return code
	}
	if set.NArg() > 0 {
		return fail(exitUsage, "unexpected argument %q", set.Arg(0))
	}
	tgt, err := tf.resolve()
	if err != nil {
		return fail(exitUsage, "%v", err)
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	dir, err := openExisting(tgt.Data, log)
	if err != nil {
		if errors.Is(err, datadir.ErrInUse) {
			return fail(exitFailed, "%v: stop the instance first", err)
		}
		return fail(exitFailed, "%v", err)
	}
	defer dir.Close()
	fsys := aof.DirFS(dir)

	rep, err := aof.Check(fsys, *fix)
	if rep != nil && len(rep.Files) > 0 {
		fmt.Fprint(stdout, rep.String())
	}
	if err != nil {
		return fail(exitFailed, "%v", err)
	}
	if len(rep.Files) == 0 {
		fmt.Fprintf(stdout, "%s holds no append-only file\n", dir.Path())
		return exitOK
	}
	if rep.OK {
		if !tgt.AppendOnly {
			fmt.Fprintln(stdout, "note: the instance has appendonly: false and does not load this file")
		}
		return exitOK
	}
	if !*fix {
		torn := true
		for _, f := range rep.Files {
			if f.Status == aof.StatusCorrupt {
				torn = false
			}
		}
		if torn {
			fmt.Fprintln(stdout, "AOF ends in a torn write: redoubt truncates it by itself at start-up; --fix does it now and keeps a copy")
		} else {
			fmt.Fprintln(stdout, "AOF is damaged: redoubt will not start on it; run with --fix to truncate the last file at its last valid command")
		}
		return exitFailed
	}
	// Fixed: check again from the files themselves rather than trusting
	// the report of what was done.
	again, err := aof.Check(fsys, false)
	if err != nil {
		return fail(exitFailed, "after the fix: %v", err)
	}
	if !again.OK {
		fmt.Fprint(stdout, again.String())
		return fail(exitFailed, "the AOF is still damaged after the fix")
	}
	fmt.Fprintln(stdout, "AOF is valid after the fix")
	return exitOK
}
