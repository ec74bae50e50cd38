#!/bin/bash
# Rebuild the arm64 lab data (testdata/kernels/arm64-6.12/) from Debian packages:
#   1. install the host tools, enable the arm64 foreign architecture for `apt-get download`;
#   2. download Debian's arm64 kernel (+ its -dbg package for drgn), busybox-static, kexec-tools and
#      the arm64 shared libraries kexec needs, into target/arm64lab/ (cached);
#   3. pack two initramfs: the crash kernel's (busybox, virtio_blk, /init) and the production
#      kernel's (that + kexec + its libraries + the kernel Image + the crash initramfs);
#   4. boot QEMU (scripts/vm-arm64-run.py): busy CPUs, QEMU dump-guest-memory, sysrq crash, kdump
#      copies /proc/vmcore to a virtio disk;
#   5. run the drgn oracles and eu-readelf on both dumps;
#   6. with --freeze, compress and copy into testdata/kernels/arm64-6.12/.
# Usage: scripts/vm-arm64.sh [--freeze]   (env: ARM64LAB_DIR, ARM64LAB_RUN, ARM64LAB_KERNEL_VERSION,
#        ARM64LAB_MEM, ARM64LAB_CRASHKERNEL, ARM64LAB_TIMEOUT)
# Needs root for apt. About 4 min here after the downloads (docs/VMLAB.md); not run in CI.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
lab=${ARM64LAB_DIR:-$here/target/arm64lab}
kver=${ARM64LAB_KERNEL_VERSION:-6.12.111+deb12-arm64}
freeze=${1:-}
mkdir -p "$lab/debs" "$lab/x" "$lab/k" "$lab/dbg"
t_start=$(date +%s)

