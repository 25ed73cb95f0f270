package compat

import (
	"bytes"
	"slices"
	"strconv"
	"testing"
	"time"

	"redoubt/internal/resp"
	"redoubt/internal/testutil"
)

// psPair drives a subscriber and a publisher connection on each server
// identically and compares what each of them receives.
type psPair struct {
	t        *testing.T
	sub, pub [2]*rawConn // [0] redis-server, [1] redoubt
}

func newPSPair(t *testing.T, proto int) *psPair {
	p := newPair(t)
	ps := &psPair{t: t}
	ps.sub = [2]*rawConn{p.oracle, p.us}
	ps.pub = [2]*rawConn{dialRaw(t, "redis-server pub", p.oracleAddr), dialRaw(t, "redoubt pub", p.usAddr)}
	if proto == 3 {
		for _, c := range ps.sub {
			if reply := c.do("HELLO", "3"); reply[0] != '%' {
				t.Fatalf("%s: HELLO 3: %q", c.name, reply)
			}
		}
	}
	return ps
}

// send writes a command to both subscriber connections without reading.
func (ps *psPair) send(conns [2]*rawConn, args ...string) {
	ps.t.Helper()
	bs := make([][]byte, len(args))
	for i, a := range args {
		bs[i] = []byte(a)
	}
	for _, c := range conns {
		if _, err := c.nc.Write(resp.AppendCommand(nil, bs...)); err != nil {
			ps.t.Fatalf("%s: write: %v", c.name, err)
		}
	}
}

// sub sends a command on the subscribers and compares the n replies (and
// pushes) that follow.
func (ps *psPair) subDo(n int, args ...string) {
	ps.t.Helper()
	ps.send(ps.sub, args...)
	ps.expect(n, false, fmtCmd(args))
}

// expect reads n replies on both subscribers and compares them, in order
// or, when unordered, as a multiset (messages for several matching
// patterns come in the order of a hash table).
func (ps *psPair) expect(n int, unordered bool, what string) {
	ps.t.Helper()
	var got [2][]string
	for i, c := range ps.sub {
		for range n {
			got[i] = append(got[i], string(c.read()))
		}
		if unordered {
			slices.Sort(got[i])
		}
	}
	if !slices.Equal(got[0], got[1]) {
		ps.t.Errorf("subscriber after %s\n redis-server: %q\n redoubt:      %q", what, got[0], got[1])
	}
}

// publish sends a command on the publishers, compares the replies, then
// compares the n messages the subscribers receive.
func (ps *psPair) publish(n int, unordered bool, args ...string) {
	ps.t.Helper()
	want, got := ps.pub[0].do(args...), ps.pub[1].do(args...)
	if !bytes.Equal(want, got) {
		ps.t.Errorf("publisher %s\n redis-server: %q\n redoubt:      %q", fmtCmd(args), want, got)
	}
	ps.expect(n, unordered, fmtCmd(args))
}

// pubCheck compares a publisher-side command that delivers nothing.
func (ps *psPair) pubCheck(args ...string) {
	ps.t.Helper()
	ps.publish(0, false, args...)
}

// pubUnordered compares a publisher-side reply as a set (PUBSUB CHANNELS).
func (ps *psPair) pubUnordered(args ...string) {
	ps.t.Helper()
	want, got := ps.pub[0].do(args...), ps.pub[1].do(args...)
	if !bytes.Equal(sortReply(want, false), sortReply(got, false)) {
		ps.t.Errorf("publisher %s (unordered)\n redis-server: %q\n redoubt:      %q", fmtCmd(args), want, got)
	}
}

