#!/usr/bin/env bash
# The debug vmlinux (full DWARF) of a Debian kernel, for the drgn oracle of vmlab runs
# (VMLAB_DRGN=1, docs/VMLAB.md): `apt-get download linux-image-KREL-dbg` (about 1 GB) into
# target/vmlab/dbg-KREL/ and only its vmlinux extracted; both are kept, so this runs once per
# kernel. Prints the vmlinux path on the last line.
#   scripts/vm-dbg.sh 6.12.111+deb12-amd64
set -euo pipefail
cd "$(dirname "$0")/.."
KREL=${1:?usage: scripts/vm-dbg.sh KERNEL_RELEASE}
D=target/vmlab/dbg-$KREL
V=$D/usr/lib/debug/boot/vmlinux-$KREL
if [ ! -f "$D/.done" ]; then
  mkdir -p "$D"
  deb=$(ls "$D"/linux-image-"$KREL"-dbg_*.deb 2>/dev/null | head -1 || true)
  if [ -z "$deb" ]; then
    echo "[vm-dbg] apt-get download linux-image-$KREL-dbg (about 1 GB, once)" >&2
    (cd "$D" && apt-get download "linux-image-$KREL-dbg" >&2) || {
      echo "[vm-dbg] ERROR: apt-get download linux-image-$KREL-dbg failed" >&2; exit 1; }
    deb=$(ls "$D"/linux-image-"$KREL"-dbg_*.deb | head -1)
  fi
  dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$D" --wildcards "./usr/lib/debug/boot/vmlinux-$KREL"
  [ -f "$V" ] || { echo "[vm-dbg] ERROR: no vmlinux-$KREL in $deb" >&2; exit 1; }
  rm -f "$deb"
  touch "$D/.done"
fi
realpath "$V"
