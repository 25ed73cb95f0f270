#!/usr/bin/env bash
# Installs the tools the tests and benchmarks use: real redis-server,
# redis-cli and redis-benchmark, twemproxy (nutcracker) for the gateway
# benchmark, a headless Chromium for the cross-protocol attack tests and
# iproute2 for the network-namespace tests. As root it installs them through
# apt; as another user it says what to install and fails.
set -euo pipefail

need=()
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
command -v redis-cli >/dev/null 2>&1 || need+=(redis-tools)
command -v redis-benchmark >/dev/null 2>&1 || need+=(redis-tools)
command -v nutcracker >/dev/null 2>&1 || need+=(nutcracker)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v ip >/dev/null 2>&1 || need+=(iproute2)
[ ${#need[@]} -eq 0 ] && exit 0

# Deduplicate.
mapfile -t need < <(printf '%s\n' "${need[@]}" | sort -u)
if [ "$(id -u)" != 0 ]; then
	echo "make test needs: ${need[*]}" >&2
	echo "install them as root: apt-get install -y ${need[*]}" >&2
	exit 1
fi
echo "installing ${need[*]} through apt" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
# Debian starts the packaged services (redis-server on port 6379, nutcracker
# on 22121); tests and benchmarks start their own on free ports, and 6379
# belongs to redoubt's default instance.
if command -v service >/dev/null 2>&1; then
	service redis-server stop >/dev/null 2>&1 || true
	service nutcracker stop >/dev/null 2>&1 || true
fi
pkill -x redis-server >/dev/null 2>&1 || true
exit 0
