#!/bin/sh
# /init of the vmlab guest (packed by scripts/vm-build.sh; busybox ash). One initramfs for both
# kernels: the crash kernel is recognised by `elfcorehdr=` on its command line (shared/LAB.md).
# Lines starting with @@ on the console are read by the host harness (tools/vmlab): keep them
# stable. The production kernel serves a command channel on ttyS1: the host sends
# `ID COMMAND` per line, we answer `@@BEGIN ID`, the output, `@@END ID RC`.
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t tmpfs tmp /tmp
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
say() { echo "@@$*" > /dev/ttyS0; }
up() { cut -d' ' -f1 /proc/uptime; }
die() { say "FATAL $*"; sleep 1; poweroff -f; }

kdump() {
  say "KDUMP start uptime=$(up) cmdline=$(cat /proc/cmdline)"
  for m in virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci; do
    [ -e /lib/modules/$m.ko ] && insmod /lib/modules/$m.ko
  done
  insmod /lib/modules/virtio_blk.ko || die "insmod virtio_blk failed"
  n=0
  while [ ! -b /dev/vdc ] && [ $n -lt 100 ]; do sleep 0.1; n=$((n + 1)); done
  [ -b /dev/vdc ] || die "virtio disks vda..vdc did not appear"
  [ -e /proc/vmcore ] || die "no /proc/vmcore in the crash kernel"
  sz=$(stat -c %s /proc/vmcore)
  say "KDUMP vmcore_size=$sz"
  # Raw copy first: it is the ground truth the other outputs are checked against.
  t0=$(up); dd if=/proc/vmcore of=/dev/vda bs=1M 2>/tmp/dd.err; rc=$?
  say "OUT name=vmcore-raw disk=vda size=$sz rc=$rc t0=$t0 t1=$(up)"
  # makedumpfile will not write over an existing path (a block device is one): write to tmpfs
  # (the -d 31 output is small) and copy.
  t0=$(up); makedumpfile -c -d 31 /proc/vmcore /tmp/mdf.kdump >/tmp/mdf.log 2>&1; rc=$?
  sz=$(stat -c %s /tmp/mdf.kdump 2>/dev/null || echo 0)
  [ "$rc" = 0 ] || sed 's/^/@@MDFLOG /' /tmp/mdf.log > /dev/ttyS0
  dd if=/tmp/mdf.kdump of=/dev/vdb bs=1M 2>/dev/null
  rm -f /tmp/mdf.kdump
  say "OUT name=makedumpfile-c-d31 disk=vdb size=$sz rc=$rc t0=$t0 t1=$(up)"
  makedumpfile --dump-dmesg /proc/vmcore /tmp/dmesg.txt >/tmp/mdf.log 2>&1; rc=$?
  sz=$(stat -c %s /tmp/dmesg.txt 2>/dev/null || echo 0)
  dd if=/tmp/dmesg.txt of=/dev/vdc bs=1M 2>/dev/null
  say "OUT name=dump-dmesg disk=vdc size=$sz rc=$rc"
  sync
  say "KDUMP done uptime=$(up)"
  poweroff -f
}

if grep -q 'elfcorehdr=' /proc/cmdline; then
  kdump
  exit 0
fi

insmod /lib/modules/qemu_fw_cfg.ko && say "MODULE qemu_fw_cfg loaded"
say "BOOT production uptime=$(up)"
# The kernel's own word on each crash-hotplug decision ("crash hp: hp_action N").
echo 'file kernel/crash_core.c +p' > /sys/kernel/debug/dynamic_debug/control 2>/dev/null

# Uevent recorder: no uevent helper in this kernel (CONFIG_UEVENT_HELPER unset), so busybox
# `uevent` listens on NETLINK_KOBJECT_UEVENT and runs this per event.
cat > /bin/vmlab-uevent <<'EOF'
#!/bin/sh
echo "$SEQNUM $ACTION $DEVPATH $SUBSYSTEM $(cut -d' ' -f1 /proc/uptime)" >> /tmp/uevents.log
EOF
chmod 755 /bin/vmlab-uevent
: > /tmp/uevents.log
uevent /bin/vmlab-uevent &
say "UEVENT recorder=busybox-uevent pid=$!"

