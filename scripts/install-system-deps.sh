#!/usr/bin/env bash
# Debian packages the tests need: Chromium (browser tests), PostgreSQL (server binaries) and
# Redis (the job queue's and rate limits' shared storage; tests start their own servers).
# Installs only what is missing; needs root or sudo for apt-get.
set -euo pipefail

missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium fonts-liberation)
compgen -G "/usr/lib/postgresql/*/bin/pg_ctl" >/dev/null || missing+=(postgresql)
command -v redis-server >/dev/null || missing+=(redis-server)

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

as_root=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null; then
    as_root=(sudo)
  else
    echo "Please install as root: apt-get install ${missing[*]}" >&2
    exit 1
  fi
fi
echo "Installing Debian packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -qq
"${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# The Debian package starts a cluster of its own; the tests start their own servers.
if command -v pg_lsclusters >/dev/null && [ -n "$(pg_lsclusters -h 2>/dev/null)" ]; then
  "${as_root[@]}" pg_ctlcluster --force "$(pg_lsclusters -h | awk 'NR==1{print $1}')" main stop \
    2>/dev/null || true
fi
# Nor do the tests use the Redis server the package may have started.
if command -v service >/dev/null; then
  "${as_root[@]}" service redis-server stop >/dev/null 2>&1 || true
fi
