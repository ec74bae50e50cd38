#!/usr/bin/python3
"""Differential oracle: read physical memory of a dump through libkdumpfile (Debian's
python3-libkdumpfile) and print one line per request, for crates/vmcore/tests/it/libkdumpfile.rs.

Usage: libkdumpfile-read.py DUMP   (requests on stdin: "ADDR LEN" in hex, one per line)
Output per request: "ok <hex bytes>" or "err <exception class>: <message>".
"""
import sys

import kdumpfile


def main():
    path = sys.argv[1]
    k = kdumpfile.kdumpfile(path)
    # Physical reads need no page tables, but libkdumpfile sets up its translation system
    # first; naming the OS makes it take the dump's vmcoreinfo as it is (ppc64 reads nothing
    # without it). On s390x naming it makes libkdumpfile look for VMCOREINFO through the
    # lowcore in memory, which a generated dump does not hold: physical reads work without.
    try:
        k.attr["addrxlat.ostype"] = "linux"
    except kdumpfile.exceptions.KDumpBaseException as e:
        print("libkdumpfile-read.py: reading without ostype:", e, file=sys.stderr)
    for line in sys.stdin:
        addr, length = (int(x, 16) for x in line.split())
        try:
            data = k.read(kdumpfile.KDUMP_KPHYSADDR, addr, length)
            print("ok", data.hex())
        except Exception as e:  # every libkdumpfile error is a "no": report its class
            print("err", type(e).__name__ + ":", str(e).replace("\n", " "))
        sys.stdout.flush()


if __name__ == "__main__":
    main()
