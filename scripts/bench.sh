#!/usr/bin/env bash
# make bench: redis-benchmark against a real redis-server and against
# redoubt on the same machine, in one run, alternating, with ratios; then
# the RSS of each after loading 1,000,000 keys with 16-byte values; then the
# cost of the perimeter and of accounts (redoubt against itself), the memory
# of idle authenticated connections and the cost of AUTH, alone and under a
# flood of wrong passwords (scripts/loadtool).
#
# Environment: ROUNDS (default 3; the median is reported), RATIO_ROUNDS
# (default 5, for the redoubt-against-itself ratios), REQUESTS (default
# 200000), CLIENTS (default 50), KEYS (default 1000000), IDLE_N (default
# 10000 idle connections), AUTH_SECS (default 5, each AUTH measurement),
# P16_REQUESTS (default 2000000: the -P 16 runs of the redoubt-against-itself
# ratios; at 200000 they last ~0.2 s and the ratio is noise),
# BENCH_ONLY (default all; a comma-separated list of redis, memory, types,
# perimeter, control, monitoring, accounts, idle, auth, durability, gateway, cluster), BENCH_OUT
# (default bench-results). The durability section (issue 4) measures the
# append-only file: redoubt against itself with it off, everysec and always,
# then against redis-server with the same everysec file; the replay rate at
# start-up; and a rewrite of KEYS keys (time, RSS).
# The gateway section (issue 7) measures one redis-server reached directly,
# through redoubt --upstream (an account, the allowlist, the cross-protocol
# guard and the command policy on) and through twemproxy (nutcracker),
# ROUNDS rounds in rotating order; then GW_MANY (default 1000) clients
# through redoubt and the backend connections that serve them. GW_TESTS
# (default "set get incr lpush lpop mset"), GW_REQUESTS (default 150000,
# -P 1) and GW_P16_REQUESTS (default 1000000, -P 16) size it: each run
# lasts ~1.5–7 s on 2 cores, the direct ones the shortest.
# The cluster section measures a Redis Cluster of 3 masters (no replicas)
# reached directly with redis-benchmark --cluster and through redoubt
# --upstream redis-cluster://… (the nodes' password in a 0600 file given
# with --upstream-password-file, and the gateway section's account and
# guards), ROUNDS rounds alternating which goes first; CL_TESTS (default
# "set get incr lpush lpop mset"; MSET gets a table of its own: not like
# for like), CL_REQUESTS (default 400000, -P 1) and CL_P16_REQUESTS
# (default 4000000, -P 16; MSET a quarter of each) size it: ~4 s a direct
# run, because redis-benchmark --cluster rounds a run's time up to 250 ms.
# The run exits 1 at the end when redoubt did not serve the cluster (the
# direct column is still measured).
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${ROUNDS:-3}
RATIO_ROUNDS=${RATIO_ROUNDS:-5}
REQUESTS=${REQUESTS:-200000}
P16_REQUESTS=${P16_REQUESTS:-2000000}
CLIENTS=${CLIENTS:-50}
KEYS=${KEYS:-1000000}
IDLE_N=${IDLE_N:-10000}
AUTH_SECS=${AUTH_SECS:-5}
BENCH_ONLY=${BENCH_ONLY:-all}
PASS='Bench-Pass-2026!x'
OUT=${BENCH_OUT:-bench-results}
mkdir -p "$OUT"
work=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

