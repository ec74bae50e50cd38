#!/usr/bin/env python3
"""Boot the arm64 lab guest once (built by scripts/vm-arm64.sh) and collect its two dumps.

usage: vm-arm64-run.py LAB_DIR OUT_DIR

LAB_DIR holds Image and initrd.img. The guest's /init (scripts/vm-arm64-init.sh) loads the crash
kernel with kexec_load, starts busy CPUs and prints @@READY; we then take QEMU's
dump-guest-memory (ELF, paging=false) over QMP while those CPUs run, tell the guest to crash
(a line on virtio console hvc0), and wait for the kdump kernel to copy /proc/vmcore to the
virtio disk and power off. Writes OUT_DIR/{console.log,qmp-log.jsonl,run-config.json,
kdump/vmcore-raw.elf,kdump/qemu-dump.elf}.
"""
import json, os, re, socket, subprocess, sys, time

MEM = os.environ.get("ARM64LAB_MEM", "768M")
CRASHKERNEL = os.environ.get("ARM64LAB_CRASHKERNEL", "192M")
TIMEOUT_S = int(os.environ.get("ARM64LAB_TIMEOUT", "1500"))
DISK_BYTES = 1 << 30


class Qmp:
    def __init__(self, path, log):
        self.log = log
        deadline = time.time() + 30
        while True:
            try:
                self.s = socket.socket(socket.AF_UNIX)
                self.s.connect(path)
                break
            except OSError:
                if time.time() > deadline:
                    raise
                time.sleep(0.2)
        self.f = self.s.makefile("rw")
        self.log.write(self.f.readline())
        self.cmd("qmp_capabilities")

    def cmd(self, name, **args):
        msg = {"execute": name}
        if args:
            msg["arguments"] = args
        self.log.write(json.dumps(msg) + "\n")
        self.f.write(json.dumps(msg) + "\n")
        self.f.flush()
        while True:
            line = self.f.readline()
            if not line:
                raise RuntimeError("QMP closed")
            self.log.write(line)
            self.log.flush()
            r = json.loads(line)
            if "return" in r:
                return r["return"]
            if "error" in r:
                raise RuntimeError("QMP %s: %s" % (name, r["error"]))


def main():
    lab, out = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    os.makedirs(out + "/kdump", exist_ok=True)
    disk = out + "/disk-vmcore.raw"
    with open(disk, "wb") as f:
        f.truncate(DISK_BYTES)
    console = out + "/console.log"
    qmp_sock, cmd_sock = out + "/qmp.sock", out + "/cmd.sock"
    append = ("console=ttyAMA0 crashkernel=%s init_on_free=1 panic=-1 rdinit=/init" % CRASHKERNEL)
    argv = ["qemu-system-aarch64", "-machine", "virt", "-accel", "tcg,thread=multi",
            "-cpu", "cortex-a57", "-smp", "4", "-m", MEM,
            "-kernel", lab + "/Image", "-initrd", lab + "/initrd.img", "-append", append,
            "-display", "none", "-no-reboot", "-nic", "none", "-device", "vmcoreinfo",
            "-qmp", "unix:%s,server=on,wait=off" % qmp_sock,
            "-serial", "file:" + console,
            "-device", "virtio-serial-pci",
            "-chardev", "socket,id=cmd,path=%s,server=on,wait=off" % cmd_sock,
            "-device", "virtconsole,chardev=cmd",
            "-drive", "file=%s,format=raw,if=none,id=d0" % disk,
            "-device", "virtio-blk-pci,drive=d0"]
    qv = subprocess.run(["qemu-system-aarch64", "--version"], capture_output=True, text=True).stdout.split("\n")[0]
    json.dump({"argv": argv, "qemu": qv, "mem": MEM, "crashkernel": CRASHKERNEL}, open(out + "/run-config.json", "w"), indent=1)
    t0 = time.time()
    qemu = subprocess.Popen(argv, stdin=subprocess.DEVNULL)
    log = open(out + "/qmp-log.jsonl", "w")
    try:
        qmp = Qmp(qmp_sock, log)
        stage = "boot"
        events = {}
        while True:
            if qemu.poll() is not None:
                break
            if time.time() - t0 > TIMEOUT_S:
                raise RuntimeError("timeout after %d s in stage %s" % (TIMEOUT_S, stage))
            text = open(console, errors="replace").read()
            if "@@FATAL" in text:
                raise RuntimeError("guest: " + text[text.index("@@FATAL"):].split("\n")[0])
            if stage == "boot" and "@@READY" in text:
                m = re.search(r"@@KEXEC mode=\S+ rc=(\d+) loaded=(\d)", text)
                if not m or m.group(1) != "0" or m.group(2) != "1":
                    raise RuntimeError("crash kernel not loaded: %s" % (m.group(0) if m else "no @@KEXEC line"))
                events["ready_s"] = round(time.time() - t0, 1)
                t = time.time()
                # paging=false: PT_LOADs by guest-physical address (what `vmcore` must page-walk).
                qmp.cmd("dump-guest-memory", paging=False, protocol="file:" + out + "/kdump/qemu-dump.elf")
                events["qemu_dump_s"] = round(time.time() - t, 1)
                c = socket.socket(socket.AF_UNIX)
                c.connect(cmd_sock)
                c.sendall(b"crash\n")
                stage = "crash"
            time.sleep(0.5)
        events["poweroff_s"] = round(time.time() - t0, 1)
    finally:
        if qemu.poll() is None:
            qemu.kill()
            qemu.wait()
    text = open(console, errors="replace").read()
    m = re.search(r"@@OUT name=vmcore-raw disk=vda size=(\d+) rc=(\d+)", text)
    if not m or m.group(2) != "0":
        raise SystemExit("vm-arm64-run: no vmcore copied: %s" % (m.group(0) if m else "no @@OUT line"))
    size = int(m.group(1))
    with open(disk, "rb") as src, open(out + "/kdump/vmcore-raw.elf", "wb") as dst:
        left = size
        while left:
            b = src.read(min(left, 1 << 20))
            if not b:
                raise SystemExit("vm-arm64-run: disk shorter than the vmcore")
            dst.write(b)
            left -= len(b)
    os.unlink(disk)
    cfg = json.load(open(out + "/run-config.json"))
    cfg["timing_s"] = events
    json.dump(cfg, open(out + "/run-config.json", "w"), indent=1)
    print("vm-arm64-run: vmcore %d bytes, qemu dump %d bytes, %s" % (
        size, os.path.getsize(out + "/kdump/qemu-dump.elf"), events))


if __name__ == "__main__":
    main()
