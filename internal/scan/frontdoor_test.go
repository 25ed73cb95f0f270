package scan

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"redoubt/internal/auth"
	"redoubt/internal/config"
	"redoubt/internal/guard"
)

// cheap returns argon2id parameters that make a test's 20 guesses
// fast; the rules do not depend on the cost.
func cheap() auth.Params {
	return auth.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}
}

func hash(t testing.TB, pw string, p auth.Params) string {
	t.Helper()
	h, err := auth.HashPassword([]byte(pw), p)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// parse parses and finishes a configuration as `redoubt` does.
func parse(t testing.TB, yaml string) *config.Config {
	t.Helper()
	cfg, err := config.Parse("test.yaml", []byte(yaml))
	if err == nil {
		err = cfg.Finish("test.yaml")
	}
	if err != nil {
		t.Fatalf("configuration:\n%s\n%v", yaml, err)
	}
	return cfg
}

// ids returns the rule ids of findings, with their severities.
func ids(fs []Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.ID+"/"+f.Severity.String())
	}
	return out
}

func byID(fs []Finding, id string) []Finding {
	var out []Finding
	for _, f := range fs {
		if f.ID == id {
			out = append(out, f)
		}
	}
	return out
}

// noSecret fails when any field of a finding holds one of secrets.
func noSecret(t testing.TB, fs []Finding, secrets ...string) {
	t.Helper()
	for _, f := range fs {
		all := strings.Join([]string{f.ID, f.Instance, f.Node, f.Title, f.Evidence, f.Remedy}, "\n")
		for _, s := range secrets {
			if s != "" && strings.Contains(all, s) {
				t.Fatalf("finding %s holds a secret: %+v", f.ID, f)
			}
		}
	}
}

func scanConfig(t testing.TB, cfg *config.Config) []Finding {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return Run(ctx, Options{Config: cfg, Timeout: 2 * time.Second})
}

// TestConfigRules runs the rules that read only the configuration.
func TestConfigRules(t *testing.T) {
	strong := hash(t, "Tr1cky-Horse-Battery", cheap())
	weak := hash(t, "password", auth.DefaultParams()) // the real cost: found at the 3rd guess
	own := hash(t, "alice", cheap())
	dir := t.TempDir()
	data := func(name string) string { return filepath.Join(dir, name) }
	tests := []struct {
		name   string
		yaml   string
		mutate func(*config.Config) // a configuration made past config's own checks
		want   []string             // rule/severity, in report order
	}{
		{"default instance: no password on loopback", `
instances:
  - name: default
    data: ` + data("d1"), nil, []string{"no-password/low"}},
		{"hardened private instance", `
admin: {listen: off}
instances:
  - name: lan
    listen: 10.1.2.3:6379
    data: ` + data("d2") + `
    allowlist: {office: [10.1.0.0/16]}
    accounts:
      - {name: default, password_hash: "` + strong + `"}`, nil, nil},
		{"allowlist open to the world on a private address", `
admin: {listen: off}
instances:
  - name: lan
    listen: 10.1.2.3:6379
    data: ` + data("d3") + `
    allowlist: {office: [10.1.0.0/16], world: [0.0.0.0/0, "::/0"]}
    accounts:
      - {name: default, password_hash: "` + strong + `"}`, nil, []string{"allowlist-open/medium"}},
		{"admin on a private address without TLS", `
admin: {listen: "192.168.1.5:7379"}
instances:
  - name: default
    data: ` + data("d4") + `
    accounts:
      - {name: default, password_hash: "` + strong + `"}`, nil, []string{"admin-plaintext/medium"}},
		{"weak account passwords", `
admin: {listen: off}
instances:
  - name: lan
    listen: 10.1.2.3:6379
    data: ` + data("d5") + `
    accounts:
      - {name: default, password_hash: "` + strong + `"}
      - {name: app, password_hash: ["` + strong + `", "` + weak + `"]}
      - {name: alice, password_hash: "` + own + `"}
      - {name: gone, password_hash: "` + weak + `", rules: "off"}`, nil,
			[]string{"weak-password/high", "weak-password/high"}},
		{"nopass account on a private address", `
admin: {listen: off}
instances:
  - name: lan
    listen: 127.0.0.1:6390
    data: ` + data("d6") + `
    accounts:
      - {name: default, password_hash: "` + strong + `"}
      - {name: robot, rules: "nopass ~* +@read"}`,
			func(c *config.Config) { c.Instances[0].Listen = []string{"10.1.2.3:6379"} },
			[]string{"no-password/high"}},
		{"public address in plain text", `
admin: {listen: off}
instances:
  - name: edge
    listen: 127.0.0.1:6391
    data: ` + data("d7") + `
    accounts:
      - {name: default, password_hash: "` + strong + `"}`,
			func(c *config.Config) { c.Instances[0].Listen = []string{"203.0.113.5:6379"} },
			[]string{"public-no-tls/high"}},
		{"no accounts on a public address", `
admin: {listen: off}
instances:
  - name: edge
    listen: 127.0.0.1:6392
    data: ` + data("d8"),
			func(c *config.Config) {
				c.Instances[0].TLS = &config.TLS{Listen: []string{"203.0.113.5:6380"}}
			},
			[]string{"no-password/critical"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := parse(t, tt.yaml)
			if tt.mutate != nil {
				tt.mutate(cfg)
			}
			fs := scanConfig(t, cfg)
			if got := strings.Join(ids(fs), " "); got != strings.Join(tt.want, " ") {
				t.Fatalf("findings %q, want %q\n%+v", got, tt.want, fs)
			}
			noSecret(t, fs, strong, weak, own, "Tr1cky-Horse-Battery")
			for _, f := range fs {
				if f.Title == "" || f.Evidence == "" || f.Remedy == "" {
					t.Fatalf("incomplete finding %+v", f)
				}
			}
		})
	}
}

