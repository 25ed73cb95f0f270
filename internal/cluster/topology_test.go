package cluster

import (
	"bytes"
	"reflect"
	"strings"
	"testing"

	"redoubt/internal/resp"
)

// Replies recorded from a redis-server 7.0.15 cluster of three masters.
const (
	shardsReply = "*3\r\n*4\r\n$5\r\nslots\r\n*2\r\n:5461\r\n:10922\r\n$5\r\nnodes\r\n*1\r\n*14\r\n$2\r\nid\r\n$40\r\n6464dcc40287d5d1924658c2b884367157d05d62\r\n$4\r\nport\r\n:31002\r\n$2\r\nip\r\n$9\r\n127.0.0.1\r\n$8\r\nendpoint\r\n$9\r\n127.0.0.1\r\n$4\r\nrole\r\n$6\r\nmaster\r\n$18\r\nreplication-offset\r\n:0\r\n$6\r\nhealth\r\n$6\r\nonline\r\n*4\r\n$5\r\nslots\r\n*2\r\n:0\r\n:5460\r\n$5\r\nnodes\r\n*1\r\n*14\r\n$2\r\nid\r\n$40\r\nab7ae3968283155aa36327d043207a3eb40ce241\r\n$4\r\nport\r\n:31001\r\n$2\r\nip\r\n$9\r\n127.0.0.1\r\n$8\r\nendpoint\r\n$9\r\n127.0.0.1\r\n$4\r\nrole\r\n$6\r\nmaster\r\n$18\r\nreplication-offset\r\n:0\r\n$6\r\nhealth\r\n$6\r\nonline\r\n*4\r\n$5\r\nslots\r\n*2\r\n:10923\r\n:16383\r\n$5\r\nnodes\r\n*1\r\n*14\r\n$2\r\nid\r\n$40\r\nb23f5e9700f4faa62f1506255c9fbead606d38a7\r\n$4\r\nport\r\n:31003\r\n$2\r\nip\r\n$9\r\n127.0.0.1\r\n$8\r\nendpoint\r\n$9\r\n127.0.0.1\r\n$4\r\nrole\r\n$6\r\nmaster\r\n$18\r\nreplication-offset\r\n:0\r\n$6\r\nhealth\r\n$6\r\nonline\r\n"
	slotsReply  = "*3\r\n*3\r\n:0\r\n:5460\r\n*4\r\n$9\r\n127.0.0.1\r\n:31001\r\n$40\r\nab7ae3968283155aa36327d043207a3eb40ce241\r\n*0\r\n*3\r\n:5461\r\n:10922\r\n*4\r\n$9\r\n127.0.0.1\r\n:31002\r\n$40\r\n6464dcc40287d5d1924658c2b884367157d05d62\r\n*0\r\n*3\r\n:10923\r\n:16383\r\n*4\r\n$9\r\n127.0.0.1\r\n:31003\r\n$40\r\nb23f5e9700f4faa62f1506255c9fbead606d38a7\r\n*0\r\n"
)

func value(t testing.TB, s string) resp.Value {
	v, err := resp.NewReader(strings.NewReader(s), resp.DefaultLimits()).ReadValue()
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// bulk and node build CLUSTER SHARDS replies for the cases not recorded.
func bulk(s string) string { return "$" + itoa(len(s)) + "\r\n" + s + "\r\n" }

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}

func node(port int, role, health string) string {
	return "*12\r\n" + bulk("id") + bulk("x") + bulk("port") + ":" + itoa(port) + "\r\n" + bulk("ip") + bulk("10.0.0.1") +
		bulk("endpoint") + bulk("?") + bulk("role") + bulk(role) + bulk("health") + bulk(health)
}

