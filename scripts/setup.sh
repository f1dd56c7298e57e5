#!/usr/bin/env bash
# Installs what denopod and its tests need, when it is missing: Deno (the npm package `deno`,
# pinned), and from the distribution runc, conmon, busybox-static, zstd, netavark, aardvark-dns,
# iptables (bridge networks), podman (the tests and benchmarks compare with it),
# golang-github-containers-common (podman's seccomp profile), catatonit (--init), and zsh and
# fish (the completion tests load `completion zsh|fish` in them). Safe to run again.
set -euo pipefail
DENO_VERSION=2.9.6
cd "$(dirname "$0")/.."

have_deno_version() {
  command -v deno >/dev/null 2>&1 && deno --version 2>/dev/null | head -1 | grep -q "^deno ${DENO_VERSION} "
}
if ! have_deno_version; then
  echo "setup: installing deno ${DENO_VERSION} from npm" >&2
  npm install -g --no-fund --no-audit "deno@${DENO_VERSION}" >&2
  hash -r
fi
have_deno_version || { echo "setup: deno ${DENO_VERSION} is not on PATH after install" >&2; exit 1; }

missing=()
command -v runc >/dev/null 2>&1 || missing+=(runc)
command -v conmon >/dev/null 2>&1 || missing+=(conmon)
dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q "install ok installed" ||
  missing+=(busybox-static)
command -v zstd >/dev/null 2>&1 || missing+=(zstd)
command -v podman >/dev/null 2>&1 || missing+=(podman)
# podman's seccomp profile (/usr/share/containers/seccomp.json), every container's default
[ -f /usr/share/containers/seccomp.json ] || missing+=(golang-github-containers-common)
# --init runs catatonit, as podman does
command -v catatonit >/dev/null 2>&1 || [ -x /usr/libexec/podman/catatonit ] || missing+=(catatonit)
# bridge networks: netavark and aardvark-dns (Debian puts them in /usr/lib/podman), iptables
for pkg in netavark aardvark-dns iptables; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" ||
    missing+=("$pkg")
done
# the shells the completion scripts are tested in (bash is always there)
for shell in zsh fish; do
  command -v "$shell" >/dev/null 2>&1 || missing+=("$shell")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]} from the distribution" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq "${missing[@]}" >&2
fi

# Fetch and cache the pinned npm dependencies (from deno.lock) so tests run offline after this.
# Every module is named: main.ts alone misses the packages that only lazily loaded code imports,
# and Deno would then fetch them during the tests, printing "Download ..." into their stderr.
mapfile -t modules < <(find lib scripts test -name '*.ts' | sort)
deno install --frozen --entrypoint main.ts "${modules[@]}" >&2