// TestWeakPasswordEvidence checks what the evidence of a guessed
// password says: the kind of guess, never the password.
func TestWeakPasswordEvidence(t *testing.T) {
	cfg := parse(t, `
admin: {listen: off}
instances:
  - name: default
    data: `+filepath.Join(t.TempDir(), "d")+`
    accounts:
      - {name: default, password_hash: "`+hash(t, "Tr1cky-Horse-Battery", cheap())+`"}
      - {name: alice, password_hash: "`+hash(t, "alice", cheap())+`"}
      - {name: bob, password_hash: "`+hash(t, "foobared", cheap())+`"}`)
	fs := byID(scanConfig(t, cfg), RuleWeakPassword)
	if len(fs) != 2 {
		t.Fatalf("weak-password findings %+v", fs)
	}
	for _, f := range fs {
		if f.Severity != Medium { // loopback only
			t.Errorf("severity %v, want medium on loopback: %+v", f.Severity, f)
		}
	}
	if !strings.Contains(fs[0].Title+fs[0].Evidence, `"alice"`) || !strings.Contains(fs[0].Evidence, "own name") {
		t.Errorf("alice: %+v", fs[0])
	}
	if !strings.Contains(fs[1].Title, `"bob"`) || !strings.Contains(fs[1].Evidence, "most common passwords") {
		t.Errorf("bob: %+v", fs[1])
	}
	noSecret(t, fs, "foobared")
}

