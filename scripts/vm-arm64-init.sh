#!/bin/sh
# /init of the arm64 lab guest (packed by scripts/vm-arm64.sh; Debian's arm64 busybox-static).
# One script for both kernels: the kdump kernel is recognised by /proc/vmcore (arm64 kexec_load
# hands it the crash-dump header through the device tree, not `elfcorehdr=` on the command line).
# Lines starting with @@ on the console are read by scripts/vm-arm64-run.py: keep them stable.
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t tmpfs tmp /tmp
say() { echo "@@$*" > /dev/console; }
up() { cut -d' ' -f1 /proc/uptime; }
die() { say "FATAL $*"; sleep 1; poweroff -f; }

kdump() {
  say "KDUMP start uptime=$(up) cmdline=$(cat /proc/cmdline)"
  insmod /lib/modules/virtio_blk.ko || die "insmod virtio_blk failed"
  n=0
  while [ ! -b /dev/vda ] && [ $n -lt 100 ]; do sleep 0.1; n=$((n + 1)); done
  [ -b /dev/vda ] || die "virtio disk vda did not appear"
  sz=$(stat -c %s /proc/vmcore)
  say "KDUMP vmcore_size=$sz"
  t0=$(up); dd if=/proc/vmcore of=/dev/vda bs=1M 2>/tmp/dd.err; rc=$?
  [ "$rc" = 0 ] || sed 's/^/@@DDLOG /' /tmp/dd.err > /dev/console
  sync
  say "OUT name=vmcore-raw disk=vda size=$sz rc=$rc t0=$t0 t1=$(up)"
  say "KDUMP done uptime=$(up)"
  poweroff -f
}

if [ -e /proc/vmcore ]; then
  kdump
  exit 0
fi

say "BOOT production uptime=$(up) cmdline=$(cat /proc/cmdline)"
# With `-device vmcoreinfo`, this driver hands the kernel's VMCOREINFO to QEMU, so QEMU's
# dump-guest-memory carries it; it is also the loadable module the oracles look at.
insmod /lib/modules/qemu_fw_cfg.ko && say "MODULE qemu_fw_cfg loaded"

# kexec_load (this kernel has no CONFIG_KEXEC_FILE): kexec-tools builds the ELF header and adds
# linux,elfcorehdr and linux,usable-memory-range to a copy of /sys/firmware/fdt.
KAPPEND="console=ttyAMA0 nr_cpus=1 reset_devices panic=-1 rdinit=/init"
kexec -p /boot/Image --initrd=/boot/initrd-crash.img --append="$KAPPEND" > /tmp/kexec.log 2>&1
rc=$?
[ "$rc" = 0 ] || sed 's/^/@@KEXECLOG /' /tmp/kexec.log > /dev/console
say "KEXEC mode=kexec_load rc=$rc loaded=$(cat /sys/kernel/kexec_crash_loaded)"
# The loaded copies live in the crash kernel region now. Free the tmpfs copies: with
# init_on_free=1 the kernel zeroes them, so the dumps compress well.
rm -f /boot/Image /boot/initrd-crash.img
echo 3 > /proc/sys/vm/drop_caches

sed 's/^/@@IOMEM /' /proc/iomem > /dev/console
sed 's/^/@@MODULES /' /proc/modules > /dev/console
grep -E ' (_text|_stext|_etext|_end|swapper_pg_dir|init_mm|crash_notes|vmcoreinfo_note|__per_cpu_offset|runqueues)$' /proc/kallsyms | sed 's/^/@@KALLSYMS /' > /dev/console
for f in /sys/devices/system/cpu/cpu[0-9]*/crash_notes; do say "CRASH_NOTES $f $(cat $f)"; done
say "CPUS possible=$(cat /sys/devices/system/cpu/possible) online=$(cat /sys/devices/system/cpu/online)"

# One CPU spinning in user space, one in the kernel, the crash on a third; the fourth idles.
# busybox taskset takes a hex CPU mask.
taskset 2 sh -c 'while :; do :; done' &
spin=$!
taskset 4 dd if=/dev/zero of=/dev/null bs=1M &
ddpid=$!
taskset -p 8 $$ > /dev/null
sleep 2
say "BUSY user_spin_pid=$spin cpu=1 kernel_dd_pid=$ddpid cpu=2 crash_shell_pid=$$ cpu=3"
# The host takes QEMU's dump-guest-memory now (while the busy CPUs run), then writes a line.
say "READY"
head -n 1 /dev/hvc0 > /tmp/go
say "CRASH go=$(cat /tmp/go) uptime=$(up)"
echo c > /proc/sysrq-trigger
die "sysrq-trigger returned"