func TestParseTopology(t *testing.T) {
	three := []shard{
		{"127.0.0.1:31002", [][2]int{{5461, 10922}}},
		{"127.0.0.1:31001", [][2]int{{0, 5460}}},
		{"127.0.0.1:31003", [][2]int{{10923, 16383}}},
	}
	got, err := parseShards(value(t, shardsReply), false)
	if err != nil || !reflect.DeepEqual(got, three) {
		t.Fatalf("CLUSTER SHARDS: %v %v", got, err)
	}
	got, err = parseSlots(value(t, slotsReply), "127.0.0.1")
	want := []shard{three[1], three[0], three[2]}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("CLUSTER SLOTS: %v %v", got, err)
	}
	// After a failover the failed master may still be listed first: the
	// replica that took over serves the slots. "?" endpoints fall back
	// to the ip.
	failover := "*1\r\n*4\r\n" + bulk("slots") + "*4\r\n:0\r\n:99\r\n:200\r\n:16383\r\n" + bulk("nodes") + "*2\r\n" +
		node(7000, "master", "fail") + node(7001, "master", "online")
	got, err = parseShards(value(t, failover), false)
	if err != nil || !reflect.DeepEqual(got, []shard{{"10.0.0.1:7001", [][2]int{{0, 99}, {200, 16383}}}}) {
		t.Fatalf("failover: %v %v", got, err)
	}
	// No replica took over yet: the failed master still owns its slots.
	got, err = parseShards(value(t, "*1\r\n*4\r\n"+bulk("slots")+"*2\r\n:0\r\n:10\r\n"+bulk("nodes")+"*2\r\n"+
		node(7000, "master", "fail")+node(7001, "replica", "online")), false)
	if err != nil || !reflect.DeepEqual(got, []shard{{"10.0.0.1:7000", [][2]int{{0, 10}}}}) {
		t.Fatalf("failed master: %v %v", got, err)
	}
	// An empty ip in CLUSTER SLOTS means the node that answered.
	got, err = parseSlots(value(t, "*1\r\n*3\r\n:0\r\n:16383\r\n*2\r\n$0\r\n\r\n:7000\r\n"), "10.1.1.1")
	if err != nil || !reflect.DeepEqual(got, []shard{{"10.1.1.1:7000", [][2]int{{0, 16383}}}}) {
		t.Fatalf("empty ip: %v %v", got, err)
	}
}

func TestParseTopologyErrors(t *testing.T) {
	bad := []string{
		"-ERR This instance has cluster support disabled\r\n",
		"*0\r\n",
		":1\r\n",
		"*1\r\n*4\r\n" + bulk("slots") + "*2\r\n:0\r\n:16384\r\n" + bulk("nodes") + "*1\r\n" + node(7000, "master", "online"),
		"*1\r\n*4\r\n" + bulk("slots") + "*2\r\n:9\r\n:1\r\n" + bulk("nodes") + "*1\r\n" + node(7000, "master", "online"),
		"*1\r\n*4\r\n" + bulk("slots") + "*2\r\n:0\r\n:1\r\n" + bulk("nodes") + "*1\r\n" + node(0, "master", "online"),
		"*1\r\n*3\r\n" + bulk("slots") + "*2\r\n:0\r\n:1\r\n" + bulk("nodes"),
	}
	for _, b := range bad {
		if got, err := parseShards(value(t, b), false); err == nil {
			t.Errorf("parseShards(%q) = %v, want an error", b, got)
		}
	}
	for _, b := range []string{"*1\r\n*3\r\n:0\r\n:16384\r\n*2\r\n$1\r\na\r\n:7000\r\n", "*1\r\n*2\r\n:0\r\n:1\r\n", "*1\r\n*3\r\n:0\r\n:1\r\n*2\r\n$1\r\na\r\n:70000\r\n"} {
		if got, err := parseSlots(value(t, b), "h"); err == nil {
			t.Errorf("parseSlots(%q) = %v, want an error", b, got)
		}
	}
}

// FuzzParseTopology: no reply a node could send makes the parsers panic
// or return a slot outside the map.
func FuzzParseTopology(f *testing.F) {
	f.Add([]byte(shardsReply))
	f.Add([]byte(slotsReply))
	f.Add([]byte("*1\r\n*4\r\n$5\r\nslots\r\n*2\r\n:-1\r\n:3\r\n$5\r\nnodes\r\n*0\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := resp.NewReader(bytes.NewReader(b), resp.DefaultLimits()).ReadValue()
		if err != nil {
			return
		}
		for _, parse := range []func() ([]shard, error){
			func() ([]shard, error) { return parseShards(v, false) },
			func() ([]shard, error) { return parseSlots(v, "h") },
		} {
			shards, err := parse()
			if err != nil {
				continue
			}
			for _, sh := range shards {
				for _, r := range sh.ranges {
					if r[0] < 0 || r[1] >= Slots || r[0] > r[1] {
						t.Fatalf("range %v", r)
					}
				}
			}
		}
	})
}
