#!/usr/bin/env python3
"""Compare physical-memory reads of vmcore against libkdumpfile on the
dumps written by libkdumpfile's own test suite (docs/kdump.md, issue 18). Not run by CI:
it needs libkdumpfile's source tree, built and tested.

Set-up ($LKDF_DIR, default /work/lkdf): the libkdumpfile source in $LKDF_DIR/src, built
(autoreconf -fi && ./configure && make -j2 && make -j2 check), and lkread.c copied to
$LKDF_DIR/tools/ (it is compiled on first use).

Usage: python3 scripts/libkdumpfile-suite/compare.py [VMCORE_BINARY] [--only SUBSTR] [--json OUT] [--no-batch]

Reference side: $LKDF_DIR/tools/lkread, a small batch reader linked against
the libkdumpfile built in $LKDF_DIR/src (same calls as tests/dumpdata:
kdump_open_fdset + kdump_read on KDUMP_MACHPHYSADDR, no OS type set).
It is (re)compiled automatically when missing.

Dumps: /work/lkdf/src/tests/out/*.dump (run `make check` there first).
Split sets (*.dump.1, .2, ...) are compared as a whole (libkdumpfile gets
all parts via kdump_open_fdset; vmcore gets a directory holding copies of
the parts, /work/lkdf/splitsets/NAME/) and each part on its own.

Reads per dump (capped at CAP):
  * every page 0 .. max_pfn+1 (max_pfn from libkdumpfile, and max_mapnr
    from `vmcore info --json` for kdump-compressed dumps, whichever larger);
  * ELF: for every PT_LOAD (p_paddr .. p_paddr+p_memsz) each page, the page
    before and after, unaligned 16-byte/2-byte reads straddling the segment
    start, the end of file data and the end of memory, and the whole
    segment in one read (up to 1 MiB);
  * a 16-byte read straddling every page boundary that is read.
A read agrees when both sides return the same bytes, or both fail. Reads where
vmcore exits 0 with the same bytes but its JSON says covered < len count as
agreed and are listed separately.
vmcore is batched: each maximal range that libkdumpfile read successfully is
read with one `vmcore read --len`; on failure the range is bisected down to
single pages; reads not covered by a successful batch are run one by one.
"""
import bisect
import json
import os
import shutil
import struct
import subprocess
import sys
from collections import OrderedDict, defaultdict
from concurrent.futures import ThreadPoolExecutor

LK = os.environ.get('LKDF_DIR', '/work/lkdf')
SRC = LK + '/src'
OUT = SRC + '/tests/out'
LKREAD = LK + '/tools/lkread'
LKREAD_C = LK + '/tools/lkread.c'
SPLITDIR = LK + '/splitsets'
CAP = 4000
MAX_BATCH = 64 << 20
SHOW = 3
NO_BATCH = False


# ---------------------------------------------------------------- helpers
def ensure_lkread():
    if os.path.exists(LKREAD) and os.path.getmtime(LKREAD) >= os.path.getmtime(LKREAD_C):
        return
    libk = SRC + '/src/kdumpfile/.libs'
    liba = SRC + '/src/addrxlat/.libs'
    subprocess.check_call(['gcc', '-O2', '-o', LKREAD, LKREAD_C, '-I' + SRC + '/include',
                           '-L' + libk, '-L' + liba, '-lkdumpfile', '-laddrxlat',
                           '-Wl,-rpath,' + libk, '-Wl,-rpath,' + liba])


def lk_batch(files, reads):
    """Returns (open_ok, open_msg, info dict, results list of (ok, bytes|msg))."""
    inp = ''.join('0x%x %d\n' % (a, l) for a, l in reads)
    p = subprocess.run([LKREAD, '-m'] + files, input=inp.encode(), capture_output=True)
    lines = p.stdout.decode(errors='replace').split('\n')
    first = lines[0]
    if not first.startswith('OPEN OK'):
        msg = first[len('OPEN ERR '):] if first.startswith('OPEN ERR') else \
            ('lkread rc=%d %s' % (p.returncode, p.stderr.decode(errors='replace').strip()))
        return False, msg, {}, [(False, 'open failed: ' + msg)] * len(reads)
    info = dict(kv.split('=', 1) for kv in first.split()[2:])
    res = []
    for i in range(len(reads)):
        ln = lines[1 + i] if 1 + i < len(lines) else ''
        if ln.startswith('OK '):
            res.append((True, bytes.fromhex(ln[3:])))
        elif ln.startswith('ERR '):
            _, n, msg = (ln.split(' ', 2) + [''])[:3]
            res.append((False, msg))
        else:
            res.append((False, 'lkread produced no answer (rc=%d)' % p.returncode))
    return True, '', info, res