want() { [ "$BENCH_ONLY" = all ] || [[ ",$BENCH_ONLY," == *",$1,"* ]]; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

wait_ping() { # port [user pass]
	local auth=()
	[ $# -ge 3 ] && auth=(--user "$2" --pass "$3" --no-auth-warning)
	for _ in $(seq 1 200); do
		[ "$(redis-cli -p "$1" "${auth[@]}" ping 2>/dev/null)" = PONG ] && return 0
		sleep 0.05
	done
	echo "server on port $1 did not answer" >&2
	return 1
}

start_redis() { # port [redis-server options…]
	local port=$1
	shift
	redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no \
		--dir "$work" --logfile "$work/redis-$port.log" --daemonize no "$@" &
	pids+=($!)
	LAST_PID=$!
}

# start_redoubt PORT: redoubt's defaults except the append-only file, off
# as redis-server's above (--appendonly no), so the comparison is like with
# like; the durability section measures what the file costs.
start_redoubt() { # port
	printf 'instances:\n  - name: default\n    listen: ["127.0.0.1:%s"]\n    data: %s\n    appendonly: false\n' \
		"$1" "$work/redoubt-$1" >"$work/redoubt-$1.yaml"
	bin/redoubt --config "$work/redoubt-$1.yaml" --admin-listen off --log-level warn 2>"$work/redoubt-$1.log" &
	pids+=($!)
	LAST_PID=$!
	wait_ping "$1"
}

# start_redoubt_yaml NAME PORT NOFILE [FLAGS…]: runs bin/redoubt with the
# instance settings read from standard input (indented for the instance
# mapping), under an open-file limit of NOFILE; its log is $work/NAME.log.
start_redoubt_yaml() {
	local name=$1 port=$2 nofile=$3
	shift 3
	{
		echo "instances:"
		echo "  - name: $name"
		echo "    listen: [\"127.0.0.1:$port\"]"
		echo "    data: $work/data-$name-$port"
		cat
	} >"$work/$name.yaml"
	(ulimit -n "$nofile" && exec bin/redoubt --config "$work/$name.yaml" --admin-listen off --log-level warn "$@") \
		2>"$work/$name.log" &
	pids+=($!)
	LAST_PID=$!
}

stop() { # pid
	kill "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
}

rss_kib() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }

# rps PORT PIPELINE TEST [USER PASS] -> requests per second ($RPS_N
# requests, default $REQUESTS)
rps() {
	local auth=()
	[ $# -ge 5 ] && auth=(--user "$4" -a "$5")
	redis-benchmark -p "$1" "${auth[@]}" -c "$CLIENTS" -n "${RPS_N:-$REQUESTS}" -P "$2" -t "$3" --csv -q 2>/dev/null |
		awk -F'","' 'NR==2 {gsub(/"/,"",$2); print $2}'
}

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
# mstat FILE -> "median (min–max)" of the numbers in FILE, with printf format $2
mstat() {
	sort -n "$1" | awk -v f="${2:-%.0f}" '{a[NR]=$1} END {
		printf f " (" f "–" f ")", a[int((NR+1)/2)], a[1], a[NR] }'
}
# kv KEY LINE -> the value of KEY=… in a loadtool result line
kv() { tr ' ' '\n' <<<"$2" | awk -F= -v k="$1" '$1 == k {print $2}'; }

machine="$(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr)"
redis_ver=$(redis-server --version | awk '{print $3}' | sed 's/v=//')
{
	echo "# make bench — $(date -u +%Y-%m-%d)"
	echo
	echo "Machine: $machine. redis-server $redis_ver. $(go version | awk '{print $3}')."
	echo "redis-benchmark -c $CLIENTS -n $REQUESTS, median of $ROUNDS alternating rounds."
	echo "Against redis-server (redis, memory, types): both with persistence off (redis-server --appendonly no, redoubt appendonly: false)."
} | tee "$OUT/latest.md"

if want redis || want memory; then
	rport=$(free_port); start_redis "$rport"; redis_pid=$LAST_PID; wait_ping "$rport"
	dport=$(free_port); start_redoubt "$dport"; redoubt_pid=$LAST_PID
fi

if want redis; then
	{
		echo
		echo "Persistence off in both (redis-server --appendonly no, redoubt appendonly: false)."
		echo
		echo "| test | pipeline | redis-server ops/s | redoubt ops/s | redoubt/redis |"
		echo "|---|---|---:|---:|---:|"
	} | tee -a "$OUT/latest.md"
	for p in 1 16; do
		for t in set get; do
			: >"$work/r" ; : >"$work/d"
			for _ in $(seq 1 "$ROUNDS"); do
				rps "$rport" "$p" "$t" >>"$work/r"
				rps "$dport" "$p" "$t" >>"$work/d"
			done
			r=$(median <"$work/r"); d=$(median <"$work/d")
			ratio=$(awk -v a="$d" -v b="$r" 'BEGIN { if (b > 0) printf "%.2f", a/b; else print "n/a" }')
			echo "| $t | $p | $r | $d | $ratio |" | tee -a "$OUT/latest.md"
		done
	done
fi

if want memory; then
	# Memory: load the same keys into each and compare resident sizes.
	python3 - "$KEYS" >"$work/load.resp" <<'PY'
import sys
n = int(sys.argv[1]); out = sys.stdout.buffer; v = b'x' * 16
for i in range(n):
    k = b'key:%012d' % i
    out.write(b'*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$16\r\n%s\r\n' % (len(k), k, v))
PY
	rss_r0=$(rss_kib "$redis_pid"); rss_d0=$(rss_kib "$redoubt_pid")
	redis-cli -p "$rport" --pipe <"$work/load.resp" >/dev/null
	redis-cli -p "$dport" --pipe <"$work/load.resp" >/dev/null
	nr=$(redis-cli -p "$rport" dbsize); nd=$(redis-cli -p "$dport" dbsize)
	rss_r=$(rss_kib "$redis_pid"); rss_d=$(rss_kib "$redoubt_pid")
	rm -f "$work/load.resp"
	{
		echo
		echo "| memory (persistence off in both) | redis-server | redoubt | redoubt/redis |"
		echo "|---|---:|---:|---:|"
		echo "| RSS at start | $((rss_r0 / 1024)) MiB | $((rss_d0 / 1024)) MiB | |"
		echo "| RSS with $nr / $nd keys (16-byte values) | $((rss_r / 1024)) MiB | $((rss_d / 1024)) MiB | $(awk -v a="$rss_d" -v b="$rss_r" 'BEGIN {printf "%.2f", a/b}') |"
	} | tee -a "$OUT/latest.md"
fi

if want redis || want memory; then
	stop "$redoubt_pid"; stop "$redis_pid"
fi

# ---- Data types (issue 3): the redis-benchmark tests of lists, sets,
# hashes and sorted sets, then the RSS of a 1,000,000-member sorted set ----

# rps_last PORT PIPELINE TEST -> requests per second of the last line of
# redis-benchmark's CSV (lrange_* first runs an LPUSH fill of its own).
rps_last() {
	redis-benchmark -p "$1" -c "$CLIENTS" -n "${RPS_N:-$REQUESTS}" -P "$2" -t "$3" --csv -q 2>/dev/null |
		awk -F'","' 'NR>1 {gsub(/"/,"",$2); v=$2} END {print v}'
}

if want types; then
	rport=$(free_port); start_redis "$rport"; redis_pid=$LAST_PID; wait_ping "$rport"
	dport=$(free_port); start_redoubt "$dport"; redoubt_pid=$LAST_PID
	{
		echo
		echo "Data types: redis-benchmark -c $CLIENTS -n $REQUESTS (-P 16: $P16_REQUESTS), median of $ROUNDS alternating rounds;"
		echo "persistence off in both (redis-server --appendonly no, redoubt appendonly: false)."
		echo
		echo "| test | pipeline | redis-server ops/s | redoubt ops/s | redoubt/redis |"
		echo "|---|---|---:|---:|---:|"
	} | tee -a "$OUT/latest.md"
	for p in 1 16; do
		RPS_N=$REQUESTS
		[ "$p" = 16 ] && RPS_N=$P16_REQUESTS
		for t in lpush rpush lpop rpop sadd hset spop zadd zpopmin lrange_100 mset; do
			: >"$work/r"; : >"$work/d"
			for i in $(seq 1 "$ROUNDS"); do
				if [ $((i % 2)) = 1 ]; then
					RPS_N=$RPS_N rps_last "$rport" "$p" "$t" >>"$work/r"; RPS_N=$RPS_N rps_last "$dport" "$p" "$t" >>"$work/d"
				else
					RPS_N=$RPS_N rps_last "$dport" "$p" "$t" >>"$work/d"; RPS_N=$RPS_N rps_last "$rport" "$p" "$t" >>"$work/r"
				fi
			done
			r=$(median <"$work/r"); d=$(median <"$work/d")
			ratio=$(awk -v a="$d" -v b="$r" 'BEGIN { if (b > 0) printf "%.2f", a/b; else print "n/a" }')
			echo "| $t | $p | $r | $d | $ratio |" | tee -a "$OUT/latest.md"
		done
	done
	redis-cli -p "$rport" flushall >/dev/null; redis-cli -p "$dport" flushall >/dev/null
	stop "$redoubt_pid"; stop "$redis_pid"

	# A 1,000,000-member sorted set, in fresh processes, ZADD 100 members
	# at a time.
	rport=$(free_port); start_redis "$rport"; redis_pid=$LAST_PID; wait_ping "$rport"
	dport=$(free_port); start_redoubt "$dport"; redoubt_pid=$LAST_PID
	python3 - "$KEYS" >"$work/zset.resp" <<'PY'
import sys
n = int(sys.argv[1]); out = sys.stdout.buffer
for i in range(0, n, 100):
    parts = [b'ZADD', b'bigzset']
    for j in range(i, min(i + 100, n)):
        parts += [b'%d' % ((j * 7919) % 1000003), b'member:%012d' % j]
    out.write(b'*%d\r\n' % len(parts) + b''.join(b'$%d\r\n%s\r\n' % (len(x), x) for x in parts))
PY
	rss_r0=$(rss_kib "$redis_pid"); rss_d0=$(rss_kib "$redoubt_pid")
	redis-cli -p "$rport" --pipe <"$work/zset.resp" >/dev/null
	redis-cli -p "$dport" --pipe <"$work/zset.resp" >/dev/null
	zr=$(redis-cli -p "$rport" zcard bigzset); zd=$(redis-cli -p "$dport" zcard bigzset)
	rss_r=$(rss_kib "$redis_pid"); rss_d=$(rss_kib "$redoubt_pid")
	rm -f "$work/zset.resp"
	{
		echo
		echo "| memory | redis-server | redoubt | redoubt/redis |"
		echo "|---|---:|---:|---:|"
		echo "| RSS with a sorted set of $zr / $zd members | $((rss_r / 1024)) MiB | $((rss_d / 1024)) MiB | $(awk -v a="$rss_d" -v b="$rss_r" 'BEGIN {printf "%.2f", a/b}') |"
		echo "| growth from start | $(((rss_r - rss_r0) / 1024)) MiB | $(((rss_d - rss_d0) / 1024)) MiB | $(awk -v a="$((rss_d - rss_d0))" -v b="$((rss_r - rss_r0))" 'BEGIN {printf "%.2f", a/b}') |"
	} | tee -a "$OUT/latest.md"
	stop "$redoubt_pid"; stop "$redis_pid"
fi

# ---- Perimeter and identity: redoubt against itself ----

# ratio_table PORT_X AUTH_X PORT_Y AUTH_Y: redis-benchmark SET and GET at
# -P 1 and -P 16 against X and Y, RATIO_ROUNDS rounds each, the order
# swapped every round (XY, YX, …); one table row per test with medians,
# ranges and X/Y (the ratio of the medians, then the range of the
# per-round ratios). AUTH_* is "" or "USER PASS".
# RATIO_TESTS (default "set get") chooses the tests.
ratio_table() {
	local px=$1 ax=$2 py=$3 ay=$4 p t i RPS_N
	for p in 1 16; do
		RPS_N=$REQUESTS
		[ "$p" = 16 ] && RPS_N=$P16_REQUESTS
		for t in ${RATIO_TESTS:-set get}; do
			: >"$work/x"; : >"$work/y"; : >"$work/xy"
			for i in $(seq 1 "$RATIO_ROUNDS"); do
				if [ $((i % 2)) = 1 ]; then
					x=$(rps "$px" "$p" "$t" $ax); y=$(rps "$py" "$p" "$t" $ay)
				else
					y=$(rps "$py" "$p" "$t" $ay); x=$(rps "$px" "$p" "$t" $ax)
				fi
				echo "$x" >>"$work/x"; echo "$y" >>"$work/y"
				awk -v a="$x" -v b="$y" 'BEGIN {printf "%.4f\n", a/b}' >>"$work/xy"
			done
			mx=$(median <"$work/x"); my=$(median <"$work/y")
			echo "| $t | $p | $(mstat "$work/x") | $(mstat "$work/y") | $(awk -v a="$mx" -v b="$my" 'BEGIN {printf "%.2f", a/b}') ($(sort -n "$work/xy" | awk '{a[NR]=$1} END {printf "%.2f–%.2f", a[1], a[NR]}')) |" |
				tee -a "$OUT/latest.md"
		done
	done
}

if want perimeter; then
	aport=$(free_port)
	start_redoubt_yaml perim-a "$aport" 4096 <<-'Y'
	    allowlist: {local: [127.0.0.0/8, "::1"]}
	    cross_protocol_guard: true
	    strict_resp: true
	Y
	a_pid=$LAST_PID; wait_ping "$aport"
	bport=$(free_port)
	start_redoubt_yaml perim-b "$bport" 4096 <<-'Y'
	    allowlist: {all: [0.0.0.0/0]}
	    cross_protocol_guard: false
	    strict_resp: false
	Y
	b_pid=$LAST_PID; wait_ping "$bport"
	{
		echo
		echo "Perimeter cost: A = allowlist [127.0.0.0/8, ::1], cross_protocol_guard and strict_resp on (the defaults);"
		echo "B = allowlist 0.0.0.0/0, both off. Same build; redis-benchmark -c $CLIENTS, -n $REQUESTS at -P 1 and $P16_REQUESTS at -P 16;"
		echo "$RATIO_ROUNDS rounds in alternating order (AB, BA, …), median (range). Target A/B ≥ 0.97."
		echo
		echo "| test | pipeline | A ops/s | B ops/s | A/B (per-round range) |"
		echo "|---|---|---:|---:|---:|"
	} | tee -a "$OUT/latest.md"
	ratio_table "$aport" "" "$bport" ""
	stop "$a_pid"; stop "$b_pid"
fi

if want control; then
	# The noise floor of the two tables above and below: two identical
	# instances (A's settings) measured the same way.
	aport=$(free_port)
	start_redoubt_yaml ctl-a "$aport" 4096 </dev/null
	a_pid=$LAST_PID; wait_ping "$aport"
	bport=$(free_port)
	start_redoubt_yaml ctl-a2 "$bport" 4096 </dev/null
	b_pid=$LAST_PID; wait_ping "$bport"
	{
		echo
		echo "Control: A against an identical A′ (the defaults), measured the same way: the noise floor of these ratios."
		echo
		echo "| test | pipeline | A ops/s | A′ ops/s | A/A′ (per-round range) |"
		echo "|---|---|---:|---:|---:|"
	} | tee -a "$OUT/latest.md"
	ratio_table "$aport" "" "$bport" ""
	stop "$a_pid"; stop "$b_pid"
fi

# ---- Monitoring (issue 10): its cost, and a flood of cross-protocol
# attempts ----
if want monitoring; then
	aport=$(free_port)
	start_redoubt_yaml mon-on "$aport" 4096 <<-'Y'
	    allowlist: {local: [127.0.0.0/8]}
	Y
	a_pid=$LAST_PID; wait_ping "$aport"
	bport=$(free_port)
	start_redoubt_yaml mon-off "$bport" 4096 <<-'Y'
	    allowlist: {local: [127.0.0.0/8]}
	monitoring:
	  enabled: false
	Y
	b_pid=$LAST_PID; wait_ping "$bport"
	{
		echo
		echo "Monitoring cost: A = the defaults (allowlist 127.0.0.0/8 for the flood below; per-command statistics, latency histogram, slow log, hot/big key sampling,"
		echo "event file); B = the same build with monitoring: {enabled: false}. redis-benchmark -c $CLIENTS, -n $REQUESTS at -P 1"
		echo "and $P16_REQUESTS at -P 16; $RATIO_ROUNDS rounds in alternating order, median (range). Target A/B ≥ 0.95."
		echo
		echo "| test | pipeline | A ops/s | B ops/s | A/B (per-round range) |"
		echo "|---|---|---:|---:|---:|"
	} | tee -a "$OUT/latest.md"
	RATIO_TESTS=${MON_TESTS:-set get incr lpush} ratio_table "$aport" "" "$bport" ""
	stop "$b_pid"
	go build -o "$work/loadtool" ./scripts/loadtool
	line=$("$work/loadtool" xproto -addr "127.0.0.1:$aport" -pid "$a_pid" -n "${XPROTO_N:-100000}" 2>"$work/xproto.err") || {
		cat "$work/xproto.err" >&2
		line="failed"
	}
	sec=$(redis-cli -p "$aport" info security | tr -d '\r' | grep -E '^(cross_protocol_attempts|ban_refused|bans_total):' | paste -sd' ' -) || true
	ev=$(redis-cli -p "$aport" info security 2>/dev/null | tr -d '\r' | grep -E '^eventlog_(written|dropped|failing)' | paste -sd' ' -) || true
	{
		echo
		echo "Cross-protocol flood against A: ${XPROTO_N:-100000} connections from 127.0.0.2–250 each sending an HTTP POST,"
		echo "32 at a time, while 50 clients GET. loadtool xproto: $line"
		echo "A's INFO afterwards: $sec $ev"
	} | tee -a "$OUT/latest.md"
	stop "$a_pid"
	if [ "${MON_GATEWAY:-1}" = 1 ]; then
		rport=$(free_port); start_redis "$rport"; mon_redis=$LAST_PID; wait_ping "$rport"
		aport=$(free_port)
		start_redoubt_yaml mon-gw-on "$aport" 4096 <<-Y
		    backend: redis://127.0.0.1:$rport
		Y
		a_pid=$LAST_PID; wait_ping "$aport"
		bport=$(free_port)
		start_redoubt_yaml mon-gw-off "$bport" 4096 <<-Y
		    backend: redis://127.0.0.1:$rport
		monitoring:
		  enabled: false
		Y
		b_pid=$LAST_PID; wait_ping "$bport"
		{
			echo
			echo "Monitoring cost in gateway mode: the same two settings, each instance in front of one shared redis-server"
			echo "(backend: redis://…), measured the same way. Target A/B ≥ 0.95."
			echo
			echo "| test | pipeline | A ops/s | B ops/s | A/B (per-round range) |"
			echo "|---|---|---:|---:|---:|"
		} | tee -a "$OUT/latest.md"
		RATIO_TESTS=${MON_GW_TESTS:-set get} ratio_table "$aport" "" "$bport" ""
		stop "$a_pid"; stop "$b_pid"; stop "$mon_redis"
	fi
fi

# One account with 20 rules, among them key patterns that match
# redis-benchmark's key:__rand_int__ (the last one tried).
bench_rules='+@all -@dangerous -@admin -flushall -flushdb -keys -debug -config -shutdown ~session:* ~user:* %R~cache:* %W~log:* %R~ro:* %W~wo:* ~queue:* ~counter:* ~mylist* ~myset* ~key:*'
hash=""
if want accounts || want idle || want auth; then
	hash=$(printf '%s' "$PASS" | bin/redoubt passwd --stdin)
	go build -o "$work/loadtool" ./scripts/loadtool
fi

if want accounts; then
	cport=$(free_port)
	start_redoubt_yaml acct-c "$cport" 4096 <<-Y
	    accounts:
	      - name: bench
	        password_hash: "$hash"
	        rules: "$bench_rules"
	Y
	c_pid=$LAST_PID; wait_ping "$cport" bench "$PASS"
	dport=$(free_port)
	start_redoubt_yaml acct-d "$dport" 4096 </dev/null
	d_pid=$LAST_PID; wait_ping "$dport"
	{
		echo
		echo "Account cost: C = one account \"bench\" (no default account, so every client AUTHs) with $(wc -w <<<"$bench_rules") rules:"
		echo "\`$bench_rules\`; D = no accounts (the nopass default user)."
		echo "redis-benchmark --user bench -a … against C; -n as above. $RATIO_ROUNDS rounds in alternating order, median (range). Target C/D ≥ 0.95."
		echo
		echo "| test | pipeline | C ops/s | D ops/s | C/D (per-round range) |"
		echo "|---|---|---:|---:|---:|"
	} | tee -a "$OUT/latest.md"
	ratio_table "$cport" "bench $PASS" "$dport" ""
	stop "$c_pid"; stop "$d_pid"
fi

nofile=$((IDLE_N + 1024))
# start_auth_redoubt PORT: the instance of the idle and AUTH measurements —
# every 127/8 address allowed, room for IDLE_N connections from one address,
# an account "bench" to log in with and an account "victim" that never does.
# start_auth_redoubt PORT [FLAGS…]
start_auth_redoubt() {
	start_redoubt_yaml auth "$1" "$nofile" "${@:2}" <<-Y
	    allowlist: {local: [127.0.0.0/8]}
	    maxclients: $((IDLE_N + 100))
	    max_per_address: 0
	    accounts:
	      - name: bench
	        password_hash: "$hash"
	        rules: "+@all ~*"
	      - name: victim
	        password_hash: "$hash"
	        rules: "+@all ~*"
	Y
	wait_ping "$1" bench "$PASS"
}
start_auth_redis() { # port
	(ulimit -n "$nofile" && exec redis-server --port "$1" --bind 127.0.0.1 --save '' --appendonly no \
		--dir "$work" --logfile "$work/redis-$1.log" --daemonize no \
		--requirepass "$PASS" --maxclients $((IDLE_N + 100))) &
	pids+=($!)
	LAST_PID=$!
	wait_ping "$1" default "$PASS"
}

if want idle; then
	: >"$work/idle-r"; : >"$work/idle-d"; : >"$work/idle-r-rss"; : >"$work/idle-d-rss"
	for i in $(seq 1 "$ROUNDS"); do
		for s in $([ $((i % 2)) = 1 ] && echo "r d" || echo "d r"); do
			port=$(free_port)
			if [ "$s" = r ]; then start_auth_redis "$port"; user=default; else start_auth_redoubt "$port"; user=bench; fi
			pid=$LAST_PID
			line=$("$work/loadtool" idle -addr "127.0.0.1:$port" -n "$IDLE_N" -user "$user" -pass "$PASS" -pid "$pid" 2>/dev/null)
			kv kib_per_conn "$line" >>"$work/idle-$s"
			echo "$(kv rss_before_kib "$line") $(kv rss_after_kib "$line")" >>"$work/idle-$s-rss"
			stop "$pid"
		done
	done
	rss_range() { awk '{b=$1/1024; a=$2/1024; printf "%s%.0f → %.0f", (NR>1 ? ", " : ""), b, a}' "$1"; }
	{
		echo
		echo "Idle connections: $IDLE_N connections opened and AUTHed (redoubt: account bench; redis-server: requirepass),"
		echo "then RSS read 2 s after the last AUTH; a fresh server each round, $ROUNDS rounds alternating. Target ≤ 16 KiB each."
		echo
		echo "| server | KiB per connection | RSS before → after, MiB, each round |"
		echo "|---|---:|---|"
		echo "| redis-server | $(mstat "$work/idle-r" %.2f) | $(rss_range "$work/idle-r-rss") |"
		echo "| redoubt | $(mstat "$work/idle-d" %.2f) | $(rss_range "$work/idle-d-rss") |"
	} | tee -a "$OUT/latest.md"
fi

if want auth; then
	# (a) AUTH with the right password, the account having logged in once.
	for f in r-fps r-fus r-cps r-cus d-fps d-fus d-cps d-cus; do : >"$work/auth-$f"; done
	for i in $(seq 1 "$ROUNDS"); do
		for s in $([ $((i % 2)) = 1 ] && echo "r d" || echo "d r"); do
			port=$(free_port)
			if [ "$s" = r ]; then start_auth_redis "$port"; user=default; else start_auth_redoubt "$port"; user=bench; fi
			pid=$LAST_PID
			line=$("$work/loadtool" auth -phase a -duration "${AUTH_SECS}s" -addr "127.0.0.1:$port" \
				-user "$user" -pass "$PASS" -pid "$pid" 2>/dev/null)
			kv auth_fresh_per_s "$line" >>"$work/auth-$s-fps"
			kv auth_fresh_cpu_us "$line" >>"$work/auth-$s-fus"
			kv auth_conn_per_s "$line" >>"$work/auth-$s-cps"
			kv auth_conn_cpu_us "$line" >>"$work/auth-$s-cus"
			stop "$pid"
		done
	done
	{
		echo
		echo "AUTH with the right password after the account's first login (redoubt's fast verifier), 8 loops for ${AUTH_SECS} s;"
		echo "server CPU from /proc/PID/stat (utime+stime). $ROUNDS rounds alternating, median (range). Target ≤ 50 µs CPU per AUTH."
		echo
		echo "| AUTH | redis-server | redoubt |"
		echo "|---|---:|---:|"
		echo "| connect + AUTH + close, per second | $(mstat "$work/auth-r-fps") | $(mstat "$work/auth-d-fps") |"
		echo "| … server CPU µs each | $(mstat "$work/auth-r-fus" %.1f) | $(mstat "$work/auth-d-fus" %.1f) |"
		echo "| AUTH on open connections, per second | $(mstat "$work/auth-r-cps") | $(mstat "$work/auth-d-cps") |"
		echo "| … server CPU µs each | $(mstat "$work/auth-r-cus" %.1f) | $(mstat "$work/auth-d-cus" %.1f) |"
	} | tee -a "$OUT/latest.md"

	# (b) GET throughput of $CLIENTS authenticated clients without and then
	# during a flood of wrong-password AUTHs from 127.0.0.2…127.0.0.250.
	{
		echo
		echo "GET throughput of $CLIENTS authenticated clients (loadtool, -P 1) for ${AUTH_SECS} s without, then ${AUTH_SECS} s during, a flood of"
		echo "wrong-password AUTHs from 500 connections spread over 127.0.0.2…127.0.0.250; a fresh server each round,"
		echo "$ROUNDS rounds, median (range). Replies counted from the server's log (a lock's WRONGPASS looks the same on the wire)."
		echo
		echo "| flood | GET/s without | GET/s during | during/without | GET/s while argon2id runs¹ | wrong AUTH/s sent | checked (argon2id) | refused by lock | busy |"
		echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
	} | tee -a "$OUT/latest.md"
	for v in "victim|0|account never logged in, unpaced|" \
		"victim|1000|account never logged in, 1000/s|" \
		"nosuch|200|unknown account name, 200/s|" \
		"nosuch|200|unknown account name, 200/s, redoubt --threads 2|--threads 2"; do
		IFS='|' read -r fuser frate label flags <<<"$v"
		for f in base flood ratio pre rate chk lck busy; do : >"$work/fl-$f"; done
		for _ in $(seq 1 "$ROUNDS"); do
			port=$(free_port)
			# shellcheck disable=SC2086 # flags is empty or one flag and its value
			start_auth_redoubt "$port" $flags; pid=$LAST_PID
			line=$("$work/loadtool" auth -phase b -duration "${AUTH_SECS}s" -addr "127.0.0.1:$port" \
				-user bench -pass "$PASS" -pid "$pid" -clients "$CLIENTS" -flood-user "$fuser" \
				-flood-rate "$frate" -flood-conns 500 -wrong 1000000 -log "$work/auth.log" 2>>"$work/flood-detail.txt")
			echo "$label: $line" >>"$work/flood-detail.txt"
			kv get_base_per_s "$line" >>"$work/fl-base"
			kv get_flood_per_s "$line" >>"$work/fl-flood"
			kv get_ratio "$line" >>"$work/fl-ratio"
			p=$(kv get_prelock_per_s "$line"); [ "$p" != n/a ] && echo "$p" >>"$work/fl-pre"
			kv flood_per_s "$line" >>"$work/fl-rate"
			kv srv_failed "$line" >>"$work/fl-chk"
			kv srv_locked "$line" >>"$work/fl-lck"
			kv flood_busy "$line" >>"$work/fl-busy"
			stop "$pid"
		done
		pre="n/a"; [ -s "$work/fl-pre" ] && pre=$(mstat "$work/fl-pre")
		echo "| $label | $(mstat "$work/fl-base") | $(mstat "$work/fl-flood") | $(mstat "$work/fl-ratio" %.2f) | $pre | $(mstat "$work/fl-rate") | $(mstat "$work/fl-chk") | $(mstat "$work/fl-lck") | $(mstat "$work/fl-busy") |" |
			tee -a "$OUT/latest.md"
	done
	{
		echo
		echo "¹ The whole seconds before the first WRONGPASS answered in under 10 ms (the account lock; from then on"
		echo "no password is checked for it); the whole window when there is no lock. Per-round detail: $OUT/flood-detail.txt."
	} | tee -a "$OUT/latest.md"
	cp "$work/flood-detail.txt" "$OUT/flood-detail.txt"
fi

# ---- Durability (issue 4): the append-only file against none, the replay
# rate at start-up, and a rewrite of $KEYS keys ----

# log_duration_s FILE PATTERN KEY -> the duration KEY=… (Go's notation:
# 812ms, 1.5s, 1m2s) of the last log line matching PATTERN, in seconds.
log_duration_s() {
	{ grep -a "$2" "$1" || true; } | tail -n 1 | tr ' ' '\n' | awk -F= -v k="$3" '$1 == k {print $2}' |
		python3 -c '
import re, sys
s = sys.stdin.read().strip(); t = 0.0
for n, u in re.findall(r"([0-9.]+)(ns|us|µs|ms|s|m|h)", s):
    t += float(n) * {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}[u]
print("%.3f" % t if s else "")'
}
# log_field FILE PATTERN KEY -> KEY=… of the last log line matching PATTERN
log_field() { { grep -a "$2" "$1" || true; } | tail -n 1 | tr ' ' '\n' | awk -F= -v k="$3" '$1 == k {print $2}'; }
# info_field PORT SECTION FIELD
info_field() { redis-cli -p "$1" info "$2" | tr -d '\r' | awk -F: -v k="$3" '$1 == k {print $2}'; }

if want durability; then
	dur_yaml() { # appendonly lines
		printf '    %s\n' "$@"
		echo "    enabled_commands: [bgrewriteaof]"
	}
	oport=$(free_port); start_redoubt_yaml dur-off "$oport" 4096 < <(dur_yaml "appendonly: false")
	o_pid=$LAST_PID; wait_ping "$oport"
	eport=$(free_port); start_redoubt_yaml dur-everysec "$eport" 4096 < <(dur_yaml "appendfsync: everysec")
	e_pid=$LAST_PID; wait_ping "$eport"
	{
		echo
		echo "Durability: redoubt against itself — E = appendfsync everysec (the default), A = appendfsync always,"
		echo "O = appendonly false; data directories on $(df -T "$work" | awk 'NR==2 {print $2}') ($(df "$work" | awk 'NR==2 {print $1}')). redis-benchmark -c $CLIENTS,"
		echo "-n $REQUESTS at -P 1 and $P16_REQUESTS at -P 16; $RATIO_ROUNDS rounds in alternating order, median (range)."
		echo "Target E/O ≥ 0.90."
		echo
		echo "| test | pipeline | E ops/s | O ops/s | E/O (per-round range) |"
		echo "|---|---|---:|---:|---:|"
	} | tee -a "$OUT/latest.md"
	RATIO_TESTS=set ratio_table "$eport" "" "$oport" ""
	stop "$e_pid"
	aport=$(free_port); start_redoubt_yaml dur-always "$aport" 4096 < <(dur_yaml "appendfsync: always")
	a_pid=$LAST_PID; wait_ping "$aport"
	{
		echo
		echo "| test | pipeline | A ops/s | O ops/s | A/O (per-round range) |"
		echo "|---|---|---:|---:|---:|"
	} | tee -a "$OUT/latest.md"
	RATIO_TESTS=set ratio_table "$aport" "" "$oport" ""
	stop "$a_pid"; stop "$o_pid"

	# The same everysec file against redis-server's.
	rport=$(free_port); start_redis "$rport" --appendonly yes --appendfsync everysec; redis_pid=$LAST_PID; wait_ping "$rport"
	eport=$(free_port); start_redoubt_yaml dur-everysec2 "$eport" 4096 < <(dur_yaml "appendfsync: everysec")
	e_pid=$LAST_PID; wait_ping "$eport"
	{
		echo
		echo "Against redis-server $redis_ver with the same file: E = redoubt appendfsync everysec,"
		echo "R = redis-server --appendonly yes --appendfsync everysec; measured as above."
		echo
		echo "| test | pipeline | E ops/s | R ops/s | E/R (per-round range) |"
		echo "|---|---|---:|---:|---:|"
	} | tee -a "$OUT/latest.md"
	RATIO_TESTS=set ratio_table "$eport" "" "$rport" ""
	stop "$e_pid"; stop "$redis_pid"

	# Replay: $KEYS SETs into an everysec instance, stop it, start it again
	# on the same directory and read the replay from its log.
	python3 - "$KEYS" >"$work/load.resp" <<'PY'
import sys
n = int(sys.argv[1]); out = sys.stdout.buffer; v = b'x' * 16
for i in range(n):
    k = b'key:%012d' % i
    out.write(b'*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$16\r\n%s\r\n' % (len(k), k, v))
PY
	lport=$(free_port); start_redoubt_yaml dur-load "$lport" 4096 --log-level info < <(dur_yaml "appendfsync: everysec")
	l_pid=$LAST_PID; wait_ping "$lport"
	redis-cli -p "$lport" --pipe <"$work/load.resp" >/dev/null
	rm -f "$work/load.resp"
	n_loaded=$(redis-cli -p "$lport" dbsize)
	stop "$l_pid"
	aof_bytes=$(du -cb "$work/data-dur-load-$lport"/appendonly.aof.* | awk 'END {print $1}')
	start_redoubt_yaml dur-load "$lport" 4096 --log-level info < <(dur_yaml "appendfsync: everysec")
	l_pid=$LAST_PID
	for _ in $(seq 1 600); do
		[ "$(redis-cli -p "$lport" ping 2>/dev/null)" = PONG ] && break
		sleep 0.05
	done
	wait_ping "$lport"
	n_replayed=$(redis-cli -p "$lport" dbsize)
	cmds=$(log_field "$work/dur-load.log" "aof: loaded" commands)
	replay_s=$(log_duration_s "$work/dur-load.log" "aof: loaded" duration)
	replay_rate=$(awk -v c="$cmds" -v s="$replay_s" 'BEGIN { if (s > 0) printf "%.0f", c/s; else print "n/a" }')

	# Rewrite of those keys: BGREWRITEAOF, RSS sampled every 50 ms until
	# INFO persistence says it is over.
	sleep 2 # let the replay's garbage be collected before "before"
	rss0=$(rss_kib "$l_pid")
	(while kill -0 "$l_pid" 2>/dev/null; do rss_kib "$l_pid"; sleep 0.05; done) >"$work/rss-samples" 2>/dev/null &
	sampler=$!
	t0=$(date +%s.%N)
	redis-cli -p "$lport" bgrewriteaof >/dev/null
	while [ "$(info_field "$lport" persistence aof_rewrite_in_progress)" != 0 ]; do sleep 0.05; done
	t1=$(date +%s.%N)
	kill "$sampler" 2>/dev/null || true
	wait "$sampler" 2>/dev/null || true
	rss_peak=$(sort -n "$work/rss-samples" | tail -n 1)
	rss_peak=$((rss_peak > rss0 ? rss_peak : rss0))
	rw_status=$(info_field "$lport" persistence aof_last_bgrewrite_status)
	rw_log_s=$(log_duration_s "$work/dur-load.log" "aof: rewrite done" duration)
	base_bytes=$(log_field "$work/dur-load.log" "aof: rewrite done" base_bytes)
	stop "$l_pid"
	{
		echo
		echo "Start-up and rewrite: $n_loaded keys loaded with redis-cli --pipe (SET, 16-byte values) into an everysec instance,"
		echo "stopped (SIGTERM), started again on the same directory; then BGREWRITEAOF (enabled_commands: [bgrewriteaof]) with"
		echo "VmRSS sampled every 50 ms until INFO persistence shows aof_rewrite_in_progress:0. Targets: replay ≥ 1,000,000"
		echo "commands/s; rewrite < 5 s; peak RSS < 2× before."
		echo
		echo "| measure | value |"
		echo "|---|---:|"
		echo "| AOF replayed at start (files in the directory) | $((aof_bytes / 1048576)) MiB, $cmds commands, $n_replayed keys after |"
		echo "| replay time (log: aof: loaded … duration) | ${replay_s} s |"
		echo "| replay rate | $replay_rate commands/s |"
		echo "| rewrite, BGREWRITEAOF to aof_rewrite_in_progress:0 | $(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.2f", b-a}') s (log: ${rw_log_s} s; status $rw_status) |"
		echo "| new RDB base | $((${base_bytes:-0} / 1048576)) MiB |"
		echo "| RSS before the rewrite | $((rss0 / 1024)) MiB |"
		echo "| peak RSS during it ($(wc -l <"$work/rss-samples") samples) | $((rss_peak / 1024)) MiB ($(awk -v a="$rss_peak" -v b="$rss0" 'BEGIN {printf "%.2f", a/b}')×) |"
	} | tee -a "$OUT/latest.md"
