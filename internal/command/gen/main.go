// Command gen writes internal/command/table_gen.go from a real redis-server
// 7.0: it reads COMMAND INFO (names, arity, flags, key positions, ACL
// categories, tips, key specs, subcommands) and COMMAND DOCS (group and
// since) and emits a Go function that builds the table literal. Summaries
// come from summaries.go, written for this project; Redis's documentation
// text is not copied.
//
// Usage:
//
//	go run ./internal/command/gen -addr 127.0.0.1:6379 -o internal/command/table_gen.go
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"go/format"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:6379", "address of a redis-server 7.0")
	out := flag.String("o", "table_gen.go", "output file")
	flag.Parse()
	if err := run(*addr, *out); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func run(addr, out string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := redis.NewClient(&redis.Options{Addr: addr, Protocol: 2})
	defer c.Close()

	version, err := serverVersion(ctx, c)
	if err != nil {
		return err
	}
	info, err := c.Do(ctx, "COMMAND", "INFO").Result()
	if err != nil {
		return fmt.Errorf("COMMAND INFO: %w", err)
	}
	docs, err := c.Do(ctx, "COMMAND", "DOCS").Result()
	if err != nil {
		return fmt.Errorf("COMMAND DOCS: %w", err)
	}
	cmds, err := parseInfoList(info)
	if err != nil {
		return fmt.Errorf("COMMAND INFO: %w", err)
	}
	dm, err := parseDocsMap(docs)
	if err != nil {
		return fmt.Errorf("COMMAND DOCS: %w", err)
	}
	sums := summaries()
	var missing []string
	for _, cmd := range cmds {
		if err := applyDocs(cmd, dm); err != nil {
			return err
		}
		if s, ok := sums[cmd.name]; ok {
			cmd.summary = s
		} else {
			missing = append(missing, cmd.name)
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return fmt.Errorf("no summary in summaries.go for: %s", strings.Join(missing, ", "))
	}
	src, err := render(cmds, version)
	if err != nil {
		return err
	}
	return os.WriteFile(out, src, 0o644)
}

func serverVersion(ctx context.Context, c *redis.Client) (string, error) {
	s, err := c.Info(ctx, "server").Result()
	if err != nil {
		return "", fmt.Errorf("INFO: %w", err)
	}
	for _, line := range strings.Split(s, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "redis_version:"); ok {
			if !strings.HasPrefix(v, "7.0.") {
				return "", fmt.Errorf("redis-server %s: the table is generated from Redis 7.0", v)
			}
			return v, nil
		}
	}
	return "", errors.New("INFO has no redis_version")
}

// command is one COMMAND INFO entry as read from the server.
type command struct {
	name              string
	arity             int64
	flags             []string
	first, last, step int64
	cats, tips        []string
	keySpecs          []keySpec
	subs              []*command
	group, since      string
	summary           string
}

type keySpec struct {
	notes string
	flags []string

	bsType           string // index, keyword, unknown
	index            int64
	keyword          string
	startFrom        int64
	fkType           string // range, keynum, unknown
	lastKey, keyStep int64
	limit            int64
	keynumIdx        int64
	firstKey         int64
}

func parseInfoList(v any) ([]*command, error) {
	list, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("reply is %T, not an array", v)
	}
	var cmds []*command
	for _, e := range list {
		if e == nil {
			continue
		}
		c, err := parseInfo(e)
		if err != nil {
			return nil, err
		}
		cmds = append(cmds, c)
	}
	sort.Slice(cmds, func(i, j int) bool { return cmds[i].name < cmds[j].name })
	return cmds, nil
}