need_pkgs=()
command -v qemu-system-aarch64 >/dev/null || need_pkgs+=(qemu-system-arm)
command -v eu-readelf >/dev/null || need_pkgs+=(elfutils)
command -v zstd >/dev/null || need_pkgs+=(zstd)
command -v cpio >/dev/null || need_pkgs+=(cpio)
command -v aarch64-linux-gnu-readelf >/dev/null || need_pkgs+=(binutils-aarch64-linux-gnu)
if [ ${#need_pkgs[@]} -gt 0 ]; then apt-get install -y "${need_pkgs[@]}"; fi
python3 -c 'import drgn' 2>/dev/null || pip install drgn==0.3.0
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
  dpkg --add-architecture arm64
  apt-get update
fi

pkgs=(linux-image-$kver-unsigned linux-image-$kver-dbg busybox-static kexec-tools libc6 zlib1g
      libxenmisc4.17 libxencall1 libxendevicemodel1 libxenevtchn1 libxenforeignmemory1 libxengnttab1
      libxentoollog1 libxentoolcore1)
cd "$lab/debs"
chown _apt . 2>/dev/null || true
for p in "${pkgs[@]}"; do
  ls "${p}"_*_arm64.deb >/dev/null 2>&1 || apt-get download "$p:arm64"
done
cd "$lab"
img=k/boot/vmlinuz-$kver
[ -f "$img" ] || dpkg-deb --fsys-tarfile debs/linux-image-$kver-unsigned_*.deb |
  tar -x -C k --wildcards './boot/*' '*/virtio_blk.ko.xz' '*/qemu_fw_cfg.ko.xz'
vmlinux=dbg/usr/lib/debug/boot/vmlinux-$kver
[ -f "$vmlinux" ] || dpkg-deb --fsys-tarfile debs/linux-image-$kver-dbg_*.deb |
  tar -x -C dbg --wildcards '*/boot/vmlinux*'
for d in debs/busybox-static_* debs/kexec-tools_* debs/libc6_* debs/zlib1g_* debs/libxen*; do
  dpkg-deb -x "$d" x
done

# --- initramfs -----------------------------------------------------------------------------
rm -rf root-crash root
mkdir -p root-crash/{bin,sbin,proc,sys,dev,tmp,lib/modules,boot}
cp x/bin/busybox root-crash/bin/
for a in $(x/bin/busybox --list 2>/dev/null || qemu-aarch64 x/bin/busybox --list 2>/dev/null || echo); do
  [ "$a" = busybox ] || ln -sf busybox root-crash/bin/$a
done
# No qemu-user to ask busybox for its applets: link the ones /init uses.
for a in sh mount cat cut grep sed stat dd sync sleep poweroff insmod taskset head rm echo ls; do
  [ -e root-crash/bin/$a ] || ln -sf busybox root-crash/bin/$a
done
for m in virtio_blk qemu_fw_cfg; do
  xz -dc "$(find k/lib/modules -name $m.ko.xz)" > root-crash/lib/modules/$m.ko
done
install -m 755 "$here/scripts/vm-arm64-init.sh" root-crash/init
(cd root-crash && find . | cpio -o -H newc --quiet | gzip -1 > ../initrd-crash.img)

cp -a root-crash/. root/
mkdir -p root/lib/aarch64-linux-gnu root/usr/lib/aarch64-linux-gnu
cp x/sbin/kexec root/sbin/
cp -L x/lib/ld-linux-aarch64.so.1 root/lib/
for l in libc.so.6 libz.so.1; do cp -L x/lib/aarch64-linux-gnu/$l root/lib/aarch64-linux-gnu/; done
for l in libxenctrl.so.4.17 libxencall.so.1 libxenevtchn.so.1 libxengnttab.so.1 libxenforeignmemory.so.1 \
         libxendevicemodel.so.1 libxentoollog.so.1 libxentoolcore.so.1; do
  cp -L x/usr/lib/aarch64-linux-gnu/$l root/usr/lib/aarch64-linux-gnu/
done
cp "$img" root/boot/Image
cp initrd-crash.img root/boot/initrd-crash.img
(cd root && find . | cpio -o -H newc --quiet | gzip -1 > ../initrd.img)
cp "$img" Image
echo "vm-arm64: built $lab/initrd.img ($(stat -c %s initrd.img) bytes) in $(( $(date +%s) - t_start )) s"

# --- run -----------------------------------------------------------------------------------
out=${ARM64LAB_RUN:-$lab/run}
rm -rf "$out"; mkdir -p "$out"
t_run=$(date +%s)
python3 "$here/scripts/vm-arm64-run.py" "$lab" "$out"
echo "vm-arm64: guest run took $(( $(date +%s) - t_run )) s"

# --- oracles -------------------------------------------------------------------------------
t_or=$(date +%s)
mkdir -p "$out/oracles"
# QEMU's dump has section headers (none SHT_NOTE), so eu-readelf -n ignores its PT_NOTE: read the
# notes from a copy of its first 64 KiB with the section header fields zeroed.
head -c 65536 "$out/kdump/qemu-dump.elf" > "$out/qemu-head-noshdr.elf"
python3 - "$out/qemu-head-noshdr.elf" <<'PY'
import struct, sys
b = bytearray(open(sys.argv[1], "rb").read())
struct.pack_into("<Q", b, 40, 0)      # e_shoff
struct.pack_into("<HH", b, 60, 0, 0)  # e_shnum, e_shstrndx
open(sys.argv[1], "wb").write(b)
PY
eu-readelf -n "$out/kdump/vmcore-raw.elf" > "$out/oracles/eu-readelf-n-vmcore-raw.txt"
eu-readelf -n "$out/qemu-head-noshdr.elf" > "$out/oracles/eu-readelf-n-qemu-dump.txt"
for d in vmcore-raw qemu-dump; do
  eu-readelf -l "$out/kdump/$d.elf" > "$out/oracles/eu-readelf-l-$d.txt"
  python3 "$here/scripts/drgn_crash_oracle.py" "$out/kdump/$d.elf" "$out/oracles/drgn-crash-$d.json" \
    --vmlinux "$vmlinux" --possible-cpus
  python3 "$here/scripts/drgn-arm64-oracle.py" "$out/kdump/$d.elf" "$out/oracles/drgn-arm64-$d.json" \
    --vmlinux "$vmlinux"
done
echo "vm-arm64: oracles took $(( $(date +%s) - t_or )) s"

if [ "$freeze" = --freeze ]; then
  dest=$here/testdata/kernels/arm64-6.12
  mkdir -p "$dest/kdump" "$dest/oracles"
  for d in vmcore-raw qemu-dump; do
    zstd -q -f -19 --long=27 -T2 "$out/kdump/$d.elf" -o "$dest/kdump/$d.elf.zst"
  done
  cp "$out"/oracles/* "$dest/oracles/"
  cp "$out/console.log" "$dest/"
  # host paths -> LAB/ and RUN/, so the file says what ran, not where
  sed -e "s|$out/|RUN/|g" -e "s|$lab/|LAB/|g" "$out/run-config.json" > "$dest/run-config.json"
  sha256sum "$out"/kdump/*.elf
fi
echo "vm-arm64: total $(( $(date +%s) - t_start )) s"