fi

# ---- Gateway (issue 7): one redis-server reached directly, through
# redoubt --upstream and through twemproxy ----

# gw_run PORT PIPELINE TEST N [USER PASS] -> "rps p50_ms p99_ms" from
# redis-benchmark's CSV (7.0: test,rps,avg,min,p50,p95,p99,max).
gw_run() {
	local auth=()
	[ $# -ge 6 ] && auth=(--user "$5" -a "$6")
	redis-benchmark -p "$1" "${auth[@]}" -c "$CLIENTS" -n "$4" -P "$2" -t "$3" --csv -q 2>/dev/null |
		awk -F, 'NR==2 {gsub(/"/,""); print $2, $5, $7}'
}
# col FILE N -> column N of FILE, one value a line
col() { awk -v n="$2" '{print $n}' "$1"; }
# ratio_range A_FILE B_FILE -> "x.xx (lo–hi)": the ratio of the medians of
# column 1, then the range of the per-round ratios
ratio_range() {
	local ma mb
	ma=$(col "$1" 1 | median); mb=$(col "$2" 1 | median)
	printf '%s (%s)' "$(awk -v a="$ma" -v b="$mb" 'BEGIN { if (b > 0) printf "%.2f", a/b; else print "n/a" }')" \
		"$(paste -d' ' "$1" "$2" | awk '$4 > 0 {print $1/$4}' | sort -n | awk '{a[NR]=$1} END {printf "%.2f–%.2f", a[1], a[NR]}')"
}

if want gateway; then
	if ! command -v nutcracker >/dev/null 2>&1; then
		echo "gateway: nutcracker (twemproxy) is not installed; scripts/deps.sh installs it (as root)" >&2
		exit 1
	fi
	GW_TESTS=${GW_TESTS:-set get incr lpush lpop mset}
	GW_REQUESTS=${GW_REQUESTS:-150000}
	GW_P16_REQUESTS=${GW_P16_REQUESTS:-1000000}
	GW_MANY=${GW_MANY:-1000}
	[ -n "$hash" ] || hash=$(printf '%s' "$PASS" | bin/redoubt passwd --stdin)
	gw_t0=$(date +%s)

	# The backend.
	bport=$(free_port); start_redis "$bport"; gw_backend_pid=$LAST_PID; wait_ping "$bport"

	# Redoubt in front of it: the instance must be "default" for --upstream;
	# one account (every client AUTHs), the allowlist, the cross-protocol
	# guard, strict RESP and the default command policy (dangerous commands
	# refused) all on; the limits leave room for GW_MANY clients from 127.0.0.1.
	gport=$(free_port)
	start_redoubt_yaml default "$gport" $((GW_MANY * 2 + 1024)) --upstream "redis://127.0.0.1:$bport" <<-Y
	    allowlist: {local: [127.0.0.1/32]}
	    cross_protocol_guard: true
	    strict_resp: true
	    maxclients: $((GW_MANY * 2 + 100))
	    max_per_address: $((GW_MANY + 100))
	    accounts:
	      - name: bench
	        password_hash: "$hash"
	        role: read-write
	Y
	gw_redoubt_pid=$LAST_PID; wait_ping "$gport" bench "$PASS"

	# twemproxy in front of it: one pool, one server (twemproxy keeps one
	# connection to it: server_connections defaults to 1).
	tport=$(free_port); sport=$(free_port)
	cat >"$work/nutcracker.yml" <<-Y
	gw:
	  listen: 127.0.0.1:$tport
	  redis: true
	  hash: fnv1a_64
	  distribution: ketama
	  auto_eject_hosts: false
	  preconnect: true
	  servers:
	   - 127.0.0.1:$bport:1
	Y
	nutcracker -t -c "$work/nutcracker.yml" >/dev/null 2>&1 ||
		{ echo "gateway: nutcracker refuses $work/nutcracker.yml" >&2; exit 1; }
	nutcracker -c "$work/nutcracker.yml" -o "$work/nutcracker.log" -s "$sport" -a 127.0.0.1 \
		-p "$work/nutcracker.pid" &
	pids+=($!)
	gw_twem_pid=$!
	wait_ping "$tport"
	twem_ver=$(nutcracker -V 2>&1 | awk '/nutcracker-/ {sub(/.*nutcracker-/, ""); print; exit}')

	# P: direct, R: redoubt, T: twemproxy; each round starts with the next one.
	gw_path() { # letter pipeline test n
		case $1 in
		P) gw_run "$bport" "$2" "$3" "$4" ;;
		R) gw_run "$gport" "$2" "$3" "$4" bench "$PASS" ;;
		T) gw_run "$tport" "$2" "$3" "$4" ;;
		esac
	}
	: >"$work/gw-rows"; : >"$work/gw-lat"
	for p in 1 16; do
		n=$GW_REQUESTS
		[ "$p" = 16 ] && n=$GW_P16_REQUESTS
		for t in $GW_TESTS; do
			: >"$work/gw-P"; : >"$work/gw-R"; : >"$work/gw-T"
			for i in $(seq 1 "$ROUNDS"); do
				case $((i % 3)) in 1) order="P R T" ;; 2) order="R T P" ;; 0) order="T P R" ;; esac
				for s in $order; do
					line=$(gw_path "$s" "$p" "$t" "$n")
					if [ -z "$line" ]; then
						echo "gateway: $t -P $p gave no result on path $s (direct P, redoubt R, twemproxy T)" >&2
						line="0 0 0"
					fi
					echo "$line" >>"$work/gw-$s"
				done
			done
			rp=$(col "$work/gw-P" 1 | median); rr=$(col "$work/gw-R" 1 | median); rt=$(col "$work/gw-T" 1 | median)
			target=1.0; [ "$p" = 16 ] && target=0.6
			met=$(awk -v a="$rr" -v b="$rp" -v t="$target" 'BEGIN { print (b > 0 && a/b >= t) ? "met" : "missed" }')
			echo "| $t | $p | $rp | $rr | $rt | $(ratio_range "$work/gw-R" "$work/gw-P"); ≥ $target: $met | $(ratio_range "$work/gw-T" "$work/gw-P") |" >>"$work/gw-rows"
			l=()
			for s in P R T; do l+=("$(col "$work/gw-$s" 2 | median)" "$(col "$work/gw-$s" 3 | median)"); done
			# l: P50 P99 R50 R99 T50 T99
			echo "| $t | $p | ${l[0]} / ${l[1]} | ${l[2]} / ${l[3]} | ${l[4]} / ${l[5]} | $(awk -v a="${l[2]}" -v b="${l[0]}" -v c="${l[3]}" -v d="${l[1]}" 'BEGIN {printf "%+.3f / %+.3f", a-b, c-d}') | $(awk -v a="${l[4]}" -v b="${l[0]}" -v c="${l[5]}" -v d="${l[1]}" 'BEGIN {printf "%+.3f / %+.3f", a-b, c-d}') |" >>"$work/gw-lat"
		done
	done

	stop "$gw_twem_pid" # its connection to the backend would be counted below

	# GW_MANY clients through redoubt: the backend connections named
	# redoubt-* and the clients connected to redoubt, sampled every 0.2 s
	# while redis-benchmark runs.
	: >"$work/gw-many-samples"
	(
		[ "$(ulimit -n)" -ge $((GW_MANY + 100)) ] || ulimit -n $((GW_MANY + 1024))
		exec redis-benchmark -p "$gport" --user bench -a "$PASS" -c "$GW_MANY" -n $((GW_MANY * 200)) -P 1 -t get --csv -q
	) >"$work/gw-many.csv" 2>"$work/gw-many.err" &
	many_pid=$!
	pids+=($many_pid)
	while kill -0 "$many_pid" 2>/dev/null; do
		pool=$(redis-cli -p "$bport" client list 2>/dev/null | grep -c 'name=redoubt-' || true)
		all=$(($(redis-cli -p "$bport" client list 2>/dev/null | wc -l) - 1))
		# (INFO is @dangerous, refused to the read-write account: count
		# the established TCP connections to redoubt's port instead.)
		front=$(ss -Htn state established "( sport = :$gport )" 2>/dev/null | wc -l)
		echo "$pool $all ${front:-0}" >>"$work/gw-many-samples"
		sleep 0.2
	done
	wait "$many_pid" 2>/dev/null || true
	many_rps=$(awk -F'","' 'NR==2 {gsub(/"/,"",$2); print $2}' "$work/gw-many.csv")
	pool_max=$(col "$work/gw-many-samples" 1 | sort -n | tail -n 1)
	all_max=$(col "$work/gw-many-samples" 2 | sort -n | tail -n 1)
	front_max=$(col "$work/gw-many-samples" 3 | sort -n | tail -n 1)
	pool_ok=$(awk -v n="${pool_max:-0}" 'BEGIN { print (n >= 1 && n <= 4) ? "met" : "missed" }')

	stop "$gw_redoubt_pid"; stop "$gw_backend_pid"
	{
		echo
		echo "Gateway: one redis-server $redis_ver (--appendonly no, --save \"\") reached three ways — direct; through redoubt"
		echo "--upstream redis://127.0.0.1:PORT with an account (redis-benchmark --user bench -a …, role read-write), allowlist"
		echo "[127.0.0.1/32], cross-protocol guard, strict RESP and the default command policy on; through twemproxy $twem_ver"
		echo "(one pool, one server, fnv1a_64/ketama, preconnect). redis-benchmark -c $CLIENTS, -n $GW_REQUESTS at -P 1 and"
		echo "$GW_P16_REQUESTS at -P 16; $ROUNDS rounds in rotating order (PRT, RTP, TPR, …), median; ratios are of the medians,"
		echo "with the range of the per-round ratios. Targets: redoubt/direct ≥ 1.0 at -P 1, ≥ 0.6 at -P 16."
		echo
		echo "| test | pipeline | direct ops/s | redoubt ops/s | twemproxy ops/s | redoubt/direct (range), target | twemproxy/direct (range) |"
		echo "|---|---|---:|---:|---:|---:|---:|"
		cat "$work/gw-rows"
		echo
		echo "Latency in ms (redis-benchmark's p50 / p99, median of the rounds); added = through the proxy minus direct."
		echo
		echo "| test | pipeline | direct p50 / p99 | redoubt p50 / p99 | twemproxy p50 / p99 | redoubt added p50 / p99 | twemproxy added p50 / p99 |"
		echo "|---|---|---:|---:|---:|---:|---:|"
		cat "$work/gw-lat"
		echo
		echo "| $GW_MANY clients through redoubt (GET, -P 1, $((GW_MANY * 200)) requests; sampled every 0.2 s) | value |"
		echo "|---|---:|"
		echo "| ops/s | ${many_rps:-n/a} |"
		echo "| connections to redoubt (ss, established), most seen | ${front_max:-n/a} |"
		echo "| backend connections named redoubt-*, most seen (target ≤ 4) | ${pool_max:-n/a} $pool_ok |"
		echo "| backend connections in all, most seen (less the sampling redis-cli) | ${all_max:-n/a} |"
		echo
		echo "Gateway section: $(($(date +%s) - gw_t0)) s."
	} | tee -a "$OUT/latest.md"