func parseInfo(v any) (*command, error) {
	a, ok := v.([]any)
	if !ok || len(a) != 10 {
		return nil, fmt.Errorf("info entry %v: want a 10-element array", v)
	}
	c := &command{}
	var err error
	get := func(i int, f func(any) error) {
		if err == nil {
			if e := f(a[i]); e != nil {
				err = fmt.Errorf("element %d: %w", i, e)
			}
		}
	}
	get(0, func(x any) (e error) { c.name, e = str(x); return })
	get(1, func(x any) (e error) { c.arity, e = num(x); return })
	get(2, func(x any) (e error) { c.flags, e = strs(x); return })
	get(3, func(x any) (e error) { c.first, e = num(x); return })
	get(4, func(x any) (e error) { c.last, e = num(x); return })
	get(5, func(x any) (e error) { c.step, e = num(x); return })
	get(6, func(x any) (e error) { c.cats, e = strs(x); return })
	get(7, func(x any) (e error) { c.tips, e = strs(x); return })
	get(8, func(x any) error {
		specs, ok := x.([]any)
		if !ok {
			return fmt.Errorf("key specs are %T", x)
		}
		for _, s := range specs {
			ks, e := parseKeySpec(s)
			if e != nil {
				return e
			}
			c.keySpecs = append(c.keySpecs, ks)
		}
		return nil
	})
	get(9, func(x any) error {
		subs, e := parseInfoList(x)
		c.subs = subs
		return e
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", c.name, err)
	}
	c.name = strings.ToLower(c.name)
	return c, nil
}

func parseKeySpec(v any) (keySpec, error) {
	var ks keySpec
	m, err := flatMap(v)
	if err != nil {
		return ks, err
	}
	if n, ok := m["notes"]; ok {
		if ks.notes, err = str(n); err != nil {
			return ks, err
		}
	}
	if ks.flags, err = strs(m["flags"]); err != nil {
		return ks, err
	}
	bs, err := flatMap(m["begin_search"])
	if err != nil {
		return ks, err
	}
	bsSpec, err := flatMap(bs["spec"])
	if err != nil {
		return ks, err
	}
	if ks.bsType, err = str(bs["type"]); err != nil {
		return ks, err
	}
	switch ks.bsType {
	case "index":
		ks.index, err = num(bsSpec["index"])
	case "keyword":
		if ks.keyword, err = str(bsSpec["keyword"]); err == nil {
			ks.startFrom, err = num(bsSpec["startfrom"])
		}
	case "unknown":
	default:
		err = fmt.Errorf("begin_search type %q", ks.bsType)
	}
	if err != nil {
		return ks, err
	}
	fk, err := flatMap(m["find_keys"])
	if err != nil {
		return ks, err
	}
	fkSpec, err := flatMap(fk["spec"])
	if err != nil {
		return ks, err
	}
	if ks.fkType, err = str(fk["type"]); err != nil {
		return ks, err
	}
	switch ks.fkType {
	case "range":
		ks.lastKey, err = num(fkSpec["lastkey"])
		if err == nil {
			ks.keyStep, err = num(fkSpec["keystep"])
		}
		if err == nil {
			ks.limit, err = num(fkSpec["limit"])
		}
	case "keynum":
		ks.keynumIdx, err = num(fkSpec["keynumidx"])
		if err == nil {
			ks.firstKey, err = num(fkSpec["firstkey"])
		}
		if err == nil {
			ks.keyStep, err = num(fkSpec["keystep"])
		}
	case "unknown":
	default:
		err = fmt.Errorf("find_keys type %q", ks.fkType)
	}
	return ks, err
}

// docs is the part of a COMMAND DOCS entry the table keeps.
type docs struct {
	group, since string
	subs         map[string]docs
}

func parseDocsMap(v any) (map[string]docs, error) {
	m, err := flatMap(v)
	if err != nil {
		return nil, err
	}
	out := make(map[string]docs, len(m))
	for name, e := range m {
		f, err := flatMap(e)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		var d docs
		if d.group, err = str(f["group"]); err != nil {
			return nil, fmt.Errorf("%s group: %w", name, err)
		}
		if s, ok := f["since"]; ok {
			if d.since, err = str(s); err != nil {
				return nil, fmt.Errorf("%s since: %w", name, err)
			}
		}
		if s, ok := f["subcommands"]; ok {
			if d.subs, err = parseDocsMap(s); err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
		}
		out[strings.ToLower(name)] = d
	}
	return out, nil
}

func applyDocs(c *command, dm map[string]docs) error {
	d, ok := dm[c.name]
	if !ok {
		return fmt.Errorf("COMMAND DOCS has no entry for %s", c.name)
	}
	c.group, c.since = d.group, d.since
	for _, s := range c.subs {
		if err := applyDocs(s, d.subs); err != nil {
			return err
		}
	}
	return nil
}

func str(v any) (string, error) {
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("want a string, got %T", v)
	}
	return s, nil
}

