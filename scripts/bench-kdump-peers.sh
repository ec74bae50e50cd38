#!/usr/bin/env bash
# Peers of `cargo bench -p vmcore --bench kdump` on the same real files:
#  - drgn (pip install drgn; reads kdump through libkdumpfile): prog.read(addr, 4096, True)
#    over every page set in the dump's 1st bitmap, single process (drgn is not thread-parallel);
#  - makedumpfile -R (rearrange the flattened file) and makedumpfile -E conversion to ELF.
# Usage: scripts/bench-kdump-peers.sh   (needs the files decompressed by the real-data crate:
# run `cargo test -p vmcore --test it kdump` once, or set VMCORE_REAL_DATA_CACHE)
set -euo pipefail
cd "$(dirname "$0")/.."
CACHE=${VMCORE_REAL_DATA_CACHE:-target/real-data}
FILES=("$CACHE/kdump/makedumpfile-c-d31.kdump" "$CACHE/qemu-dumps/dump-06-cpu3-online.kdump-zlib"
       "$CACHE/kdump/makedumpfile-F-c-d31.flat")
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

for f in "${FILES[@]}"; do
  [ -f "$f" ] || { echo "missing $f" >&2; exit 2; }
  # drgn wants a seekable kdump file; rearrange flattened ones first (not timed here).
  src=$f
  if [ "$(head -c 12 "$f" | tr -d "\0")" = makedumpfile ]; then
    rm -f "$TMP/rearranged"; makedumpfile -R "$TMP/rearranged" < "$f" >/dev/null 2>&1
    src=$TMP/rearranged
  fi
  python3 - "$src" "$f" <<'PY'
import struct, sys, time, drgn
path, label = sys.argv[1], sys.argv[2]
d = open(path, 'rb').read(1 << 22)
bs, sub_blocks, bitmap_blocks = struct.unpack_from('<III', d, 428)
max_mapnr = struct.unpack_from('<Q', d, bs + 96)[0] or struct.unpack_from('<I', d, 440)[0]
with open(path, 'rb') as fh:
    fh.seek((1 + sub_blocks) * bs)
    bm1 = fh.read((max_mapnr + 7) // 8)
pfns = [i * 8 + b for i, byte in enumerate(bm1) if byte for b in range(8) if byte >> b & 1]
prog = drgn.Program()
try:
    prog.set_core_dump(path)
except Exception as e:  # QEMU's kdump has an empty utsname: libkdumpfile finds no arch
    print(f"drgn {drgn.__version__} {label}: cannot open: {e}"); sys.exit(0)
t = time.perf_counter(); ok = fault = 0
for pfn in pfns:
    try:
        prog.read(pfn * bs, bs, True); ok += 1
    except drgn.FaultError:
        fault += 1
dt = time.perf_counter() - t
print(f"drgn {drgn.__version__} {label}: {ok} pages read, {fault} faults (excluded) in {dt:.3f}s: "
      f"{ok/dt:,.0f} pages/s, {ok*bs/dt/1e6:,.1f} MB/s")
PY
done

flat=${FILES[2]}
t0=$(date +%s.%N); makedumpfile -R "$TMP/r.kdump" < "$flat" >/dev/null 2>&1; t1=$(date +%s.%N)
echo "makedumpfile -R $(basename "$flat"): $(echo "$t1 - $t0" | bc) s"
# makedumpfile cannot convert kdump-compressed input to ELF ("'-E' option is disable, because
# ... is kdump compressed format"), so `vmcore convert --to elf` has no makedumpfile peer.
