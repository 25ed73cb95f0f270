#!/usr/bin/env bash
# make bench: redis-benchmark against a real redis-server and against
# redoubt on the same machine, in one run, alternating, with ratios; then
# the RSS of each after loading 1,000,000 keys with 16-byte values.
#
# Environment: ROUNDS (default 3; the median is reported), REQUESTS
# (default 200000), CLIENTS (default 50), KEYS (default 1000000).
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${ROUNDS:-3}
REQUESTS=${REQUESTS:-200000}
CLIENTS=${CLIENTS:-50}
KEYS=${KEYS:-1000000}
OUT=bench-results
mkdir -p "$OUT"
work=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

wait_ping() {
	for _ in $(seq 1 200); do
		[ "$(redis-cli -p "$1" ping 2>/dev/null)" = PONG ] && return 0
		sleep 0.05
	done
	echo "server on port $1 did not answer" >&2
	return 1
}

start_redis() { # port
	redis-server --port "$1" --bind 127.0.0.1 --save '' --appendonly no \
		--dir "$work" --logfile "$work/redis-$1.log" --daemonize no &
	pids+=($!)
	LAST_PID=$!
	wait_ping "$1"
}

start_redoubt() { # port
	mkdir -p "$work/redoubt-$1"
	bin/redoubt --listen "127.0.0.1:$1" --data "$work/redoubt-$1" --log-level warn \
		2>"$work/redoubt-$1.log" &
	pids+=($!)
	LAST_PID=$!
	wait_ping "$1"
}

rss_kib() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }

# rps PORT PIPELINE TEST -> requests per second
rps() {
	redis-benchmark -p "$1" -c "$CLIENTS" -n "$REQUESTS" -P "$2" -t "$3" --csv -q 2>/dev/null |
		awk -F'","' 'NR==2 {gsub(/"/,"",$2); print $2}'
}

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

rport=$(free_port); start_redis "$rport"; redis_pid=$LAST_PID
dport=$(free_port); start_redoubt "$dport"; redoubt_pid=$LAST_PID

machine="$(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr)"
redis_ver=$(redis-server --version | awk '{print $3}' | sed 's/v=//')
{
	echo "# make bench — $(date -u +%Y-%m-%d)"
	echo
	echo "Machine: $machine. redis-server $redis_ver. $(go version | awk '{print $3}')."
	echo "redis-benchmark -c $CLIENTS -n $REQUESTS, median of $ROUNDS alternating rounds."
	echo
	echo "| test | pipeline | redis-server ops/s | redoubt ops/s | redoubt/redis |"
	echo "|---|---|---:|---:|---:|"
} | tee "$OUT/latest.md"

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
{
	echo
	echo "| memory | redis-server | redoubt | redoubt/redis |"
	echo "|---|---:|---:|---:|"
	echo "| RSS at start | $((rss_r0 / 1024)) MiB | $((rss_d0 / 1024)) MiB | |"
	echo "| RSS with $nr / $nd keys (16-byte values) | $((rss_r / 1024)) MiB | $((rss_d / 1024)) MiB | $(awk -v a="$rss_d" -v b="$rss_r" 'BEGIN {printf "%.2f", a/b}') |"
} | tee -a "$OUT/latest.md"
echo
echo "written to $OUT/latest.md"
