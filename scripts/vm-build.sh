#!/usr/bin/env bash
# Build the vmlab guest: a Debian Linux 6.12 kernel and one gzip-cpio initramfs that serves both
# the production kernel and the crash kernel (shared/LAB.md is the recipe this follows).
#
# Usage: scripts/vm-build.sh [--vmcore PATH] [--out DIR]
#   --vmcore  our `vmcore` binary to put in the guest (default target/release/vmcore)
#   --out     where to put vmlinuz + initrd.img (default target/vmlab/guest)
#   --lab-crash  also build tools/vmlab/lab_crash (against Debian's linux-headers of the guest
#             kernel, cached in target/vmlab/lab_crash-KVER/) and put it in the initramfs as
#             /lib/modules/lab_crash.ko; prints `LAB_CRASH_KO=...` (the same file, with DWARF)
# Prints `VMLINUZ=...`, `INITRD=...`, `KERNEL_PKG=...` on stdout (last lines) for the harness.
#
# Caches under target/vmlab/: the .debs (keyed by package version, as apt names them) and the
# extracted kernel + modules (keyed by the kernel package version), so a rerun only re-packs the
# initramfs (a few seconds), which it must do anyway because the vmcore binary changes per build.
# Env: VMLAB_KERNEL_PKG=linux-image-6.12.N+deb12-amd64-unsigned picks a kernel package.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
VMCORE=$ROOT/target/release/vmcore
OUT=$ROOT/target/vmlab/guest
LAB_CRASH=0
while [ $# -gt 0 ]; do
  case "$1" in
    --vmcore) VMCORE=$(realpath "$2"); shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --lab-crash) LAB_CRASH=1; shift ;;
    *) echo "vm-build: unknown argument $1" >&2; exit 2 ;;
  esac
done
CACHE=$ROOT/target/vmlab
DEBS=$CACHE/debs
mkdir -p "$DEBS" "$OUT"
log() { echo "[vm-build] $*" >&2; }
die() { echo "[vm-build] ERROR: $*" >&2; exit 1; }

[ -x "$VMCORE" ] || die "no vmcore binary at $VMCORE (cargo build --release -p vmcore-cli)"