// TestGuessBounds: at most 20 guesses per hash, the account's name
// first, and fewer for dearer hashes.
func TestGuessBounds(t *testing.T) {
	g := guesses("alice", maxGuesses)
	if len(g) != maxGuesses || g[0] != "alice" {
		t.Fatalf("guesses %q", g)
	}
	if g := guesses("password", 100); len(g) != len(commonPasswords()) || g[0] != "password" {
		t.Fatalf("an account named like a common password is guessed once: %q", g)
	}
	def := auth.DefaultParams()
	for _, tt := range []struct {
		p    auth.Params
		want int
	}{
		{def, maxGuesses},
		{cheap(), maxGuesses},
		{auth.Params{Memory: def.Memory * 4, Time: def.Time}, maxGuesses / 4},
		{auth.Params{Memory: auth.MaxMemoryKiB, Time: auth.MaxTime}, 1},
	} {
		if got := guessCount(tt.p); got != tt.want {
			t.Errorf("guessCount(m=%d,t=%d) = %d, want %d", tt.p.Memory, tt.p.Time, got, tt.want)
		}
	}
	// The guesses made: all 20 for a default hash, one for a dear hash.
	s := NewScanner()
	for _, tt := range []struct {
		p    auth.Params
		want []string
	}{
		{def, guesses("carol", maxGuesses)},
		{auth.Params{Memory: auth.MaxMemoryKiB, Time: auth.MaxTime}, []string{"carol"}},
	} {
		var tried []string
		why, ok := s.verdictWith(context.Background(), fmt.Sprint("k", tt.p.Memory), "carol", tt.p, func(pw []byte) bool {
			tried = append(tried, string(pw))
			return false
		})
		if !ok || why != "" || strings.Join(tried, ",") != strings.Join(tt.want, ",") {
			t.Fatalf("m=%d: verdict %q %v after %q, want %q", tt.p.Memory, why, ok, tried, tt.want)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, ok := s.verdictWith(ctx, "cancelled", "carol", def, func([]byte) bool { return false }); ok {
		t.Fatal("a cancelled guess gave a verdict")
	}
	if _, remembered := s.verdicts["cancelled"]; remembered {
		t.Fatal("a cancelled guess was remembered")
	}
}

// TestVerdictsRemembered: a second scan of the same accounts guesses
// nothing again, and a scan forgets the accounts that are gone.
func TestVerdictsRemembered(t *testing.T) {
	yaml := `
admin: {listen: off}
instances:
  - name: default
    data: ` + filepath.Join(t.TempDir(), "d") + `
    accounts:
      - {name: default, password_hash: "` + hash(t, "Tr1cky-Horse-Battery", cheap()) + `"}
      - {name: app, password_hash: "` + hash(t, "letmein", cheap()) + `"}`
	cfg := parse(t, yaml)
	s := NewScanner()
	first := s.Run(context.Background(), Options{Config: cfg})
	if len(s.verdicts) != 2 {
		t.Fatalf("verdicts %v", s.verdicts)
	}
	// Poison the remembered verdicts: a second scan must use them.
	for k := range s.verdicts {
		s.verdicts[k] = "remembered"
	}
	second := s.Run(context.Background(), Options{Config: cfg})
	if len(byID(first, RuleWeakPassword)) != 1 || len(byID(second, RuleWeakPassword)) != 2 {
		t.Fatalf("first %v, second %v", ids(first), ids(second))
	}
	cfg.Instances[0].Accounts = cfg.Instances[0].Accounts[:1]
	s.Run(context.Background(), Options{Config: cfg})
	if len(s.verdicts) != 1 {
		t.Fatalf("verdicts after an account went: %v", s.verdicts)
	}
}

// TestDataDirModes: the data directory and the directories above it.
func TestDataDirModes(t *testing.T) {
	tests := []struct {
		name          string
		parent, data  os.FileMode
		want          string
		evidenceParts []string
	}{
		{"private", 0o700, 0o700, "", nil},
		{"readable by others only", 0o755, 0o755, "", nil},
		{"world-writable", 0o700, 0o777, "data-dir-writable/high", []string{"mode 0777", "writable by others"}},
		{"group-writable", 0o700, 0o770, "data-dir-writable/medium", []string{"mode 0770", "its group"}},
		{"parent world-writable", 0o777, 0o700, "data-dir-writable/high", []string{"above the data directory", "no sticky bit"}},
		{"parent group-writable", 0o770, 0o700, "data-dir-writable/medium", []string{"above the data directory"}},
		{"parent sticky like /tmp", 0o777 | os.ModeSticky, 0o700, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parent := filepath.Join(t.TempDir(), "srv")
			data := filepath.Join(parent, "data")
			if err := os.MkdirAll(data, 0o700); err != nil {
				t.Fatal(err)
			}
			// Chmod, not Mkdir: the umask would clear the bits.
			if err := os.Chmod(data, tt.data); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(parent, tt.parent); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = os.Chmod(parent, 0o700) })
			inst := config.Default().Instances[0]
			inst.Data = data
			fs := dataDirRules(inst)
			if got := strings.Join(ids(fs), " "); got != tt.want {
				t.Fatalf("findings %q, want %q: %+v", got, tt.want, fs)
			}
			for _, part := range tt.evidenceParts {
				if !strings.Contains(fs[0].Evidence, part) {
					t.Errorf("evidence %q lacks %q", fs[0].Evidence, part)
				}
			}
		})
	}
	inst := config.Default().Instances[0]
	inst.Data = filepath.Join(t.TempDir(), "not", "yet")
	if fs := dataDirRules(inst); len(fs) != 0 {
		t.Fatalf("a missing data directory: %+v", fs)
	}
}

// TestAdminListener: every shape of admin listener.
func TestAdminListener(t *testing.T) {
	for _, tt := range []struct {
		admin config.Admin
		want  string
	}{
		{config.DefaultAdmin(), ""},
		{config.Admin{Off: true}, ""},
		{config.Admin{Listen: "[::1]:7379"}, ""},
		{config.Admin{Listen: "10.0.0.5:7379"}, "admin-plaintext/medium"},
		{config.Admin{Listen: "[fe80::1]:7379"}, "admin-plaintext/medium"},
		{config.Admin{Listen: "0.0.0.0:7379", Public: true}, "admin-plaintext/high"},
	} {
		if got := strings.Join(ids(adminRules(tt.admin)), " "); got != tt.want {
			t.Errorf("admin %+v: %q, want %q", tt.admin, got, tt.want)
		}
	}
}