// TestPubSubSubscriberView compares, byte for byte, everything a
// subscriber receives from redis-server 7.0.15 and from Redoubt: the
// (un)subscribe replies and their counts, the null-channel replies, the
// messages of channels, patterns and shard channels, RESP2 subscriber
// mode (refused commands, PING), RESP3 pushes interleaved with ordinary
// replies, and the PUBSUB introspection seen by the publisher.
func TestPubSubSubscriberView(t *testing.T) {
	for _, proto := range []int{2, 3} {
		t.Run("RESP"+strconv.Itoa(proto), func(t *testing.T) {
			ps := newPSPair(t, proto)
			// Nothing to leave: the null-channel form.
			ps.subDo(1, "UNSUBSCRIBE")
			ps.subDo(1, "PUNSUBSCRIBE")
			ps.subDo(1, "SUNSUBSCRIBE")
			ps.subDo(2, "UNSUBSCRIBE", "nope", "zz")
			ps.subDo(1, "PUNSUBSCRIBE", "nope*")
			ps.pubCheck("PUBLISH", "a", "nobody")

			ps.subDo(3, "SUBSCRIBE", "a", "b", "a")
			ps.subDo(2, "PSUBSCRIBE", "h*", "h*")
			ps.subDo(1, "SSUBSCRIBE", "s1")
			ps.subDo(1, "PSUBSCRIBE", "h?llo")

			ps.publish(1, false, "PUBLISH", "a", "m1")
			ps.publish(1, false, "PUBLISH", "b", "with\r\nnewline and \x00 nul")
			ps.publish(2, true, "PUBLISH", "hello", "two patterns")
			ps.publish(1, false, "PUBLISH", "hat", "one pattern")
			ps.pubCheck("PUBLISH", "nobody", "x")
			ps.publish(1, false, "SPUBLISH", "s1", "shard")
			ps.pubCheck("SPUBLISH", "a", "shard namespace is apart")
			ps.pubCheck("PUBLISH", "s1", "and the other way round")
			ps.publish(1, false, "PUBLISH", "a", "")
			for i := range 20 {
				ps.publish(1, false, "PUBLISH", "a", "seq "+strconv.Itoa(i))
			}

			// The connection's own commands, between messages.
			ps.subDo(1, "PING")
			ps.subDo(1, "PING", "hi")
			ps.subDo(1, "PING", "x", "y")
			ps.subDo(1, "GET", "k")
			ps.subDo(1, "CLIENT", "GETNAME")
			ps.subDo(1, "PUBSUB", "NUMPAT")
			ps.subDo(1, "NOSUCHCOMMAND")
			ps.subDo(1, "GET")

			// Messages queued before a command's reply come first.
			ps.pubCheck("SET", "k", "v")
			for _, c := range ps.pub {
				c.do("PUBLISH", "a", "before the reply")
			}
			ps.subDo(2, "GET", "k")

			// Introspection, seen by the publisher.
			ps.pubUnordered("PUBSUB", "CHANNELS")
			ps.pubUnordered("PUBSUB", "CHANNELS", "a*")
			ps.pubUnordered("PUBSUB", "CHANNELS", "[ab]")
			ps.pubCheck("PUBSUB", "NUMSUB", "a", "b", "zz", "hello")
			ps.pubCheck("PUBSUB", "NUMSUB")
			ps.pubCheck("PUBSUB", "NUMPAT")
			ps.pubUnordered("PUBSUB", "SHARDCHANNELS")
			ps.pubUnordered("PUBSUB", "SHARDCHANNELS", "x*")
			ps.pubCheck("PUBSUB", "SHARDNUMSUB", "s1", "a")
			ps.pubCheck("PUBSUB", "HELP")
			ps.pubCheck("PUBSUB", "CHANNELS", "a", "b")
			ps.pubCheck("PUBSUB", "channels", "a", "b")
			ps.pubCheck("PUBSUB", "NUMPAT", "x")
			ps.pubCheck("PUBSUB", "NOSUCH")
			ps.pubCheck("PUBSUB")
			ps.pubCheck("PUBLISH", "a")
			ps.pubCheck("SUBSCRIBE")

			// Leaving, with and without arguments.
			ps.subDo(2, "UNSUBSCRIBE", "a", "zz")
			ps.publish(0, false, "PUBLISH", "a", "gone")
			ps.subDo(1, "UNSUBSCRIBE")
			ps.subDo(2, "PUNSUBSCRIBE")
			ps.subDo(1, "PUNSUBSCRIBE")
			ps.subDo(1, "SSUBSCRIBE", "s2")
			ps.subDo(1, "GET", "k")
			ps.subDo(1, "SUNSUBSCRIBE", "s1")
			ps.subDo(1, "SUNSUBSCRIBE")
			ps.subDo(1, "SUNSUBSCRIBE")
			ps.pubCheck("PUBSUB", "NUMPAT")
			ps.pubCheck("PUBSUB", "NUMSUB", "a", "b")
			ps.pubCheck("PUBSUB", "CHANNELS")
			// Out of subscriber mode: every command again.
			ps.subDo(1, "PING")
			ps.subDo(1, "GET", "k")
		})
	}
}