# ---- host tools: installed from Debian when missing (CI runs as root on a fresh machine) ----
need=()
command -v qemu-system-x86_64 >/dev/null || need+=(qemu-system-x86)
command -v kexec >/dev/null || [ -x /usr/sbin/kexec ] || need+=(kexec-tools)
command -v makedumpfile >/dev/null || need+=(makedumpfile)
command -v cpio >/dev/null || need+=(cpio)
command -v xz >/dev/null || need+=(xz-utils)
command -v zstd >/dev/null || need+=(zstd)
if [ ${#need[@]} -gt 0 ]; then
  [ "$(id -u)" = 0 ] || die "missing ${need[*]} and not root: apt-get install ${need[*]}"
  log "installing ${need[*]} (apt-get)"
  apt-get update -qq >/dev/null 2>&1 || log "warning: apt-get update failed"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null \
    || die "apt-get install ${need[*]} failed"
fi

# ---- which kernel: LAB.md's 6.12.111 (the one testdata/real came from) if the archive still has it,
# else the newest linux-image-6.12.*-amd64-unsigned apt offers. ----
candidate() { apt-cache policy "$1" 2>/dev/null | awk '/Candidate:/ {print $2}'; }
# VMLAB_KERNEL_PKG may name several packages (comma-separated) when a kernel is split, as in
# Debian 14 (sid): linux-binary-unsigned-7.2.N+deb14-amd64 (vmlinuz) +
# linux-modules-7.2.N+deb14-amd64 (modules). VMLAB_APT_SUITE=sid fetches them from that suite
# without touching the machine's apt sources (lists cached under target/vmlab/apt-SUITE/).
PKG=${VMLAB_KERNEL_PKG:-}
APT_OPTS=()
if [ -n "${VMLAB_APT_SUITE:-}" ]; then
  AD=$CACHE/apt-$VMLAB_APT_SUITE
  mkdir -p "$AD/lists/partial" "$AD/cache/archives/partial"
  echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian $VMLAB_APT_SUITE main" > "$AD/sources.list"
  APT_OPTS=(-o "Dir::Etc::SourceList=$AD/sources.list" -o Dir::Etc::SourceParts=/dev/null
            -o "Dir::State::Lists=$AD/lists" -o "Dir::Cache=$AD/cache")
fi
if [ -z "$PKG" ]; then
  cached=$(ls "$DEBS"/linux-image-6.12.*-amd64-unsigned_*.deb 2>/dev/null | sort -V | tail -1 || true)
  if [ -n "$cached" ]; then
    PKG=$(basename "$cached" | cut -d_ -f1)
  else
    c=$(candidate linux-image-6.12.111+deb12-amd64-unsigned)
    if [ -z "$c" ] || [ "$c" = "(none)" ]; then
      apt-get update -qq >/dev/null 2>&1 || true
      c=$(candidate linux-image-6.12.111+deb12-amd64-unsigned)
    fi
    if [ -n "$c" ] && [ "$c" != "(none)" ]; then
      PKG=linux-image-6.12.111+deb12-amd64-unsigned
    else
      PKG=$(apt-cache search --names-only '^linux-image-6\.12\.[0-9]+\+deb12-amd64-unsigned$' | cut -d' ' -f1 | sort -V | tail -1)
      [ -n "$PKG" ] || die "apt offers no linux-image-6.12.*+deb12-amd64-unsigned (is the Debian archive reachable? apt-get update)"
    fi
  fi
fi

fetch() { # fetch PKG [APT OPTIONS...] -> path of its .deb in the cache
  local p=$1 f
  shift
  f=$(ls "$DEBS"/"${p}"_*.deb 2>/dev/null | sort -V | tail -1 || true)
  if [ -z "$f" ]; then
    log "apt-get download $p"
    (cd "$DEBS" && apt-get "$@" download "$p" >/dev/null 2>&1) || {
      apt-get "$@" update -qq >/dev/null 2>&1 || true
      (cd "$DEBS" && apt-get "$@" download "$p" >&2) || die "apt-get download $p failed"
    }
    f=$(ls "$DEBS"/"${p}"_*.deb | sort -V | tail -1)
  fi
  echo "$f"
}

KDEBS=()
for p in ${PKG//,/ }; do KDEBS+=("$(fetch "$p" "${APT_OPTS[@]}")"); done
PKG=${PKG%%,*}
KDEB=${KDEBS[0]}
BBDEB=$(fetch busybox-static)
KVER_PKG=$(basename "$KDEB" .deb | cut -d_ -f2)
KDIR=$CACHE/kernel-$PKG-$KVER_PKG
if [ ! -f "$KDIR/.done" ]; then
  log "extracting vmlinuz and modules from ${KDEBS[*]##*/}"
  rm -rf "$KDIR" && mkdir -p "$KDIR/x"
  # Only the members we need: the whole package unpacks to ~400 MB. Debian 12 has
  # /boot/vmlinuz-* and (6.12) .ko.xz or (6.1) plain .ko; Debian 14 has
  # /usr/lib/modules/*/vmlinuz.unsigned. A pattern a package lacks is not an error here.
  for deb in "${KDEBS[@]}"; do
    dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$KDIR/x" --wildcards \
      './boot/vmlinuz-*' './boot/config-*' './boot/System.map-*' '*/vmlinuz*' '*/modules/*/config' \
      '*/virtio_blk.ko*' '*/qemu_fw_cfg.ko*' '*/drivers/virtio/virtio.ko*' '*/virtio_ring.ko*' \
      '*/virtio_pci.ko*' '*/virtio_pci_legacy_dev.ko*' '*/virtio_pci_modern_dev.ko*' 2>/dev/null || true
  done
  vmlinuz=$(find "$KDIR/x" -name 'vmlinuz*' -type f | head -1)
  [ -n "$vmlinuz" ] || die "no vmlinuz in ${KDEBS[*]}"
  cp "$vmlinuz" "$KDIR/vmlinuz"
  cfg=$(find "$KDIR/x" \( -name 'config-*' -o -name config \) -type f | head -1)
  [ -z "$cfg" ] || cp "$cfg" "$KDIR/config"
  mkdir -p "$KDIR/modules"
  # The virtio core modules exist only where the kernel builds virtio as modules (Debian 12's
  # 6.1: CONFIG_VIRTIO=m); /init loads those that are there, in this order, before virtio_blk.
  for m in virtio_blk qemu_fw_cfg virtio virtio_ring virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci; do
    ko=$(find "$KDIR/x" -name "$m.ko*" | head -1)
    case "$m" in virtio_blk|qemu_fw_cfg) [ -n "$ko" ] || die "$m.ko* not in ${KDEBS[*]}" ;; esac
    [ -n "$ko" ] || continue
    # The guest's busybox insmod cannot read .xz: decompress on the host.
    case "$ko" in
      *.xz) xz -dc "$ko" > "$KDIR/modules/$m.ko" ;;
      *) cp "$ko" "$KDIR/modules/$m.ko" ;;
    esac
  done
  rm -rf "$KDIR/x"
  touch "$KDIR/.done"
