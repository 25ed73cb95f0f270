package config

import (
	"strings"
	"testing"
)

func TestParseValid(t *testing.T) {
	cfg, err := Parse("c.yaml", []byte(`
instances:
  - name: default
    listen: ["127.0.0.1:6379"]
  - name: sessions
    listen:
      - 127.0.0.1:6380
      - unix:/tmp/s.sock
    data: /var/lib/redoubt/sessions
    databases: 4
`))
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Finish("c.yaml"); err != nil {
		t.Fatal(err)
	}
	if len(cfg.Instances) != 2 {
		t.Fatalf("%d instances", len(cfg.Instances))
	}
	s := cfg.Instances[1]
	if s.Name != "sessions" || len(s.Listen) != 2 || s.Data != "/var/lib/redoubt/sessions" || s.Databases != 4 {
		t.Fatalf("sessions: %+v", s)
	}
	if d := cfg.Instances[0]; d.Data != "data/default" || d.Databases != DefaultDatabases {
		t.Fatalf("defaults not filled: %+v", d)
	}
}

// TestParseErrors checks that every error is reported, each with its line.
func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{"syntax", "instances:\n  - name: [\n", []string{"c.yaml:2: did not find expected node content"}},
		{"unknown keys", "instances:\n  - name: a\n    listen: 127.0.0.1:1\n    colour: red\nfoo: 1\n",
			[]string{`c.yaml:4: unknown instance key "colour"`, `c.yaml:5: unknown key "foo"`}},
		{"bad databases", "instances:\n  - name: a\n    listen: 127.0.0.1:1\n    databases: lots\n",
			[]string{"c.yaml:4: databases must be a whole number"}},
		{"no name", "instances:\n  - listen: 127.0.0.1:1\n", []string{"c.yaml:2: an instance needs a name"}},
		{"bad name", "instances:\n  - name: a/b\n    listen: 127.0.0.1:1\n", []string{`c.yaml:2: instance name "a/b"`}},
		{"duplicates", "instances:\n  - name: a\n    listen: 127.0.0.1:1\n    data: d\n  - name: a\n    listen: 127.0.0.1:1\n    data: ./d\n",
			[]string{`c.yaml:5: instance name "a" is used twice`, "both listen on 127.0.0.1:1", "share the data directory"}},
		{"bad address", "instances:\n  - name: a\n    listen: nonsense\n", []string{`c.yaml:2: instance "a": listen "nonsense"`}},
		{"no instances", "instances: []\n", []string{"no instances configured"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("c.yaml", []byte(tt.in))
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestOverride(t *testing.T) {
	cfg := Default()
	cfg.Override("127.0.0.1:7000", "/tmp/x")
	if err := cfg.Finish("flags"); err != nil {
		t.Fatal(err)
	}
	if d := cfg.Instances[0]; d.Listen[0] != "127.0.0.1:7000" || d.Data != "/tmp/x" {
		t.Fatalf("%+v", d)
	}
	// Flags add a default instance to a file that has none.
	cfg, err := Parse("c.yaml", []byte("instances:\n  - name: other\n    listen: 127.0.0.1:7001\n"))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Override("127.0.0.1:7002", "")
	if err := cfg.Finish("c.yaml"); err != nil {
		t.Fatal(err)
	}
	if len(cfg.Instances) != 2 || cfg.Instances[1].Name != DefaultInstance {
		t.Fatalf("%+v", cfg.Instances)
	}
}

// FuzzParse checks that no configuration text panics the parser and that
// every error it reports names the file.
func FuzzParse(f *testing.F) {
	f.Add([]byte("instances:\n  - name: a\n    listen: [\"127.0.0.1:1\", \"unix:/s\"]\n    databases: 4\n"))
	f.Add([]byte("instances:\n  - name: [\n"))
	f.Add([]byte("instances: {a: 1}\nx: &a [*a]\n"))
	f.Add([]byte("instances:\n  - name: a\n    listen: 127.0.0.1:1\n    backend:\n      url: rediss://u@h:1/2\n      pool_size: 2\n      tls: {server_name: x}\n"))
	f.Add([]byte("instances:\n  - name: a\n    listen: 127.0.0.1:1\n    backend: managed\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse("f.yaml", data)
		if err != nil {
			if !strings.Contains(err.Error(), "f.yaml") {
				t.Fatalf("error without the file name: %v", err)
			}
			return
		}
		cfg.Override("127.0.0.1:1", "")
		_ = cfg.Finish("f.yaml")
	})
}
