#!/usr/bin/python3
# SPDX-License-Identifier: ISC
# A file system that never answers, as a hung NFS server: mounts FUSE on DIR, answers the
# kernel's handshake, then leaves every lookup in DIR unanswered, so that opening DIR/anything
# blocks until this program ends (the kernel then fails the open with ENOTCONN) or the opener
# is killed. Speaks the FUSE protocol on /dev/fuse itself (no libfuse). Root only.
# Usage: hung_fs.py DIR   prints "mounted" once DIR is served, then "lookup NAME" for each
#                         lookup it leaves unanswered; unmount DIR afterwards.
import ctypes
import errno
import os
import struct
import sys

FUSE_LOOKUP, FUSE_GETATTR, FUSE_INIT, FUSE_DESTROY = 1, 3, 26, 38
IN_HEADER = struct.Struct("<IIQQIIII")  # len, opcode, unique, nodeid, uid, gid, pid, padding
OUT_HEADER = struct.Struct("<IiQ")  # len, error, unique


def reply(fd, unique, error=0, body=b""):
    os.write(fd, OUT_HEADER.pack(OUT_HEADER.size + len(body), error, unique) + body)


def root_attributes():
    # fuse_attr_out: valid for 1 s, then fuse_attr of a directory owned by root, mode 0755.
    attr = struct.pack("<QQQQQQIIIIIIIIII", 1, 0, 0, 0, 0, 0, 0, 0, 0,
                       0o40755, 2, 0, 0, 0, 4096, 0)
    return struct.pack("<QII", 1, 0, 0) + attr


def main():
    mountpoint = sys.argv[1]
    fd = os.open("/dev/fuse", os.O_RDWR)
    libc = ctypes.CDLL(None, use_errno=True)
    options = f"fd={fd},rootmode=40000,user_id=0,group_id=0,allow_other".encode()
    if libc.mount(b"hung_fs", mountpoint.encode(), b"fuse.hung_fs", 0, options) != 0:
        sys.exit(f"hung_fs: mount {mountpoint}: {os.strerror(ctypes.get_errno())}")
    print("mounted", flush=True)
    while True:
        try:
            request = os.read(fd, 1 << 21)
        except OSError as e:
            if e.errno in (errno.ENODEV, errno.EINTR):  # unmounted, or a signal
                return
            raise
        _, opcode, unique, _, _, _, _, _ = IN_HEADER.unpack_from(request)
        if opcode == FUSE_INIT:
            major, minor, readahead, _ = struct.unpack_from("<IIII", request, IN_HEADER.size)
            # fuse_init_out of protocol 7.31: no flags, max_write 4096, time_gran 1.
            reply(fd, unique, body=struct.pack("<IIIIHHIIHHI7I", 7, min(minor, 31), readahead,
                                               0, 0, 0, 4096, 1, 0, 0, 0, *[0] * 7))
        elif opcode == FUSE_GETATTR:
            reply(fd, unique, body=root_attributes())
        elif opcode == FUSE_LOOKUP:
            name = request[IN_HEADER.size:].split(b"\0")[0].decode(errors="replace")
            print(f"lookup {name}", flush=True)  # never answered: the hang
        elif opcode == FUSE_DESTROY:
            return
        else:
            reply(fd, unique, -errno.ENOSYS)


if __name__ == "__main__":
    main()