fi
BBDIR=$CACHE/busybox-$(basename "$BBDEB" .deb)
if [ ! -f "$BBDIR/.done" ]; then
  rm -rf "$BBDIR" && mkdir -p "$BBDIR"
  dpkg-deb -x "$BBDEB" "$BBDIR/x"
  cp "$BBDIR/x/bin/busybox" "$BBDIR/busybox"
  rm -rf "$BBDIR/x"
  touch "$BBDIR/.done"
fi

# ---- the crash module (scenarios that crash inside a module) ----
LAB_KO=
if [ "$LAB_CRASH" = 1 ]; then
  # The headers are named by the kernel release: linux-image-6.12.111+deb12-amd64-unsigned
  # -> 6.12.111+deb12-amd64.
  case "$PKG" in
    linux-image-*-unsigned) KREL=${PKG#linux-image-}; KREL=${KREL%-unsigned} ;;
    linux-image-*) KREL=${PKG#linux-image-} ;;
    *) die "--lab-crash: cannot tell the kernel release from package $PKG (only linux-image-* is supported)" ;;
  esac
  LSCR=$CACHE/lab_crash-$KREL
  log "building lab_crash.ko for $KREL (headers cached in $LSCR/hdr)"
  LAB_SCRATCH=$LSCR KVER=$KREL bash "$ROOT/tools/vmlab/lab_crash/build.sh" || die "lab_crash build failed"
  LAB_KO=$LSCR/kmod/lab_crash.ko
fi

# ---- initramfs ----
STAGE=$(mktemp -d "$CACHE/stage.XXXXXX")
trap 'rm -rf "$STAGE"' EXIT
R=$STAGE/root
mkdir -p "$R"/{bin,sbin,usr/bin,usr/sbin,lib/modules,proc,sys,dev,tmp,mnt,out,etc}
cp "$BBDIR/busybox" "$R/bin/busybox"
cp "$ROOT/scripts/vm-init.sh" "$R/init"
chmod 755 "$R/init"
cp "$KDIR"/modules/*.ko "$R/lib/modules/"
[ -z "$LAB_KO" ] || cp "$LAB_KO" "$R/lib/modules/lab_crash.ko"
KEXEC=$(command -v kexec || echo /usr/sbin/kexec)
MDF=$(command -v makedumpfile)
cp "$KEXEC" "$R/sbin/kexec"
cp "$MDF" "$R/usr/bin/makedumpfile"
# Stripped: the line tables only cost initramfs size and unpack time in the guest.
strip -o "$R/usr/bin/vmcore" "$VMCORE" 2>/dev/null || cp "$VMCORE" "$R/usr/bin/vmcore"
# The libraries ldd lists, at the same paths (the guest's loader looks there).
for bin in "$KEXEC" "$MDF" "$VMCORE"; do
  ldd "$bin" | grep -o '/[^ ]*' | while read -r lib; do
    [ -e "$lib" ] || continue
    mkdir -p "$R$(dirname "$lib")"
    cp -L "$lib" "$R$lib"
  done
done
# Busybox applets as symlinks (so `sh`, `uevent`, `stty` … exist before /init runs anything).
for a in $("$BBDIR/busybox" --list); do
  [ -e "$R/bin/$a" ] || ln -s busybox "$R/bin/$a"
done
(cd "$R" && find . | LC_ALL=C sort | cpio -o -H newc --quiet | gzip -1) > "$STAGE/base.cpio.gz"
# The production kernel needs the kernel and an initramfs to hand to `kexec -p -s`; the crash
# kernel gets the base archive only (it has no use for them, and an archive cannot hold itself).
mkdir -p "$STAGE/extra"
cp "$KDIR/vmlinuz" "$STAGE/extra/vmlinuz"
cp "$STAGE/base.cpio.gz" "$STAGE/extra/initrd-crash.img"
(cd "$STAGE/extra" && printf '%s\n' vmlinuz initrd-crash.img | cpio -o -H newc --quiet | gzip -1) > "$STAGE/extra.cpio.gz"
# Concatenated gzip cpio archives: the kernel unpacks them in order.
cat "$STAGE/base.cpio.gz" "$STAGE/extra.cpio.gz" > "$OUT/initrd.img.tmp"
mv "$OUT/initrd.img.tmp" "$OUT/initrd.img"
cp "$KDIR/vmlinuz" "$OUT/vmlinuz"
echo "$PKG $KVER_PKG" > "$OUT/kernel-package.txt"
log "guest ready: $PKG $KVER_PKG, initrd $(du -h "$OUT/initrd.img" | cut -f1)"
echo "VMLINUZ=$OUT/vmlinuz"
echo "INITRD=$OUT/initrd.img"
echo "KERNEL_PKG=$PKG $KVER_PKG"
[ -z "$LAB_KO" ] || echo "LAB_CRASH_KO=$LAB_KO"