def vm_read(vm, path, addr, length):
    """Returns ('ok', bytes) | ('partial', (bytes, covered)) | ('err', msg) | ('abnormal', msg)."""
    p = subprocess.run([vm, 'read', path, '--phys', '0x%x' % addr, '--len', str(length), '--json'],
                       capture_output=True)
    err = p.stderr.decode(errors='replace').strip()
    if p.returncode == 0:
        try:
            j = json.loads(p.stdout)
            data = bytes.fromhex(j['hex'])
        except Exception as e:  # noqa
            return 'abnormal', 'exit 0 but unparsable JSON: %s' % e
        if len(data) != length:
            return 'abnormal', 'exit 0 with %d bytes of %d' % (len(data), length)
        if j.get('covered', length) != length:
            return 'partial', (data, j.get('covered'))
        return 'ok', data
    if p.returncode == 2:
        return 'err', err.replace('vmcore: error: ', '')
    return 'abnormal', 'exit %d: %s' % (p.returncode, err[-300:])


def vm_info(vm, paths):
    p = subprocess.run([vm, 'info'] + paths + ['--json'], capture_output=True)
    err = p.stderr.decode(errors='replace').strip()
    j = None
    if p.returncode in (0, 1):
        try:
            j = json.loads(p.stdout)
        except Exception:
            j = None
    return p.returncode, j, err


# ------------------------------------------------------------ file parsing
def logical_bytes(path, limit=64 << 20):
    """File contents, un-flattened when it is a makedumpfile flattened file."""
    with open(path, 'rb') as f:
        head = f.read(4096)
        if not head.startswith(b'makedumpfile\0'):
            f.seek(0)
            return f.read(min(os.path.getsize(path), limit))
        f.seek(4096)
        buf = bytearray()
        while True:
            h = f.read(16)
            if len(h) < 16:
                break
            off, size = struct.unpack('>qq', h)
            if off < 0 or size < 0:
                break
            data = f.read(size)
            if off + size > limit:
                continue
            if len(buf) < off + size:
                buf.extend(b'\0' * (off + size - len(buf)))
            buf[off:off + size] = data
        return bytes(buf)


def elf_loads(data):
    if len(data) < 52 or data[:4] != b'\x7fELF':
        return None
    cls, enc = data[4], data[5]
    e = '<' if enc == 1 else '>'
    loads = []
    if cls == 2:
        phoff, = struct.unpack_from(e + 'Q', data, 32)
        phentsize, phnum = struct.unpack_from(e + 'HH', data, 54)
        for i in range(phnum):
            o = phoff + i * phentsize
            if o + 56 > len(data):
                break
            t, fl, off, va, pa, fs, ms, al = struct.unpack_from(e + 'IIQQQQQQ', data, o)
            if t == 1:
                loads.append((pa, fs, ms, va, off))
    elif cls == 1:
        phoff, = struct.unpack_from(e + 'I', data, 28)
        phentsize, phnum = struct.unpack_from(e + 'HH', data, 42)
        for i in range(phnum):
            o = phoff + i * phentsize
            if o + 32 > len(data):
                break
            t, off, va, pa, fs, ms, fl, al = struct.unpack_from(e + 'IIIIIIII', data, o)
            if t == 1:
                loads.append((pa, fs, ms, va, off))
    return loads