// TestAllowlistEvidence names the open groups and their entries.
func TestAllowlistEvidence(t *testing.T) {
	al, err := guard.NewAllowlist([]guard.Group{{Name: "office", Entries: []string{"10.0.0.0/8"}}, {Name: "world", Entries: []string{" 0.0.0.0/0 "}}})
	if err != nil {
		t.Fatal(err)
	}
	if got := openAllowlist(al); got != `group "world" admits 0.0.0.0/0` {
		t.Fatalf("evidence %q", got)
	}
	halves, err := guard.NewAllowlist([]guard.Group{{Name: "a", Entries: []string{"0.0.0.0/1", "128.0.0.0/1"}}})
	if err != nil {
		t.Fatal(err)
	}
	inst := config.Default().Instances[0]
	inst.Allowlist = halves
	fs := byID(frontDoor(inst), RuleAllowlistOpen)
	if len(fs) != 1 || !strings.Contains(fs[0].Evidence, "together") {
		t.Fatalf("two halves of IPv4: %+v", fs)
	}
}

// TestBackendPasswordRule judges the configured backend password.
func TestBackendPasswordRule(t *testing.T) {
	for _, tt := range []struct {
		url, want string
	}{
		{"redis://127.0.0.1:1", ""},
		{"redis://:foobared@127.0.0.1:1", "backend-weak-password/high"},
		{"redis://app:APP@127.0.0.1:1", "backend-weak-password/high"},
		{"redis://:s3cr3t-pw@127.0.0.1:1", "backend-weak-password/medium"},
		{"redis://:f3a9c0d17b2e48a6@127.0.0.1:1", ""},
		{"redis-cluster://:admin@127.0.0.1:1,127.0.0.1:2", "backend-weak-password/high"},
	} {
		b, err := config.ParseBackend(tt.url)
		if err != nil {
			t.Fatal(err)
		}
		inst := config.Default().Instances[0]
		inst.Backend = b
		fs := backendPasswordRule(inst)
		if got := strings.Join(ids(fs), " "); got != tt.want {
			t.Errorf("%s: %q, want %q", tt.url, got, tt.want)
		}
		noSecret(t, fs, b.Target.Password)
	}
}

// TestSeverity: names, parsing and JSON text.
func TestSeverity(t *testing.T) {
	for s := Info; s <= Critical; s++ {
		b, err := s.MarshalText()
		if err != nil {
			t.Fatal(err)
		}
		var back Severity
		if err := back.UnmarshalText([]byte(strings.ToUpper(string(b)))); err != nil || back != s {
			t.Fatalf("%v: %q → %v, %v", s, b, back, err)
		}
	}
	if _, err := ParseSeverity("severe"); err == nil {
		t.Fatal("unknown severity accepted")
	}
	if _, err := Severity(9).MarshalText(); err == nil {
		t.Fatal("invalid severity marshalled")
	}
	fs := []Finding{{Severity: Low}, {Severity: High}}
	if w, ok := Worst(fs); !ok || w != High || len(AtLeast(fs, Medium)) != 1 {
		t.Fatal("Worst or AtLeast")
	}
}

// TestEveryAndConcurrency: Every scans at once and on each tick, stops
// with its context, and scans of one Scanner may overlap.
func TestEveryAndConcurrency(t *testing.T) {
	cfg := parse(t, `
instances:
  - name: default
    data: `+filepath.Join(t.TempDir(), "d")+`
    accounts:
      - {name: default, password_hash: "`+hash(t, "Tr1cky-Horse-Battery", cheap())+`"}`)
	s := NewScanner()
	ctx, cancel := context.WithCancel(context.Background())
	var mu sync.Mutex
	reports := 0
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.Every(ctx, 5*time.Millisecond, func() Options { return Options{Config: cfg} }, func([]Finding) {
			mu.Lock()
			defer mu.Unlock()
			if reports++; reports == 3 {
				cancel()
			}
		})
	}()
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() { s.Run(context.Background(), Options{Config: cfg}) })
	}
	wg.Wait()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("Every did not return after its context ended")
	}
	if reports != 3 {
		t.Fatalf("%d reports, want 3", reports)
	}
	once := 0
	s.Every(context.Background(), 0, func() Options { return Options{Config: cfg} }, func([]Finding) { once++ })
	if once != 1 {
		t.Fatalf("interval 0: %d scans, want 1", once)
	}
}