fi

# ---- Cluster: a Redis Cluster of 3 masters reached directly
# (redis-benchmark --cluster) and through redoubt --upstream
# redis-cluster://… ----

# free_port_pair -> a port P such that P and its cluster bus port P+10000
# were both free on 127.0.0.1 a moment ago.
free_port_pair() {
	python3 -c '
import random, socket
for _ in range(100):
    p = random.randrange(20000, 40000)
    try:
        for q in (p, p + 10000):
            socket.socket().bind(("127.0.0.1", q))
    except OSError:
        continue
    print(p)
    break
else:
    raise SystemExit("no free pair of ports P, P+10000 on 127.0.0.1")'
}

# cl_run PATH PIPELINE TEST N -> "rps p50_ms p99_ms": PATH C is the cluster
# reached directly, R redoubt in front of it.
cl_run() {
	local target
	case $1 in
	C) target=(--cluster -h 127.0.0.1 -p "${cl_ports[0]}" -a "$CL_PASS") ;;
	R) target=(-h 127.0.0.1 -p "$cl_rport" --user bench -a "$PASS") ;;
	esac
	# --cluster prints the nodes it found before the CSV: take the first
	# line after the CSV header.
	redis-benchmark "${target[@]}" -c "$CLIENTS" -n "$4" -P "$2" -t "$3" -r 100000 --csv -q 2>/dev/null |
		awk -F, '$1 == "\"test\"" {h = 1; next} h {gsub(/"/,""); print $2, $5, $7; exit}'
}

