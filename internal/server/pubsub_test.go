package server

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"redoubt/internal/command"
	"redoubt/internal/testutil"
)

// TestPubSubGoRedis subscribes with go-redis's PubSub (RESP2 and RESP3)
// to a channel and a pattern, publishes from another go-redis client and
// checks what arrives, in publish order.
func TestPubSubGoRedis(t *testing.T) {
	s := startServer(t, Options{})
	for _, proto := range []int{2, 3} {
		t.Run("RESP"+strconv.Itoa(proto), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			sub := redis.NewClient(&redis.Options{Addr: s.Addrs()[0], Protocol: proto})
			defer sub.Close()
			pub := redis.NewClient(&redis.Options{Addr: s.Addrs()[0], Protocol: proto})
			defer pub.Close()

			ps := sub.Subscribe(ctx, "news")
			defer ps.Close()
			if m, err := ps.Receive(ctx); err != nil {
				t.Fatal(err)
			} else if sb, ok := m.(*redis.Subscription); !ok || sb.Kind != "subscribe" || sb.Channel != "news" || sb.Count != 1 {
				t.Fatalf("subscribe reply %#v", m)
			}
			if err := ps.PSubscribe(ctx, "n*"); err != nil {
				t.Fatal(err)
			}
			if m, err := ps.Receive(ctx); err != nil {
				t.Fatal(err)
			} else if sb, ok := m.(*redis.Subscription); !ok || sb.Kind != "psubscribe" || sb.Count != 2 {
				t.Fatalf("psubscribe reply %#v", m)
			}
			const n = 500
			for i := range n {
				got, err := pub.Publish(ctx, "news", strconv.Itoa(i)).Result()
				if err != nil || got != 2 {
					t.Fatalf("PUBLISH: %d, %v", got, err)
				}
			}
			if got := pub.PubSubNumSub(ctx, "news").Val()["news"]; got != 1 {
				t.Fatalf("NUMSUB %d", got)
			}
			next := map[string]int{"": 0, "n*": 0}
			for range 2 * n {
				m, err := ps.ReceiveMessage(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if m.Channel != "news" || m.Payload != strconv.Itoa(next[m.Pattern]) {
					t.Fatalf("message %#v, want payload %d", m, next[m.Pattern])
				}
				next[m.Pattern]++
			}
			if err := ps.Unsubscribe(ctx); err != nil {
				t.Fatal(err)
			}
			if err := ps.PUnsubscribe(ctx); err != nil {
				t.Fatal(err)
			}
			testutil.WaitFor(t, 5*time.Second, "the subscriptions to go", func() bool {
				return pub.PubSubNumSub(ctx, "news").Val()["news"] == 0 && pub.PubSubNumPat(ctx).Val() == 0
			})
		})
	}
}

