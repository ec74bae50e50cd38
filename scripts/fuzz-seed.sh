#!/usr/bin/env bash
# Regenerate the fuzz seed corpus in fuzz/seeds/<target>/ (ignored by git), reproducibly: the
# same checkout writes the same files. Seeds come from
#   - crates/testgen (`testgen-fuzz-seeds`): ELF cores (x86_64, aarch64, i386, QEMU notes,
#     PN_XNUM, truncated, walkable page tables with a printk ring), note blobs, kdump images
#     for every compression and header version, flattened streams, printk rings (lockless and
#     legacy) in the klog_decode target's memory layout;
#   - testdata/real: the saved dump headers and elfcorehdrs of every step, their PT_NOTE
#     segments, the first 64 KiB of the real dumps (streamed through `zstd -dc --long=27`,
#     never written out whole), the lab history, QMP log, console log, captured state and
#     sysfs text, and the hotplug crate's snapshot texts (our JSON lines, udevadm).
# libFuzzer's growing corpus lives in fuzz/corpus/<target>/; scripts/fuzz-all.sh reads both.
# Usage: scripts/fuzz-seed.sh
set -euo pipefail
cd "$(dirname "$0")/.."
out=fuzz/seeds
real=testdata/real
rm -rf "$out"
mkdir -p "$out"/{elf_open,notes,kdump_open,klog_decode,elfcorehdr_parse,history_import,btf_parse,arm64_walk}

cargo run -q --release -p testgen --bin testgen-fuzz-seeds -- "$out"

head_of() { # FILE.zst BYTES → stdout: the first BYTES of the decompressed file
  { zstd -dc --long=27 "$1" 2>/dev/null || true; } | head -c "$2"
}

# --- elf_open / elfcorehdr_parse / notes: saved headers of every step ---------------------
for f in "$real"/steps/qemu-dump-*.hdr "$real"/steps/elfcorehdr-*.bin; do
  cp "$f" "$out/elf_open/real-$(basename "$f")"
done
for f in "$real"/steps/elfcorehdr-*.bin; do
  cp "$f" "$out/elfcorehdr_parse/real-$(basename "$f")"
done
head_of "$real/kdump/proc-vmcore.elf.zst" 65536 >"$out/elf_open/real-proc-vmcore-head64k.elf"
head_of "$real/qemu-dumps/dump-06-cpu3-online.elf.zst" 65536 >"$out/elf_open/real-qemu-06-head64k.elf"
# PT_NOTE segments of the real headers, cut out with the ELF64 program headers.
python3 - "$out/notes" "$real"/steps/qemu-dump-0[06]-*.hdr "$real"/steps/elfcorehdr-0[06]-*.bin \
  "$out/elf_open/real-proc-vmcore-head64k.elf" <<'EOF'
import os, struct, sys
out = sys.argv[1]
for path in sys.argv[2:]:
    b = open(path, 'rb').read()
    phoff, = struct.unpack_from('<Q', b, 0x20)
    phnum, = struct.unpack_from('<H', b, 0x38)
    for i in range(phnum):
        o = phoff + 56 * i
        if o + 56 > len(b):
            break
        p_type, _, p_off, _, _, p_filesz = struct.unpack_from('<IIQQQQ', b, o)
        if p_type == 4 and p_off + p_filesz <= len(b) and p_filesz <= 65536:
            name = 'real-%s-note%d' % (os.path.basename(path), i)
            open(os.path.join(out, name), 'wb').write(b[p_off:p_off + p_filesz])
EOF

# --- kdump_open: heads of the real kdump-compressed and flattened dumps --------------------
# The target's first byte picks the signature: 0 = "KDUMP   ", 1 = flattened, else as is.
kdump_head() { # SELECTOR SIGLEN FILE.zst NAME
  { printf "\\x0$1"; head_of "$3" 65536 | tail -c +$(( $2 + 1 )); } >"$out/kdump_open/$4"
}
kdump_head 0 8 "$real/kdump/makedumpfile-c-d31.kdump.zst" real-makedumpfile-c-head64k.kdump
kdump_head 0 8 "$real/qemu-dumps/dump-06-cpu3-online.kdump-zlib.zst" real-qemu-06-zlib-head64k.kdump
kdump_head 1 16 "$real/kdump/makedumpfile-F-c-d31.flat.zst" real-makedumpfile-F-head64k.flat

# --- history_import: every text format the importers and root parsers read ----------------
h="$out/history_import"
cp "$real/history.jsonl" "$h/real-history.jsonl"
head -c 4096 "$real/qmp-log.jsonl" >"$h/real-qmp-log-head.jsonl"
n=0
while IFS= read -r line; do
  n=$((n + 1))
  printf '%s\n' "$line" >"$h/real-history-line$(printf %02d $n).jsonl"
done <"$real/history.jsonl"
jq -r '.guest_uevents[]? // empty' "$real/history.jsonl" >"$h/real-uevent-records.txt"
for snap in crates/hotplug/tests/it/snapshots/it__import__*.snap; do
  # insta snapshots: drop the front matter (two '---' lines).
  awk 'c >= 2 { print } /^---$/ { c++ }' "$snap" >"$h/snap-$(basename "$snap" .snap).txt"
done
grep -E 'CPU|[Mm]emory|Linux version|panic' "$real/console.log" | head -c 8192 >"$h/real-console-lines.log" || true
# Sections of the captured state of the first and the last step (iomem, cpulists, kallsyms,
# uevents, dmesg) and the captured sysfs files.
for st in "$real"/steps/state-00-boot.txt "$real"/steps/state-06-cpu3-online.txt; do
  awk -v dir="$h" -v st="$(basename "$st" .txt)" '
    /^=== .* ===$/ { name = $2; gsub("/", "_", name); file = dir "/real-" st "-" name ".txt"; next }
    file != "" && length(seen[file]) < 8192 { seen[file] = seen[file] $0 "\n" }
    END { for (f in seen) printf "%s", seen[f] > f }' "$st"
done
find "$real/steps/root-06-cpu3-online/sys" -type f -size -8k | sort | head -64 | while read -r f; do
  cp "$f" "$h/real-sysfs-$(echo "${f#"$real"/steps/}" | tr / _)"
done
cp "$real/steps/root-06-cpu3-online/proc/iomem" "$h/real-proc-iomem.txt"
head -c 4096 "$real/steps/root-06-cpu3-online/proc/kallsyms" >"$h/real-proc-kallsyms-head.txt"

for d in "$out"/*/; do
  printf '%-18s %4d files %8d bytes\n' "$(basename "$d")" "$(find "$d" -type f | wc -l)" \
    "$(find "$d" -type f -printf '%s\n' | awk '{s += $1} END {print s + 0}')"
done