# ------------------------------------------------------------- read lists
def build_reads(files, lkinfo, vminfo):
    P = int(lkinfo.get('page_size', 0) or 0) if lkinfo else 0
    if not P and vminfo and vminfo.get('kdump') and vminfo['kdump'].get('page_size'):
        P = int(vminfo['kdump']['page_size'])
    P = P or 4096
    reads = OrderedDict()

    def add(a, l):
        if a >= 0 and l > 0 and a + l <= (1 << 64):
            reads[(a, l)] = None

    maxpfn = int(lkinfo.get('max_pfn', 0)) if lkinfo else 0
    if maxpfn >= (1 << 60):
        maxpfn = 0
    if vminfo and vminfo.get('kdump') and vminfo['kdump'].get('max_mapnr'):
        maxpfn = max(maxpfn, int(vminfo['kdump']['max_mapnr']))
    n = maxpfn + 2          # pages 0 .. max_pfn+1
    sweep = set()
    if n <= CAP // 2:
        sweep.update(range(n))
    else:                   # too many: the first and last pages only
        sweep.update(range(CAP // 8))
        sweep.update(range(n - CAP // 8, n))
    pages = set()           # pages the ELF program headers describe (priority)
    unaligned = []
    for f in files:
        try:
            data = logical_bytes(f, limit=1 << 20)
        except OSError:
            continue
        loads = elf_loads(data)
        if not loads:
            continue
        for pa, fs, ms, va, off in loads:
            size = max(ms, fs)
            if size == 0:
                pages.add(pa // P)
                unaligned += [(pa, 16), (pa - 8, 16)]
                continue
            end = pa + size
            first, last = pa // P - 1, (end + P - 1) // P  # page before .. page after
            span = list(range(max(first, 0), last + 1))
            if len(span) > 256:
                span = span[:128] + span[-128:]
            pages.update(span)
            for a, l in ((pa, 16), (pa - 8, 16), (pa - 1, 2), (end - 16, 16), (end - 8, 16),
                         (end - 1, 2), (end, 16)):
                unaligned.append((a, l))
            if fs < ms:
                fend = pa + fs
                unaligned += [(fend - 16, 16), (fend - 8, 16), (fend, 16)]
            if size <= (1 << 20):
                unaligned.append((pa, size))

    # priority: what the program headers describe; then the max_pfn sweep
    for pfn in sorted(pages):
        add(pfn * P, P)
    for a, l in unaligned:
        add(a, l)
    for pfn in sorted(pages):
        if pfn + 1 in pages:
            add((pfn + 1) * P - 8, 16)   # straddle the page boundary
    for pfn in sorted(sweep - pages):
        add(pfn * P, P)
    for pfn in sorted(sweep):
        if pfn + 1 in sweep and not (pfn in pages and pfn + 1 in pages):
            add((pfn + 1) * P - 8, 16)
    rl = list(reads)
    if len(rl) > CAP:
        rl = rl[:CAP]
    return rl, P


# ------------------------------------------------------------- comparison
def compare_dump(vm, name, lkfiles, vmpath, vminfo_paths):
    rc, vminfo, vmerr = vm_info(vm, vminfo_paths)
    lk_ok, lk_msg, lkinfo, _ = lk_batch(lkfiles, [])
    reads, P = build_reads(lkfiles, lkinfo, vminfo)
    _, _, _, lkres = lk_batch(lkfiles, reads)

    vmres = [None] * len(reads)
    # Does vmcore open it at all (via `read`)?
    probe = vm_read(vm, vmpath, reads[0][0], reads[0][1]) if reads else ('err', '')
    cannot_open = probe[0] == 'err' and 'cannot open' in probe[1]
    if cannot_open:
        vmres = [probe] * len(reads)
    else:
        # batch ranges libkdumpfile read successfully
        ivs = sorted((a, a + l) for (a, l), (ok, _) in zip(reads, lkres) if ok)
        merged = []
        for s, e in ivs:
            if merged and s <= merged[-1][1] and e - merged[-1][0] <= MAX_BATCH:
                merged[-1][1] = max(merged[-1][1], e)
            else:
                merged.append([s, e])
        good = []  # (start, bytes)

        def try_range(s, e):
            kind, payload = vm_read(vm, vmpath, s, e - s)
            if kind == 'ok':
                return [(s, payload)]
            if e - s <= P:
                return []
            mid = ((s + e) // 2) // P * P
            if mid <= s or mid >= e:
                mid = (s + e) // 2
            return try_range(s, mid) + try_range(mid, e)

        if NO_BATCH:
            merged = []
        with ThreadPoolExecutor(2) as ex:
            for r in ex.map(lambda iv: try_range(*iv), merged):
                good.extend(r)
        good.sort()
        starts = [g[0] for g in good]
        todo = []
        for i, (a, l) in enumerate(reads):
            j = bisect.bisect_right(starts, a) - 1
            if j >= 0 and a + l <= good[j][0] + len(good[j][1]):
                off = a - good[j][0]
                vmres[i] = ('ok', good[j][1][off:off + l])
            else:
                todo.append(i)
        with ThreadPoolExecutor(2) as ex:
            for i, r in zip(todo, ex.map(lambda i: vm_read(vm, vmpath, *reads[i]), todo)):
                vmres[i] = r

    agree = 0
    partial_same = []   # agreed on bytes, but vmcore's JSON said covered < len
    dis = []
    for (a, l), (lok, lval), (vk, vval) in zip(reads, lkres, vmres):
        if lok and vk == 'ok' and lval == vval:
            agree += 1
        elif lok and vk == 'partial' and vval[0] == lval:
            agree += 1
            partial_same.append({'addr': a, 'len': l, 'covered': vval[1], 'bytes': lval[:16].hex()})
        elif not lok and vk == 'err':
            agree += 1
        else:
            if lok:
                lsay = 'bytes ' + lval[:16].hex() + ('...' if l > 16 else '')
            else:
                lsay = 'error: ' + lval
            if vk == 'ok':
                vsay = 'bytes ' + vval[:16].hex() + ('...' if l > 16 else '')
                if lok:
                    k = next(i for i in range(l) if lval[i] != vval[i])
                    vsay += ' (first difference at +0x%x: lkdf %02x, vmcore %02x)' % (k, lval[k], vval[k])
            elif vk == 'partial':
                vdata, cov = vval
                vsay = 'exit 0, covered=%s of %d, bytes %s%s' % (cov, l, vdata[:16].hex(), '...' if l > 16 else '')
                if lok:
                    vsay += ' (bytes %s libkdumpfile\'s)' % ('equal to' if vdata == lval else 'differ from')
            else:
                vsay = ('error: ' if vk == 'err' else 'ABNORMAL: ') + vval
            cls = ('both read, bytes differ' if lok and vk == 'ok' else
                   'vmcore exit 0 but covered < len' if vk == 'partial' else
                   'libkdumpfile reads, vmcore fails' if lok and vk == 'err' else
                   'libkdumpfile fails, vmcore reads' if vk == 'ok' else
                   'vmcore abnormal exit')
            dis.append({'addr': a, 'len': l, 'class': cls, 'lkdf': lsay, 'vmcore': vsay})
    return {
        'name': name, 'reads': len(reads), 'agreed': agree, 'page_size': P,
        'lk_open': lk_ok, 'lk_open_msg': lk_msg, 'lk_info': lkinfo,
        'vm_info_rc': rc, 'vm_info_err': vmerr,
        'vm_format': (vminfo or {}).get('format'),
        'vm_cannot_open': cannot_open, 'vm_open_msg': probe[1] if cannot_open else '',
        'disagreements': dis, 'partial_same': partial_same,
    }


def discover():
    entries = []
    names = sorted(os.listdir(OUT))
    sets = defaultdict(list)
    for n in names:
        base, _, suf = n.rpartition('.')
        if base.endswith('.dump') and suf.isdigit():
            sets[base[:-5]].append((int(suf), n))
        elif n.endswith('.dump'):
            p = os.path.join(OUT, n)
            entries.append((n, [p], p, [p]))
    for base, parts in sorted(sets.items()):
        parts = [os.path.join(OUT, n) for _, n in sorted(parts)]
        d = os.path.join(SPLITDIR, base)
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
        for p in parts:
            shutil.copy2(p, d)  # copies: vmcore skips symlinks in a split directory
        entries.append(('%s.dump.{%s} (set)' % (base, ','.join(str(i + 1) for i in range(len(parts)))),
                        parts, d, parts))
        for p in parts:
            n = os.path.basename(p)
            entries.append((n + ' (part alone)', [p], p, [p]))
    return entries


def main():
    args = sys.argv[1:]
    vm = LK + '/vmcore'
    only = None
    jout = LK + '/compare-results.json'
    while args:
        a = args.pop(0)
        if a == '--only':
            only = args.pop(0)
        elif a == '--no-batch':
            global NO_BATCH
            NO_BATCH = True
        elif a == '--json':
            jout = args.pop(0)
        else:
            vm = a
    vm = os.path.abspath(vm)
    ensure_lkread()
    results = []
    tot_r = tot_a = 0
    for name, lkfiles, vmpath, infopaths in discover():
        if only and only not in name:
            continue
        r = compare_dump(vm, name, lkfiles, vmpath, infopaths)
        results.append(r)
        tot_r += r['reads']
        tot_a += r['agreed']
        d = r['disagreements']
        extra = []
        if not r['lk_open']:
            extra.append('lkdf cannot open: ' + r['lk_open_msg'])
        if r['vm_cannot_open']:
            extra.append('vmcore read cannot open: ' + r['vm_open_msg'])
        if r['vm_info_rc'] not in (0, 1):
            extra.append('vmcore info rc=%d: %s' % (r['vm_info_rc'], r['vm_info_err']))
        line = '%-48s reads=%5d agreed=%5d disagree=%4d' % (name, r['reads'], r['agreed'], len(d))
        if r['partial_same']:
            x = r['partial_same'][0]
            extra.insert(0, '%d agreed reads had vmcore covered<len, e.g. 0x%x+%d covered=%s'
                         % (len(r['partial_same']), x['addr'], x['len'], x['covered']))
        if extra:
            line += '  [' + '; '.join(extra) + ']'
        print(line, flush=True)
        for x in d[:SHOW]:
            print('    0x%x+%d [%s]: libkdumpfile=%s | vmcore=%s' % (x['addr'], x['len'], x['class'], x['lkdf'], x['vmcore']))
        if len(d) > SHOW:
            classes = defaultdict(int)
            for x in d:
                classes[x['class']] += 1
            print('    ... %d more (%s)' % (len(d) - SHOW, ', '.join('%s: %d' % kv for kv in classes.items())))
    print('TOTAL dumps=%d reads=%d agreed=%d disagree=%d' % (len(results), tot_r, tot_a, tot_r - tot_a))
    with open(jout, 'w') as f:
        json.dump(results, f, indent=1)
    print('details: ' + jout)


if __name__ == '__main__':
    main()
