#!/usr/bin/env bash
# The demo: builds a busybox image from the host's busybox-static, imports it, and walks a
# container through its life in temporary roots (never the host's /var/lib/denopod). Run as root.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
demo=$(mktemp -d /tmp/denopod-demo-XXXXXX)
cleanup() {
  # stop what still runs, then unmount everything under the demo roots and delete them
  deno run -A --no-check main.ts --root "$demo/root" --runroot "$demo/run" rm -a -f >/dev/null 2>&1 || true
  grep -o " $demo[^ ]*" /proc/self/mountinfo | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
  rm -rf "$demo"
}
trap cleanup EXIT
denopod() { deno run -A --no-check main.ts --root "$demo/root" --runroot "$demo/run" "$@"; }
step() { printf '\n\033[1m$ denopod %s\033[0m\n' "$*"; denopod "$@"; }

bash scripts/make-busybox-rootfs.sh "$demo/busybox.tar"
step import --change 'CMD ["sh", "-c", "echo hello from $(hostname)"]' "$demo/busybox.tar" demo/busybox:1
step images
step create --name web --hostname web -e GREETING=hi demo/busybox:1 sh -c 'echo $GREETING; sleep 1000'
mnt=$(denopod mount web)
printf '\n\033[1m$ denopod mount web\033[0m\n%s\n' "$mnt"
echo "written by the demo" >"$mnt/root/note.txt"
step ps -a --size
printf '\n\033[1m$ denopod export web | tar -tf - | grep note\033[0m\n'
denopod export web | tar -tf - | grep note
step umount web
step run --rm demo/busybox:1
step start web
step ps
step logs web
step exec web cat /etc/hostname
step stop -t 2 web
step ps -a
step rm web
step rmi demo/busybox:1
