#!/bin/bash
# Build the out-of-tree crash module in this folder against Debian's linux-headers for $KVER.
# The headers are unpacked under $LAB_SCRATCH/hdr (nothing is installed on the host).
# Output: $LAB_SCRATCH/kmod/lab_crash.ko (with DWARF: the initramfs gets this very file, so the
# oracle's --module-debug and the guest's module have the same build ID).
# A rebuild happens only when lab_crash.c or Kbuild is newer than the .ko (scripts/vm-build.sh
# calls this on every run; the headers download, 16 MB, happens once per kernel version).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
SCRATCH=${LAB_SCRATCH:?set LAB_SCRATCH to a scratch folder}
KVER=${KVER:-6.12.111+deb12-amd64}
KBASE=${KVER%-amd64}                      # 6.12.111+deb12
H=$SCRATCH/hdr; mkdir -p "$H"
K=$SCRATCH/kmod
if [ -f "$K/lab_crash.ko" ] && [ "$K/lab_crash.ko" -nt "$HERE/lab_crash.c" ] && [ "$K/lab_crash.ko" -nt "$HERE/Kbuild" ]; then
  echo "lab_crash: $K/lab_crash.ko is up to date" >&2
  exit 0
fi
if [ ! -f "$H/.done" ]; then
  rm -rf "$H" && mkdir -p "$H"
  # A fresh machine may have no package lists yet: update once and retry.
  pkgs=("linux-headers-$KVER" "linux-headers-$KBASE-common" "linux-kbuild-$KBASE")
  (cd "$H" && apt-get download "${pkgs[@]}") >&2 || {
    apt-get update -qq >&2 || true
    (cd "$H" && apt-get download "${pkgs[@]}") >&2
  }
  for f in "$H"/*.deb; do dpkg-deb -x "$f" "$H/root"; done
  # the arch Makefile includes the common one by absolute path
  sed -i "s#^include /usr/src/#include $H/root/usr/src/#" "$H/root/usr/src/linux-headers-$KVER/Makefile"
  touch "$H/.done"
fi
if ! command -v gcc-12 >/dev/null || ! command -v make >/dev/null; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gcc-12 make >&2 || {
    apt-get update -qq >&2 || true
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gcc-12 make >&2
  }
fi
rm -rf "$K"; mkdir -p "$K"; cp "$HERE"/{lab_crash.c,Kbuild} "$K/"
# CONFIG_DEBUG_INFO_BTF_MODULES= : no pahole on the host, skip BTF (not needed)
# -ffile-prefix-map: __FILE__ (BUG() report) and DWARF name /usr/src/lab_crash/..., not the scratch path
make -C "$H/root/usr/src/linux-headers-$KVER" M="$K" CONFIG_DEBUG_INFO_BTF_MODULES= \
  KCFLAGS="-ffile-prefix-map=$K/=/usr/src/lab_crash/ -ffile-prefix-map=$H/root/=/" modules 2>&1 | tail -20 >&2
test -f "$K/lab_crash.ko"
strings "$K/lab_crash.ko" | grep -E "^(vermagic|name)=" >&2