// TestPubSubOrderManyPublishers publishes from several connections at once
// to one RESP3 subscriber: every message arrives once, and each
// publisher's messages arrive in the order it published them.
func TestPubSubOrderManyPublishers(t *testing.T) {
	s := startServer(t, Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sub := redis.NewClient(&redis.Options{Addr: s.Addrs()[0], Protocol: 3})
	defer sub.Close()
	ps := sub.Subscribe(ctx, "order")
	defer ps.Close()
	if _, err := ps.Receive(ctx); err != nil {
		t.Fatal(err)
	}
	const pubs, each = 4, 300
	var wg sync.WaitGroup
	for p := range pubs {
		wg.Go(func() {
			c := redis.NewClient(&redis.Options{Addr: s.Addrs()[0]})
			defer c.Close()
			for i := range each {
				if err := c.Publish(ctx, "order", fmt.Sprintf("%d:%d", p, i)).Err(); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	next := make([]int, pubs)
	for range pubs * each {
		m, err := ps.ReceiveMessage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var p, i int
		if _, err := fmt.Sscanf(m.Payload, "%d:%d", &p, &i); err != nil || i != next[p] {
			t.Fatalf("message %q, want %d:%d", m.Payload, p, next[p])
		}
		next[p]++
	}
	wg.Wait()
}

// TestPubSubRESP3WhileRunningCommands keeps a RESP3 subscriber running
// ordinary commands while another connection publishes: every push and
// every reply arrives, the replies in the order of the commands.
func TestPubSubRESP3WhileRunningCommands(t *testing.T) {
	s := startServer(t, Options{})
	c := dial(t, s.Addrs()[0])
	if r := c.do("HELLO", "3"); r[0] != '%' {
		t.Fatalf("HELLO 3: %q", r)
	}
	if r := c.do("SUBSCRIBE", "live"); r != ">3\r\n$9\r\nsubscribe\r\n$4\r\nlive\r\n:1\r\n" {
		t.Fatalf("SUBSCRIBE: %q", r)
	}
	const n = 300
	done := make(chan struct{})
	go func() {
		defer close(done)
		p := dial(t, s.Addrs()[0])
		for i := range n {
			if r := p.do("PUBLISH", "live", strconv.Itoa(i)); r != ":1\r\n" {
				t.Errorf("PUBLISH: %q", r)
				return
			}
		}
	}()
	pushes, replies := 0, 0
	for i := 0; pushes < n; i++ {
		if replies == i {
			c.send("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$" + strconv.Itoa(len(strconv.Itoa(i))) + "\r\n" + strconv.Itoa(i) + "\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\n")
		}
		// Read until this command pair is answered, counting pushes.
		for replies <= i {
			r := c.reply()
			switch {
			case strings.HasPrefix(r, ">3\r\n$7\r\nmessage\r\n"):
				want := ">3\r\n$7\r\nmessage\r\n$4\r\nlive\r\n$" + strconv.Itoa(len(strconv.Itoa(pushes))) + "\r\n" + strconv.Itoa(pushes) + "\r\n"
				if r != want {
					t.Fatalf("push %q, want %q", r, want)
				}
				pushes++
			case r == "+OK\r\n":
			case r == "$"+strconv.Itoa(len(strconv.Itoa(i)))+"\r\n"+strconv.Itoa(i)+"\r\n":
				replies++
			default:
				t.Fatalf("unexpected %q", r)
			}
		}
	}
	<-done
}

// TestPubSubSubscribeReplyFirst subscribes while a publisher floods the
// channel: the first thing the subscriber reads is always its SUBSCRIBE
// reply, never a message.
func TestPubSubSubscribeReplyFirst(t *testing.T) {
	s := startServer(t, Options{})
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		p := dial(t, s.Addrs()[0])
		for {
			select {
			case <-stop:
				return
			default:
			}
			p.do("PUBLISH", "flood", "x")
		}
	}()
	for i := range 50 {
		proto := 2 + i%2
		c := dial(t, s.Addrs()[0])
		if proto == 3 {
			c.do("HELLO", "3")
		}
		head := "*3"
		if proto == 3 {
			head = ">3"
		}
		if r := c.do("SUBSCRIBE", "flood"); r != head+"\r\n$9\r\nsubscribe\r\n$5\r\nflood\r\n:1\r\n" {
			t.Fatalf("first reply %q", r)
		}
		if r := c.reply(); r != head+"\r\n$7\r\nmessage\r\n$5\r\nflood\r\n$1\r\nx\r\n" {
			t.Fatalf("then %q", r)
		}
		c.nc.Close()
	}
	close(stop)
	<-done
}

// TestPubSubSlowSubscriber floods a subscriber that never reads: the
// publisher is never blocked, and the subscriber is disconnected once its
// unwritten messages pass the hard limit, its subscriptions gone.
func TestPubSubSlowSubscriber(t *testing.T) {
	s := startServer(t, Options{})
	const hard = 1 << 20
	s.pubsub.setLimits(hard, 0, 0)
	slow := dial(t, s.Addrs()[0])
	if tc, ok := slow.nc.(*net.TCPConn); ok {
		_ = tc.SetReadBuffer(4 << 10)
	}
	slow.do("SUBSCRIBE", "firehose")
	slow.do("PSUBSCRIBE", "fire*")
	pub := dial(t, s.Addrs()[0])
	msg := strings.Repeat("m", 64<<10)
	// Socket buffers hold a few MiB at most: 256 MiB of messages is far
	// more than the buffers and the limit together.
	start := time.Now()
	var worst time.Duration
	dropped := false
	for i := 0; i < 4096 && !dropped; i++ {
		t0 := time.Now()
		r := pub.do("PUBLISH", "firehose", msg)
		worst = max(worst, time.Since(t0))
		dropped = r == ":0\r\n"
	}
	if !dropped {
		t.Fatal("the subscriber was never dropped")
	}
	t.Logf("dropped after %v; slowest PUBLISH %v", time.Since(start), worst)
	if worst > 2*time.Second {
		t.Errorf("a PUBLISH took %v: the publisher was blocked", worst)
	}
	testutil.WaitFor(t, 10*time.Second, "the slow subscriber to be disconnected", func() bool { return s.clientCount() == 1 })
	if r := pub.do("PUBSUB", "NUMSUB", "firehose"); r != "*2\r\n$8\r\nfirehose\r\n:0\r\n" {
		t.Errorf("NUMSUB %q", r)
	}
	if r := pub.do("PUBSUB", "NUMPAT"); r != ":0\r\n" {
		t.Errorf("NUMPAT %q", r)
	}
	// (What the kernel already buffered for the slow client is not
	// drained here: with its tiny window that takes minutes.)
}

// TestPubSubSoftLimit drops a subscriber that stays over the soft limit
// for the soft period.
func TestPubSubSoftLimit(t *testing.T) {
	s := startServer(t, Options{})
	s.pubsub.setLimits(1<<30, 256<<10, 50*time.Millisecond)
	slow := dial(t, s.Addrs()[0])
	if tc, ok := slow.nc.(*net.TCPConn); ok {
		_ = tc.SetReadBuffer(4 << 10)
	}
	slow.do("SUBSCRIBE", "soft")
	pub := dial(t, s.Addrs()[0])
	msg := strings.Repeat("m", 16<<10)
	deadline := time.Now().Add(20 * time.Second)
	for {
		if r := pub.do("PUBLISH", "soft", msg); r == ":0\r\n" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the subscriber was never dropped")
		}
	}
	testutil.WaitFor(t, 10*time.Second, "the subscriber to be disconnected", func() bool { return s.clientCount() == 1 })
}

// TestPubSubResetAndDisconnect checks that RESET and a closed connection
// drop every subscription, and the counts INFO and CLIENT LIST show.
func TestPubSubResetAndDisconnect(t *testing.T) {
	s := startServer(t, Options{})
	a := dial(t, s.Addrs()[0])
	b := dial(t, s.Addrs()[0])
	a.do("SUBSCRIBE", "x", "y")
	a.reply()
	a.do("PSUBSCRIBE", "x*")
	a.do("SSUBSCRIBE", "z")
	b.do("SUBSCRIBE", "x")
	if s.pubsubChannelCount() != 2 || s.pubsubPatternCount() != 1 || s.pubsubShardChannelCount() != 1 {
		t.Fatalf("counts %d %d %d", s.pubsubChannelCount(), s.pubsubPatternCount(), s.pubsubShardChannelCount())
	}
	p := dial(t, s.Addrs()[0])
	list := p.do("CLIENT", "LIST")
	if !strings.Contains(list, " flags=P db=0 sub=2 psub=1 ssub=1 ") || !strings.Contains(list, " flags=P db=0 sub=1 psub=0 ssub=0 ") ||
		!strings.Contains(list, " flags=N db=0 sub=0 psub=0 ssub=0 ") {
		t.Errorf("CLIENT LIST:\n%s", list)
	}
	// A subscribed client is of type pubsub for CLIENT LIST and KILL.
	if l := p.do("CLIENT", "LIST", "TYPE", "pubsub"); strings.Count(l, "id=") != 2 || strings.Contains(l, "flags=N") {
		t.Errorf("CLIENT LIST TYPE pubsub:\n%s", l)
	}
	if l := p.do("CLIENT", "LIST", "TYPE", "normal"); strings.Count(l, "id=") != 1 || strings.Contains(l, "flags=P") {
		t.Errorf("CLIENT LIST TYPE normal:\n%s", l)
	}
	if r := p.do("PUBSUB", "NUMSUB", "x", "y"); r != "*4\r\n$1\r\nx\r\n:2\r\n$1\r\ny\r\n:1\r\n" {
		t.Fatalf("NUMSUB %q", r)
	}
	if r := a.do("RESET"); r != "+RESET\r\n" {
		t.Fatalf("RESET %q", r)
	}
	if r := p.do("PUBSUB", "NUMSUB", "x", "y"); r != "*4\r\n$1\r\nx\r\n:1\r\n$1\r\ny\r\n:0\r\n" {
		t.Fatalf("NUMSUB after RESET %q", r)
	}
	if r := p.do("PUBLISH", "x", "m"); r != ":1\r\n" {
		t.Fatalf("PUBLISH %q", r)
	}
	if r := a.do("GET", "k"); r != "$-1\r\n" {
		t.Fatalf("GET after RESET %q", r)
	}
	b.nc.Close()
	testutil.WaitFor(t, 5*time.Second, "the closed subscriber to leave", func() bool {
		return p.do("PUBSUB", "NUMSUB", "x") == "*2\r\n$1\r\nx\r\n:0\r\n"
	})
	if s.pubsubChannelCount() != 0 || s.pubsubPatternCount() != 0 || s.pubsubShardChannelCount() != 0 {
		t.Fatalf("counts %d %d %d", s.pubsubChannelCount(), s.pubsubPatternCount(), s.pubsubShardChannelCount())
	}
}

// TestPubSubACLChannels checks channel permissions (&pattern) against a
// real redis-server with the same rules: an account with
// "resetchannels &news:*" subscribes to news:1 but not to other channels,
// with Redis's NOPERM text, byte for byte.
func TestPubSubACLChannels(t *testing.T) {
	rules := []string{"resetchannels", "&news:*", "~*", "+@all"}
	r := testutil.StartRedis(t)
	admin := dial(t, r.Addr)
	if got := admin.do(append([]string{"ACL", "SETUSER", "news", "on", ">" + appPassword}, rules...)...); got != "+OK\r\n" {
		t.Fatal(got)
	}
	tab := command.New()
	opts, _ := secureOpts(func(sec *Security) {
		sec.Accounts = []Account{testAccount(t, tab, "news", appPassword, rules...)}
	})
	opts.Table = tab
	s := startServer(t, opts)
	script := [][]string{
		{"AUTH", "news", appPassword},
		{"SUBSCRIBE", "news:1"},
		{"SUBSCRIBE", "other"},
		{"SUBSCRIBE", "news:2", "other"},
		{"PSUBSCRIBE", "news:*"},
		{"PSUBSCRIBE", "news:1*"},
		{"SSUBSCRIBE", "other"},
		{"UNSUBSCRIBE", "other"},
		{"RESET"},
		{"AUTH", "news", appPassword},
		{"PUBLISH", "other", "x"},
		{"PUBLISH", "news:9", "x"},
		{"SPUBLISH", "other", "x"},
		{"SPUBLISH", "news:1", "x"},
	}
	oracle, us := dial(t, r.Addr), dial(t, s.Addrs()[0])
	for _, args := range script {
		want, got := oracle.do(args...), us.do(args...)
		if want != got {
			t.Errorf("%q\n redis-server: %q\n redoubt:      %q", args, want, got)
		}
	}
}

// BenchmarkPublishNoSubscribers is the cost of PUBLISH's registry work
// for a channel nobody listens to, with and without patterns.
func BenchmarkPublishNoSubscribers(b *testing.B) {
	for _, withPattern := range []bool{false, true} {
		b.Run(fmt.Sprintf("patterns=%v", withPattern), func(b *testing.B) {
			var r psRegistry
			if withPattern {
				r.add(psPattern, []byte("other:*"), &subscriber{})
			}
			ch, msg := []byte("news:1"), []byte("hello")
			b.ReportAllocs()
			for b.Loop() {
				if r.publish(psChannel, ch, msg) != 0 {
					b.Fatal("a receiver")
				}
			}
		})
	}
}