# Snapshot of the state the elfcorehdr engine reads, as a procfs/sysfs root (the layout of
# testdata/real/steps/root-<step>/), sent as base64 of a gzip tar.
cat > /bin/vmlab-snap <<'EOF'
#!/bin/sh
name=$1
rm -rf /tmp/snap; d=/tmp/snap/$name
mkdir -p $d/proc $d/sys/kernel $d/sys/devices/system/cpu $d/sys/devices/system/memory
cat /proc/cmdline > $d/proc/cmdline
cat /proc/iomem > $d/proc/iomem
grep -E ' (_text|_stext|_etext|_end|_sdata|_edata|__bss_start|__bss_stop|_sinittext|_einittext|crash_notes|vmcoreinfo_note|page_offset_base|phys_base)$' /proc/kallsyms > $d/proc/kallsyms
dd if=/proc/kcore of=$d/proc/kcore bs=4096 count=4 2>/dev/null
for f in crash_elfcorehdr_size kexec_crash_loaded kexec_crash_size kexec_loaded vmcoreinfo kexec_crash_cma_ranges; do
  [ -e /sys/kernel/$f ] && cat /sys/kernel/$f > $d/sys/kernel/$f
done
# Which kernel: the elfcorehdr engine picks its kernel profile from this (6.1 / 6.12 / 7.x).
mkdir -p $d/proc/sys/kernel
cat /proc/sys/kernel/osrelease > $d/proc/sys/kernel/osrelease
c=/sys/devices/system/cpu
for f in possible present online offline kernel_max crash_hotplug; do
  [ -e $c/$f ] && cat $c/$f > $d/sys/devices/system/cpu/$f
done
for x in $c/cpu[0-9]*; do
  n=${x##*/}; mkdir -p $d/sys/devices/system/cpu/$n
  for f in online crash_notes crash_notes_size; do
    [ -e $x/$f ] && cat $x/$f > $d/sys/devices/system/cpu/$n/$f
  done
done
m=/sys/devices/system/memory
for f in block_size_bytes auto_online_blocks crash_hotplug; do
  [ -e $m/$f ] && cat $m/$f > $d/sys/devices/system/memory/$f
done
for x in $m/memory[0-9]*; do
  n=${x##*/}; mkdir -p $d/sys/devices/system/memory/$n
  for f in online phys_index removable state valid_zones; do
    [ -e $x/$f ] && cat $x/$f > $d/sys/devices/system/memory/$n/$f 2>/dev/null
  done
done
tar -C /tmp/snap -cf - $name | gzip -c | base64
EOF
chmod 755 /bin/vmlab-snap

# kexec_file_load (-s): the kernel builds the elfcorehdr itself, which is what we compare against.
KAPPEND="console=ttyS0 irqpoll nr_cpus=1 reset_devices panic=-1 acpi_no_memhotplug"
kexec -p -s /vmlinuz --initrd=/initrd-crash.img --append="$KAPPEND" > /tmp/kexec.log 2>&1
rc=$?
loaded=$(cat /sys/kernel/kexec_crash_loaded)
[ "$rc" = 0 ] || sed 's/^/@@KEXECLOG /' /tmp/kexec.log > /dev/ttyS0
say "KEXEC mode=file rc=$rc loaded=$loaded"

# Our live watcher, for the whole run: one line per cpu/memory uevent, read back by the host.
vmcore elfcorehdr watch > /tmp/watch.log 2>&1 &
say "WATCH pid=$!"

stty -F /dev/ttyS1 raw -echo
say "READY uptime=$(up)"
exec 3<>/dev/ttyS1
while IFS= read -r line <&3; do
  id=${line%% *}
  cmd=${line#* }
  {
    echo "@@BEGIN $id"
    sh -c "$cmd" </dev/null 2>&1
    rc=$?
    # A leading newline: output without a final newline must not swallow the marker.
    printf '\n@@END %s %s\n' "$id" "$rc"
  } >&3
done
die "command channel closed"
