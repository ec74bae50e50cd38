#!/usr/bin/env python3
"""Oracle for an arm64 Linux dump, as drgn (with the kernel's DWARF) sees it: page walks, per-CPU
areas, kernel log, tasks, vmcoreinfo and the dump's own notes.

usage: drgn-arm64-oracle.py DUMP OUT.json --vmlinux VMLINUX

"page_walks": ~60 virtual addresses of every kind (kernel image text/rodata/data/bss, the linear
map, vmalloc: vmap'd task and IRQ stacks, module text and data, vmemmap, per-CPU areas, user
space of the spinning task). For each: drgn's `follow_phys` (drgn's own arm64 page-table walk:
the reference) and, next to it, the descriptors of a plain hardware-style walk done here from
TTBR1 = swapper_pg_dir (VA size from TCR_EL1_T1SZ, 4K granule, no LPA2), so a `vtop` can be
compared level by level; the script fails if the two disagree. "bytes16" are the first 16 bytes
at the physical address (drgn's physical read).
"dump_notes": the dump's ELF notes parsed here (PRSTATUS: pid, pc, sp, pstate, x29, x30 in note
order; VMCOREINFO text), independent of drgn.
"""
import json, struct, sys, time
import drgn
from drgn import Program, FaultError
from drgn.helpers.linux.mm import follow_phys, pfn_to_page, page_to_virt, for_each_vmap_area
from drgn.helpers.linux.pid import for_each_task
from drgn.helpers.linux.sched import task_state_to_char, task_cpu, cpu_curr
from drgn.helpers.linux.cpumask import for_each_possible_cpu, for_each_online_cpu
from drgn.helpers.linux.percpu import per_cpu_ptr, per_cpu
from drgn.helpers.linux.printk import get_dmesg
from drgn.helpers.linux.module import for_each_module

PAGE = 4096
OA_MASK = 0x0000_FFFF_FFFF_F000  # output address bits [47:12] (4K granule, TCR.DS=0)


def elf_notes(path):
    """(name, type, desc) of every note in every PT_NOTE of a little-endian ELF64 file."""
    out = []
    with open(path, "rb") as f:
        eh = f.read(64)
        assert eh[:4] == b"\x7fELF" and eh[4] == 2 and eh[5] == 1
        phoff, = struct.unpack_from("<Q", eh, 32)
        phentsize, phnum = struct.unpack_from("<HH", eh, 54)
        f.seek(phoff)
        ph = f.read(phentsize * phnum)
        for i in range(phnum):
            p_type, _fl, p_off, _va, _pa, p_filesz = struct.unpack_from("<IIQQQQ", ph, i * phentsize)
            if p_type != 4:
                continue
            f.seek(p_off)
            data = f.read(p_filesz)
            o = 0
            while o + 12 <= len(data):
                nsz, dsz, typ = struct.unpack_from("<III", data, o)
                o += 12
                name = data[o:o + nsz].rstrip(b"\0").decode(errors="replace")
                o += (nsz + 3) & ~3
                desc = data[o:o + dsz]
                o += (dsz + 3) & ~3
                if nsz == 0 and dsz == 0 and typ == 0:
                    break
                out.append((name, typ, desc))
    return out


def notes_json(notes):
    res = []
    for name, typ, desc in notes:
        e = {"name": name, "type": typ, "descsz": len(desc)}
        if name == "CORE" and typ == 1 and len(desc) >= 112 + 34 * 8:
            # struct elf_prstatus (arm64): pr_pid at 32, pr_reg (x0..x30, sp, pc, pstate) at 112
            e["pid"] = struct.unpack_from("<i", desc, 32)[0]
            regs = struct.unpack_from("<34Q", desc, 112)
            e.update({"x29": regs[29], "x30": regs[30], "sp": regs[31], "pc": regs[32], "pstate": regs[33]})
            e["el"] = (regs[33] >> 2) & 3
        elif name == "VMCOREINFO":
            e["text"] = desc.rstrip(b"\0").decode(errors="replace")
        res.append(e)
    return res


def parse_vmcoreinfo(text):
    kv = {}
    for line in text.splitlines():
        if "=" in line:
            k, v = line.split("=", 1)
            kv[k] = v
    return kv