// TestPubSubPipelined sends subscriptions, commands and unsubscriptions in
// one write, and a connection publishing to itself.
func TestPubSubPipelined(t *testing.T) {
	for _, proto := range []int{2, 3} {
		t.Run("RESP"+strconv.Itoa(proto), func(t *testing.T) {
			ps := newPSPair(t, proto)
			var raw []byte
			for _, args := range [][]string{
				{"SUBSCRIBE", "p1", "p2"}, {"PING"}, {"ECHO", "x"}, {"PSUBSCRIBE", "p*"},
				{"UNSUBSCRIBE", "p1"}, {"PUNSUBSCRIBE"}, {"UNSUBSCRIBE"}, {"ECHO", "out"},
			} {
				bs := make([][]byte, len(args))
				for i, a := range args {
					bs[i] = []byte(a)
				}
				raw = resp.AppendCommand(raw, bs...)
			}
			for _, c := range ps.sub {
				if _, err := c.nc.Write(raw); err != nil {
					t.Fatal(err)
				}
			}
			ps.expect(9, false, "the pipeline")
			if proto == 3 {
				// A RESP3 connection receives its own message before the
				// PUBLISH reply.
				ps.subDo(1, "SUBSCRIBE", "self")
				ps.subDo(2, "PUBLISH", "self", "me")
				ps.subDo(1, "PSUBSCRIBE", "s*")
				ps.subDo(3, "PUBLISH", "self", "twice")
				ps.subDo(3, "PUBLISH", "self", "again")
			}
		})
	}
}

// TestPubSubReset checks RESET in subscriber mode: one +RESET, the
// subscriptions gone (seen by PUBSUB NUMSUB) and the connection back to
// ordinary RESP2.
func TestPubSubReset(t *testing.T) {
	for _, proto := range []int{2, 3} {
		t.Run("RESP"+strconv.Itoa(proto), func(t *testing.T) {
			ps := newPSPair(t, proto)
			ps.subDo(2, "SUBSCRIBE", "r1", "r2")
			ps.subDo(1, "PSUBSCRIBE", "r*")
			ps.subDo(1, "SSUBSCRIBE", "r3")
			ps.pubCheck("PUBSUB", "NUMSUB", "r1", "r2")
			ps.publish(2, false, "PUBLISH", "r1", "last")
			ps.subDo(1, "RESET")
			ps.pubCheck("PUBSUB", "NUMSUB", "r1", "r2")
			ps.pubCheck("PUBSUB", "SHARDNUMSUB", "r3")
			ps.pubCheck("PUBSUB", "NUMPAT")
			ps.pubCheck("PUBLISH", "r1", "nobody")
			ps.subDo(1, "PING")
			ps.subDo(1, "UNSUBSCRIBE")
			ps.subDo(1, "GET", "nokey")
		})
	}
}

// TestPubSubLeavesWithConnection checks that a subscriber that leaves
// drops its subscriptions on both servers.
func TestPubSubLeavesWithConnection(t *testing.T) {
	ps := newPSPair(t, 2)
	ps.subDo(1, "SUBSCRIBE", "gone")
	ps.subDo(1, "PSUBSCRIBE", "gone*")
	for _, c := range ps.sub {
		c.nc.Close()
	}
	for _, c := range ps.pub {
		testutil.WaitFor(t, 10*time.Second, c.name+" to drop the subscription", func() bool {
			return string(c.do("PUBSUB", "NUMSUB", "gone")) == "*2\r\n$4\r\ngone\r\n:0\r\n"
		})
		if got := string(c.do("PUBSUB", "NUMPAT")); got != ":0\r\n" {
			t.Errorf("%s: NUMPAT %q", c.name, got)
		}
	}
}