cl_status=0 # 1 when redoubt did not serve the cluster: the run then fails at the end
if want cluster; then
	CL_TESTS=${CL_TESTS:-set get incr lpush lpop mset}
	# redis-benchmark --cluster runs one thread per master, and a thread
	# notices that its clients are done only at its 250 ms timer: a direct
	# run's time is rounded up by up to 0.25 s. Runs of ~4 s keep that
	# under ~6%.
	CL_REQUESTS=${CL_REQUESTS:-400000}
	CL_P16_REQUESTS=${CL_P16_REQUESTS:-4000000}
	[ -n "$hash" ] || hash=$(printf '%s' "$PASS" | bin/redoubt passwd --stdin)
	cl_t0=$(date +%s)

	# The cluster: 3 masters, no replicas (a replica would take CPU from
	# the 2 cores for copying writes), one random password, which redoubt
	# reads from a 0600 file, never from its command line.
	CL_PASS=$(python3 -c 'import secrets; print(secrets.token_hex(16))')
	(umask 077 && printf '%s\n' "$CL_PASS" >"$work/cluster.pass")
	cl_ports=(); cl_pids=()
	for _ in 1 2 3; do
		p=$(free_port_pair)
		start_redis "$p" --cluster-enabled yes --cluster-config-file "nodes-$p.conf" \
			--cluster-node-timeout 5000 --requirepass "$CL_PASS" --masterauth "$CL_PASS"
		cl_pids+=("$LAST_PID"); cl_ports+=("$p")
		wait_ping "$p" default "$CL_PASS" # before the next port is chosen
	done
	cl_addrs=(); for p in "${cl_ports[@]}"; do cl_addrs+=("127.0.0.1:$p"); done
	redis-cli -a "$CL_PASS" --no-auth-warning --cluster create "${cl_addrs[@]}" --cluster-replicas 0 --cluster-yes \
		>"$work/cluster-create.log" 2>&1 ||
		{ echo "cluster: redis-cli --cluster create failed:" >&2; cat "$work/cluster-create.log" >&2; exit 1; }
	cl_ok() {
		for p in "${cl_ports[@]}"; do
			redis-cli -p "$p" -a "$CL_PASS" --no-auth-warning cluster info 2>/dev/null | grep -q cluster_state:ok || return 1
		done
	}
	for _ in $(seq 1 200); do cl_ok && break; sleep 0.05; done
	cl_ok || { echo "cluster: cluster_state is not ok on every node after 10 s" >&2; exit 1; }
	cl_up=$(($(date +%s) - cl_t0))

	# Redoubt in front of it, with the front door of the gateway section:
	# one account, the allowlist, the cross-protocol guard, strict RESP
	# and the default command policy.
	cl_rport=$(free_port)
	cl_url="redis-cluster://$(IFS=,; echo "${cl_addrs[*]}")"
	start_redoubt_yaml default "$cl_rport" 4096 --upstream "$cl_url" --upstream-password-file "$work/cluster.pass" <<-Y
	    allowlist: {local: [127.0.0.1/32]}
	    cross_protocol_guard: true
	    strict_resp: true
	    accounts:
	      - name: bench
	        password_hash: "$hash"
	        role: read-write
	Y
	cl_redoubt_pid=$LAST_PID
	# The round trip through the cluster, not only redoubt's own PING.
	if wait_ping "$cl_rport" bench "$PASS" &&
		[ "$(redis-cli -p "$cl_rport" --user bench --pass "$PASS" --no-auth-warning set cl:probe 1 2>&1)" = OK ]; then
		cl_redoubt=up
	else
		cl_redoubt=down; cl_status=1
		{
			echo "cluster: redoubt --upstream $cl_url did not serve the cluster; only the direct column is measured."
			echo "cluster: SET through it: $(redis-cli -p "$cl_rport" --user bench --pass "$PASS" --no-auth-warning set cl:probe 1 2>&1 | head -n 1)"
			echo "cluster: the end of its log ($work/default.log):"
			tail -n 20 "$work/default.log"
		} >&2
	fi

	# C: the cluster directly, R: redoubt; rounds alternate which goes first.
	: >"$work/cl-rows"; : >"$work/cl-lat"; : >"$work/cl-mset"
	for p in 1 16; do
		n=$CL_REQUESTS
		[ "$p" = 16 ] && n=$CL_P16_REQUESTS
		for t in $CL_TESTS; do
			: >"$work/cl-C"; : >"$work/cl-R"
			m=$n
			[ "$t" = mset ] && m=$((n / 4)) # 10 keys each: a quarter of the commands lasts as long
			for i in $(seq 1 "$ROUNDS"); do
				order="C R"; [ $((i % 2)) = 0 ] && order="R C"
				for s in $order; do
					line=""
					if [ "$s" = C ] || [ "$cl_redoubt" = up ]; then
						line=$(cl_run "$s" "$p" "$t" "$m") || line=""
						[ -n "$line" ] || echo "cluster: $t -P $p gave no result on path $s (direct C, redoubt R)" >&2
					fi
					echo "${line:-0 0 0}" >>"$work/cl-$s"
				done
			done
			rc=$(col "$work/cl-C" 1 | median); rr=$(col "$work/cl-R" 1 | median)
			lc="$(col "$work/cl-C" 2 | median) / $(col "$work/cl-C" 3 | median)"
			lr="$(col "$work/cl-R" 2 | median) / $(col "$work/cl-R" 3 | median)"
			if [ "$cl_redoubt" = down ]; then
				rr=n/a; lr=n/a; ratio="n/a (redoubt did not serve the cluster)"; added=n/a
			else
				target=0.8; [ "$p" = 16 ] && target=0.5
				met=$(awk -v a="$rr" -v b="$rc" -v t="$target" 'BEGIN { print (b > 0 && a/b >= t) ? "met" : "missed" }')
				ratio="$(ratio_range "$work/cl-R" "$work/cl-C"); ≥ $target: $met"
				added=$(awk -v a="${lr% / *}" -v b="${lc% / *}" -v c="${lr#* / }" -v d="${lc#* / }" 'BEGIN {printf "%+.3f / %+.3f", a-b, c-d}')
			fi
			if [ "$t" = mset ]; then
				[ "$cl_redoubt" = down ] || ratio=$(ratio_range "$work/cl-R" "$work/cl-C")
				echo "| mset | $p | $rc | $rr | $ratio | $lc | $lr |" >>"$work/cl-mset"
			else
				echo "| $t | $p | $rc | $rr | $ratio |" >>"$work/cl-rows"
				echo "| $t | $p | $lc | $lr | $added |" >>"$work/cl-lat"
			fi
		done
	done

	stop "$cl_redoubt_pid"
	for pid in "${cl_pids[@]}"; do stop "$pid"; done
	{
		echo
		echo "Cluster: 3 masters, no replicas, redis-server $redis_ver (--cluster-enabled yes --cluster-node-timeout 5000"
		echo "--requirepass, --appendonly no, --save \"\"), made with redis-cli --cluster create (up in $cl_up s), reached two"
		echo "ways — direct (redis-benchmark --cluster -h 127.0.0.1 -p FIRST -a …: its clients spread over the masters, each"
		echo "client's keys on its master by a hash tag) and through redoubt --upstream redis-cluster://… --upstream-password-file"
		echo "(the nodes' password in a 0600 file) with an account (--user bench -a …), allowlist [127.0.0.1/32],"
		echo "cross-protocol guard, strict RESP and the default command policy on. redis-benchmark -c $CLIENTS -r 100000,"
		echo "-n $CL_REQUESTS at -P 1 and $CL_P16_REQUESTS at -P 16 (a quarter of that for MSET); $ROUNDS rounds, alternating"
		echo "which path goes first, median; ratios are of the medians, with the range of the per-round ratios. redis-benchmark"
		echo "--cluster runs a thread per master and rounds a run's time up to its 250 ms timer: the direct figures are low by"
		echo "up to 0.25 s in each run's time. Targets: redoubt/direct ≥ 0.8 at -P 1,"
		echo "≥ 0.5 at -P 16. LPUSH and LPOP use one list: direct, one per master (mylist{tag}); through redoubt, one list"
		echo "on one master. Redoubt: $cl_redoubt."
		echo
		echo "| test | pipeline | direct cluster ops/s | redoubt ops/s | redoubt/direct (range), target |"
		echo "|---|---|---:|---:|---:|"
		cat "$work/cl-rows"
		echo
		echo "Latency in ms (redis-benchmark's p50 / p99, median of the rounds); added = through redoubt minus direct."
		echo
		echo "| test | pipeline | direct p50 / p99 | redoubt p50 / p99 | redoubt added p50 / p99 |"
		echo "|---|---|---:|---:|---:|"
		cat "$work/cl-lat"
		if [ -s "$work/cl-mset" ]; then
			echo
			echo "MSET (10 keys) is not like for like, so it has no target: redis-benchmark --cluster gives the 10 keys"
			echo "one hash tag, so each MSET goes to one master; through redoubt they are key:__rand_int__ in up to 10"
			echo "slots, which redoubt splits into one command per key across the masters."
			echo
			echo "| test | pipeline | direct cluster ops/s | redoubt ops/s | redoubt/direct (range) | direct p50 / p99 | redoubt p50 / p99 |"
			echo "|---|---|---:|---:|---:|---:|---:|"
			cat "$work/cl-mset"
		fi
		echo
		echo "Cluster section: $(($(date +%s) - cl_t0)) s."
	} | tee -a "$OUT/latest.md"
fi
echo
echo "written to $OUT/latest.md"
if [ "$cl_status" != 0 ]; then
	echo "cluster: redoubt did not serve the cluster (see above)" >&2
	exit 1
fi