def main():
    dump, outp = sys.argv[1], sys.argv[2]
    vmlinux = sys.argv[sys.argv.index("--vmlinux") + 1]
    t0 = time.perf_counter()
    notes = notes_json(elf_notes(dump))
    prog = Program()
    prog.set_core_dump(dump)
    prog.load_debug_info([vmlinux])
    res = {"dump": dump.rsplit("/", 1)[-1], "drgn": drgn.__version__, "vmlinux": vmlinux.rsplit("/", 1)[-1]}
    res["dump_notes"] = notes
    vi_text = next((n["text"] for n in notes if n["name"] == "VMCOREINFO"), None)
    res["vmcoreinfo_text"] = vi_text
    vi = parse_vmcoreinfo(vi_text or "")
    res["vmcoreinfo"] = vi
    # the kernel's own view of its layout (variables, not vmcoreinfo)
    kv = {}
    for name in ("kimage_voffset", "memstart_addr", "vabits_actual", "kimage_vaddr", "physvirt_offset",
                 "arm64_use_ng_mappings", "panic_cpu"):
        try:
            o = prog[name]
            kv[name] = o.counter.value_() if name == "panic_cpu" else o.value_() & ((1 << 64) - 1)
        except (KeyError, LookupError, AttributeError):
            pass
    for sym in ("_text", "_stext", "_etext", "_sdata", "_edata", "__bss_start", "__bss_stop", "_end",
                "swapper_pg_dir", "init_mm", "init_task", "runqueues", "__per_cpu_offset", "crash_notes",
                "vmcoreinfo_note", "__log_buf", "prb", "linux_banner", "start_kernel", "panic",
                "__crash_kexec", "jiffies_64", "irq_stack_ptr"):
        try:
            kv["&" + sym] = prog.symbol(sym).address
        except LookupError:
            pass
    # drgn 0.3.0 leaves a few linker symbols (_end, __bss_stop) at their link-time address under
    # KASLR: relocate them by KERNELOFFSET like every other image symbol.
    kaslr = int(vi.get("KERNELOFFSET", "0"), 16) if vi_text else 0
    for k in [k for k in kv if k.startswith("&")]:
        if kv[k] < kv["&_text"] and kv[k] + kaslr >= kv["&_text"]:
            kv[k] += kaslr
            kv.setdefault("relocated_by_KERNELOFFSET", []).append(k[1:])
    res["kernel"] = kv
    t1sz = int(vi.get("NUMBER(TCR_EL1_T1SZ)", "16"), 0)
    va_bits = 64 - t1sz
    kimage_voffset = int(vi["NUMBER(kimage_voffset)"], 16) if "NUMBER(kimage_voffset)" in vi else kv["kimage_voffset"]
    ttbr1 = (kv["&swapper_pg_dir"] - kimage_voffset) & ((1 << 64) - 1)
    levels = (va_bits - 12 + 8) // 9  # 4K granule: 9 bits per level
    res["walk_params"] = {"tcr_el1_t1sz": t1sz, "va_bits_effective": va_bits, "granule": PAGE,
                          "levels": levels, "start_level": 4 - levels, "ttbr1_pa": ttbr1,
                          "vmcoreinfo_VA_BITS": vi.get("NUMBER(VA_BITS)")}

    def hw_walk(va, root):
        """A plain VMSAv8-64 stage-1 walk (4K granule, 48-bit OA): list of level records."""
        steps = []
        table = root
        lvl = 4 - levels
        while True:
            shift = 12 + 9 * (3 - lvl)
            bits = 9 if lvl != 4 - levels else va_bits - shift
            idx = (va >> shift) & ((1 << bits) - 1)
            entry = prog.read_u64(table + 8 * idx, True)
            rec = {"level": lvl, "table_pa": table, "index": idx, "entry": entry}
            steps.append(rec)
            if entry & 1 == 0:
                rec["kind"] = "invalid"
                return steps, None
            if lvl == 3:
                if entry & 3 != 3:
                    rec["kind"] = "reserved"
                    return steps, None
                rec["kind"] = "page"
                return steps, (entry & OA_MASK) | (va & (PAGE - 1))
            if entry & 3 == 1:
                rec["kind"] = "block"
                size = 1 << shift
                return steps, (entry & OA_MASK & ~(size - 1)) | (va & (size - 1))
            rec["kind"] = "table"
            table = entry & OA_MASK
            lvl += 1

    addrs = []

    def add(kind, what, va, mm=None):
        addrs.append((kind, what, va & ((1 << 64) - 1), mm))

    for s in ("_text", "_stext", "start_kernel", "panic", "__crash_kexec", "_etext"):
        if "&" + s in kv:
            add("kernel-text", s, kv["&" + s] - (1 if s == "_etext" else 0))
    for s in ("linux_banner", "swapper_pg_dir", "init_mm", "init_task", "runqueues", "__per_cpu_offset",
              "prb", "__log_buf", "jiffies_64", "crash_notes", "vmcoreinfo_note", "_end"):
        if "&" + s in kv:
            add("kernel-data", s, kv["&" + s] - (1 if s == "_end" else 0))
    cpus = list(for_each_possible_cpu(prog))
    percpu = []
    for cpu in cpus:
        off = prog["__per_cpu_offset"][cpu].value_()
        rq = per_cpu(prog["runqueues"], cpu).address_of_().value_()
        cn = per_cpu_ptr(prog["crash_notes"], cpu).value_()
        irq = None
        try:
            irq = per_cpu(prog["irq_stack_ptr"], cpu).value_()
        except (KeyError, LookupError):
            pass
        curr = cpu_curr(prog, cpu)
        percpu.append({"cpu": cpu, "per_cpu_offset": off, "runqueues": rq, "crash_notes": cn,
                       "irq_stack_ptr": irq, "curr_pid": curr.pid.value_(), "curr_task": curr.value_(),
                       "curr_stack": curr.stack.value_()})
        add("percpu", "runqueues[cpu%d]" % cpu, rq)
        add("percpu", "crash_notes[cpu%d]" % cpu, cn)
        if irq:
            add("vmalloc", "irq_stack_ptr[cpu%d]" % cpu, irq)
            add("vmalloc", "irq_stack_ptr[cpu%d]+0x3ff8" % cpu, irq + 0x3FF8)
    res["percpu"] = percpu
    res["online_cpus"] = list(for_each_online_cpu(prog))
    res["possible_cpus"] = cpus
    tasks = []
    for t in for_each_task(prog):
        tasks.append({"pid": t.pid.value_(), "tgid": t.tgid.value_(), "comm": t.comm.string_().decode(errors="replace"),
                      "state": task_state_to_char(t), "cpu": task_cpu(t), "on_cpu": t.on_cpu.value_(),
                      "task": t.value_(), "stack": t.stack.value_(), "mm": t.mm.value_()})
    res["tasks"] = tasks
    by_pid = sorted(tasks, key=lambda x: x["pid"])
    for t in by_pid[:6] + [x for x in by_pid if x["pid"] in {p["curr_pid"] for p in percpu}]:
        add("linear", "task_struct pid %d" % t["pid"], t["task"])
        add("vmalloc", "stack of pid %d" % t["pid"], t["stack"])
        add("vmalloc", "stack of pid %d +0x3ff0" % t["pid"], t["stack"] + 0x3FF0)
    # linear map: a few pages spread over RAM (page_to_virt of valid pfns)
    # first RAM byte (memstart_addr is PHYS_OFFSET, which under KASLR and 52-bit VA wraps below zero)
    mem_start = prog["memblock"].memory.regions[0].base.value_()
    res["ram_start"] = mem_start
    for mib in (0, 1, 16, 100, 300, 500):
        pfn = (mem_start >> 12) + mib * 256
        try:
            pg = pfn_to_page(prog, pfn)
            add("linear", "page_to_virt(pfn 0x%x)" % pfn, page_to_virt(pg).value_() + 0x123)
            add("vmemmap", "struct page of pfn 0x%x" % pfn, pg.value_())
        except FaultError:
            pass
    mods = []
    for m in for_each_module(prog):
        name = m.name.string_().decode()
        e = {"name": name}
        for i, label in ((0, "text"), (1, "data"), (2, "rodata")):
            try:
                base = m.mem[i].base.value_()
                size = m.mem[i].size.value_()
            except (LookupError, AttributeError, IndexError):
                continue
            e[label] = [base, size]
            if size:
                add("module", "%s %s" % (name, label), base)
                add("module", "%s %s end-1" % (name, label), base + size - 1)
        mods.append(e)
    res["modules"] = mods
    n = 0
    for va_ in for_each_vmap_area(prog):
        add("vmalloc", "vmap_area #%d start" % n, va_.va_start.value_())
        n += 1
        if n >= 4:
            break
    # user space of the task spinning in EL0 (walk of its mm: TTBR0)
    user = [nt for nt in notes if nt.get("el") == 0 and nt.get("pid")]
    for nt in user[:1]:
        t = prog.thread(nt["pid"]).object
        add("user", "pc of pid %d" % nt["pid"], nt["pc"], mm=t.mm)
        add("user", "sp of pid %d" % nt["pid"], nt["sp"], mm=t.mm)

    walks = []
    mismatches = []
    for kind, what, va, mm in addrs:
        e = {"kind": kind, "what": what, "va": va}
        try:
            pa = follow_phys(mm if mm is not None else prog["init_mm"].address_of_(), va).value_()
            e["pa"] = pa
            try:
                e["bytes16"] = prog.read(pa, 16, True).hex()
            except FaultError as ex:
                e["bytes16_error"] = str(ex)
        except FaultError as ex:
            e["pa"] = None
            e["error"] = str(ex)
        if mm is not None:
            e["mm"] = mm.value_()
            root = follow_phys(prog["init_mm"].address_of_(), mm.pgd.value_()).value_()
            e["ttbr0_pa"] = root
        else:
            root = ttbr1
        try:
            steps, hw_pa = hw_walk(va, root)
        except FaultError as ex:
            steps, hw_pa = [], None
            e["hw_walk_error"] = str(ex)
        e["levels"] = steps
        e["hw_pa"] = hw_pa
        if hw_pa != e.get("pa"):
            mismatches.append(e)
        walks.append(e)
    res["page_walks"] = walks
    if mismatches:
        raise SystemExit("drgn-arm64-oracle: hardware walk disagrees with drgn for %s" %
                         [(m["what"], hex(m["va"]), m.get("pa"), m["hw_pa"]) for m in mismatches])
    res["dmesg"] = get_dmesg(prog).decode(errors="replace")
    res["seconds_total"] = round(time.perf_counter() - t0, 3)
    json.dump(res, open(outp, "w"), indent=1)
    print(outp, "walks", len(walks), "tasks", len(tasks), "dmesg lines", res["dmesg"].count("\n"),
          "notes", len(notes))


if __name__ == "__main__":
    main()