func num(v any) (int64, error) {
	n, ok := v.(int64)
	if !ok {
		return 0, fmt.Errorf("want an integer, got %T", v)
	}
	return n, nil
}

func strs(v any) ([]string, error) {
	a, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("want an array, got %T", v)
	}
	out := make([]string, 0, len(a))
	for _, e := range a {
		s, err := str(e)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// flatMap reads a RESP2 map (a flat array of keys and values).
func flatMap(v any) (map[string]any, error) {
	a, ok := v.([]any)
	if !ok || len(a)%2 != 0 {
		return nil, fmt.Errorf("want a flat map, got %T", v)
	}
	m := make(map[string]any, len(a)/2)
	for i := 0; i < len(a); i += 2 {
		k, err := str(a[i])
		if err != nil {
			return nil, err
		}
		m[k] = a[i+1]
	}
	return m, nil
}

// flagIdent maps a COMMAND INFO flag name to its Go constant.
func flagIdent(name string) (string, bool) {
	id, ok := map[string]string{
		"write": "FlagWrite", "readonly": "FlagReadonly", "denyoom": "FlagDenyOOM",
		"module": "FlagModule", "admin": "FlagAdmin", "pubsub": "FlagPubSub",
		"noscript": "FlagNoScript", "blocking": "FlagBlocking", "loading": "FlagLoading",
		"stale": "FlagStale", "skip_monitor": "FlagSkipMonitor", "skip_slowlog": "FlagSkipSlowlog",
		"asking": "FlagAsking", "fast": "FlagFast", "no_auth": "FlagNoAuth",
		"may_replicate": "FlagMayReplicate", "sentinel": "FlagSentinel",
		"only_sentinel": "FlagOnlySentinel", "no_mandatory_keys": "FlagNoMandatoryKeys",
		"protected": "FlagProtected", "no_async_loading": "FlagNoAsyncLoading",
		"no_multi": "FlagNoMulti", "movablekeys": "FlagMovableKeys", "allow_busy": "FlagAllowBusy",
	}[name]
	return id, ok
}

// catIdent maps an ACL category ("@read") to its Go constant.
func catIdent(name string) (string, bool) {
	id, ok := map[string]string{
		"@keyspace": "CatKeyspace", "@read": "CatRead", "@write": "CatWrite", "@set": "CatSet",
		"@sortedset": "CatSortedSet", "@list": "CatList", "@hash": "CatHash", "@string": "CatString",
		"@bitmap": "CatBitmap", "@hyperloglog": "CatHyperLogLog", "@geo": "CatGeo",
		"@stream": "CatStream", "@pubsub": "CatPubSub", "@admin": "CatAdmin", "@fast": "CatFast",
		"@slow": "CatSlow", "@blocking": "CatBlocking", "@dangerous": "CatDangerous",
		"@connection": "CatConnection", "@transaction": "CatTransaction", "@scripting": "CatScripting",
	}[name]
	return id, ok
}

func render(cmds []*command, version string) ([]byte, error) {
	var b bytes.Buffer
	fmt.Fprintf(&b, "// Code generated by go run ./internal/command/gen from redis-server %s; DO NOT EDIT.\n\n", version)
	b.WriteString("package command\n\n")
	b.WriteString("// specs returns a freshly built description of every command, as\n")
	b.WriteString("// COMMAND INFO and COMMAND DOCS of Redis " + version + " report it.\n")
	b.WriteString("func specs() []*Spec {\n\treturn []*Spec{\n")
	for _, c := range cmds {
		if err := writeSpec(&b, c); err != nil {
			return nil, err
		}
	}
	b.WriteString("\t}\n}\n")
	src, err := format.Source(b.Bytes())
	if err != nil {
		return nil, fmt.Errorf("gofmt generated source: %w", err)
	}
	return src, nil
}

func writeSpec(b *bytes.Buffer, c *command) error {
	b.WriteString("{\n")
	fmt.Fprintf(b, "Name: %q, Arity: %d,\n", c.name, c.arity)
	var ids []string
	for _, f := range c.flags {
		id, ok := flagIdent(f)
		if !ok {
			return fmt.Errorf("%s: unknown flag %q", c.name, f)
		}
		ids = append(ids, id)
	}
	if len(ids) > 0 {
		fmt.Fprintf(b, "Flags: %s,\n", strings.Join(ids, " | "))
	}
	if c.first != 0 || c.last != 0 || c.step != 0 {
		fmt.Fprintf(b, "FirstKey: %d, LastKey: %d, Step: %d,\n", c.first, c.last, c.step)
	}
	ids = ids[:0]
	for _, cat := range c.cats {
		id, ok := catIdent(cat)
		if !ok {
			return fmt.Errorf("%s: unknown ACL category %q", c.name, cat)
		}
		ids = append(ids, id)
	}
	if len(ids) > 0 {
		fmt.Fprintf(b, "Categories: %s,\n", strings.Join(ids, " | "))
	}
	if len(c.tips) > 0 {
		fmt.Fprintf(b, "Tips: %s,\n", quoteList(c.tips))
	}
	if len(c.keySpecs) > 0 {
		b.WriteString("KeySpecs: []KeySpec{\n")
		for _, ks := range c.keySpecs {
			writeKeySpec(b, ks)
		}
		b.WriteString("},\n")
	}
	fmt.Fprintf(b, "Group: %q, Since: %q,\n", c.group, c.since)
	if c.summary != "" {
		fmt.Fprintf(b, "Summary: %q,\n", c.summary)
	}
	if len(c.subs) > 0 {
		b.WriteString("Subcommands: []*Spec{\n")
		for _, s := range c.subs {
			if err := writeSpec(b, s); err != nil {
				return err
			}
		}
		b.WriteString("},\n")
	}
	b.WriteString("},\n")
	return nil
}

func writeKeySpec(b *bytes.Buffer, ks keySpec) {
	var f []string
	if ks.notes != "" {
		f = append(f, "Notes: "+strconv.Quote(ks.notes))
	}
	f = append(f, "Flags: "+quoteList(ks.flags))
	switch ks.bsType {
	case "index":
		f = append(f, fmt.Sprintf("BeginIndex: %d", ks.index))
	case "keyword":
		f = append(f, fmt.Sprintf("BeginKeyword: %q, KeywordFrom: %d", ks.keyword, ks.startFrom))
	default:
		f = append(f, "BeginUnknown: true")
	}
	switch ks.fkType {
	case "range":
		f = append(f, fmt.Sprintf("RangeLast: %d, RangeStep: %d, RangeLimit: %d", ks.lastKey, ks.keyStep, ks.limit))
	case "keynum":
		f = append(f, fmt.Sprintf("Keynum: true, KeynumIdx: %d, FirstKey: %d, KeyStep: %d", ks.keynumIdx, ks.firstKey, ks.keyStep))
	default:
		f = append(f, "FindUnknown: true")
	}
	fmt.Fprintf(b, "{%s},\n", strings.Join(f, ", "))
}

func quoteList(s []string) string {
	q := make([]string, len(s))
	for i, e := range s {
		q[i] = strconv.Quote(e)
	}
	return "[]string{" + strings.Join(q, ", ") + "}"
}
