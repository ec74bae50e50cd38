#!/usr/bin/python3
"""Differential oracle: read physical memory of a dump through libkdumpfile (Debian's
python3-libkdumpfile and libkdumpfile10) and print one line per request, for
crates/vmcore/tests/it/libkdumpfile.rs and split.rs.

Usage: libkdumpfile-read.py DUMP [PART ...]   (requests on stdin: "ADDR LEN" in hex, one per line)
       libkdumpfile-read.py --regs DUMP        (every CPU's registers as libkdumpfile names them)
Output per request: "ok <hex bytes>" or "err <exception class>: <message>".

One file is opened through the Python binding. Several files are one makedumpfile --split
set, opened with libkdumpfile's own multi-file reader (kdump_open_fdset) through ctypes: the
binding cannot open a set (setting file.set.number on an opened context aborts it).
"""
import ctypes
import os
import sys

import kdumpfile

KDUMP_OK = 0
KDUMP_STRING = 4  # enum kdump_attr_type: NIL, DIRECTORY, NUMBER, ADDRESS, STRING, ...
KDUMP_KPHYSADDR = 0  # ADDRXLAT_KPHYSADDR


class AttrValue(ctypes.Union):
    _fields_ = [("number", ctypes.c_uint64), ("string", ctypes.c_char_p)]


class Attr(ctypes.Structure):
    _fields_ = [("type", ctypes.c_int), ("val", AttrValue)]


class SetReader:
    """kdump_open_fdset over the parts, kdump_read for each request."""

    def __init__(self, paths):
        lib = ctypes.CDLL("libkdumpfile.so.10")
        lib.kdump_new.restype = ctypes.c_void_p
        lib.kdump_open_fdset.argtypes = [ctypes.c_void_p, ctypes.c_uint, ctypes.POINTER(ctypes.c_int)]
        lib.kdump_set_attr.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.POINTER(Attr)]
        lib.kdump_read.argtypes = [
            ctypes.c_void_p,
            ctypes.c_int,
            ctypes.c_uint64,
            ctypes.c_void_p,
            ctypes.POINTER(ctypes.c_size_t),
        ]
        lib.kdump_get_err.restype = ctypes.c_char_p
        lib.kdump_get_err.argtypes = [ctypes.c_void_p]
        self.lib = lib
        self.ctx = lib.kdump_new()
        fds = [os.open(p, os.O_RDONLY) for p in paths]
        arr = (ctypes.c_int * len(fds))(*fds)
        if lib.kdump_open_fdset(self.ctx, len(fds), arr) != KDUMP_OK:
            raise SystemExit("kdump_open_fdset: " + self.err())
        attr = Attr(KDUMP_STRING, AttrValue(string=b"linux"))
        if lib.kdump_set_attr(self.ctx, b"addrxlat.ostype", ctypes.byref(attr)) != KDUMP_OK:
            print("libkdumpfile-read.py: reading without ostype:", self.err(), file=sys.stderr)

    def err(self):
        e = self.lib.kdump_get_err(self.ctx)
        return e.decode() if e else "?"

    def read(self, addr, length):
        buf = ctypes.create_string_buffer(length)
        n = ctypes.c_size_t(length)
        status = self.lib.kdump_read(self.ctx, KDUMP_KPHYSADDR, addr, buf, ctypes.byref(n))
        if status != KDUMP_OK:
            raise RuntimeError("status %d: %s" % (status, self.err()))
        return buf.raw[:length]


class FileReader:
    def __init__(self, path):
        self.k = kdumpfile.kdumpfile(path)
        # Physical reads need no page tables, but libkdumpfile sets up its translation system
        # first; naming the OS makes it take the dump's vmcoreinfo as it is (ppc64 reads
        # nothing without it). On s390x naming it makes libkdumpfile look for VMCOREINFO
        # through the lowcore in memory, which a generated dump does not hold: physical reads
        # work without.
        try:
            self.k.attr["addrxlat.ostype"] = "linux"
        except kdumpfile.exceptions.KDumpBaseException as e:
            print("libkdumpfile-read.py: reading without ostype:", e, file=sys.stderr)

    def read(self, addr, length):
        return self.k.read(kdumpfile.KDUMP_KPHYSADDR, addr, length)


def print_registers(path):
    """`libkdumpfile-read.py --regs DUMP`: "CPU NAME VALUE" (hex) for every register
    libkdumpfile decodes from the dump's register notes."""
    k = kdumpfile.kdumpfile(path)
    for cpu in range(k.attr["cpu.number"]):
        regs = k.attr["cpu.%d.reg" % cpu]
        for name in sorted(regs.keys()):
            print(cpu, name, "%x" % regs[name])


def main():
    if sys.argv[1] == "--regs":
        print_registers(sys.argv[2])
        return
    paths = sys.argv[1:]
    reader = FileReader(paths[0]) if len(paths) == 1 else SetReader(paths)
    for line in sys.stdin:
        addr, length = (int(x, 16) for x in line.split())
        try:
            print("ok", reader.read(addr, length).hex())
        except Exception as e:  # every libkdumpfile error is a "no": report its class
            print("err", type(e).__name__ + ":", str(e).replace("\n", " "))
        sys.stdout.flush()


if __name__ == "__main__":
    main()
