# SPDX-License-Identifier: MIT
"""pbwire.py: protobuf's wire format and fleetstat's framing, by hand, for test clients and
servers that must be able to send anything, valid or not."""
import struct


def varint(n):
    out = b""
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])


def fld_varint(num, v):
    return varint(num << 3) + varint(v)


def fld_bytes(num, b):
    return varint(num << 3 | 2) + varint(len(b)) + b


def frame(num, body):
    """A whole frame: length, then a Frame whose oneof field num holds body."""
    msg = fld_bytes(num, body)
    return struct.pack(">I", len(msg)) + msg


def parse(buf):
    """field number -> list of values (int for varints, bytes for length-delimited)."""
    out, i = {}, 0

    def rd():
        nonlocal i
        v = s = 0
        while True:
            b = buf[i]
            i += 1
            v |= (b & 0x7F) << s
            s += 7
            if not b & 0x80:
                return v
    while i < len(buf):
        key = rd()
        num, wt = key >> 3, key & 7
        if wt == 0:
            v = rd()
        elif wt == 2:
            n = rd()
            v = buf[i:i + n]
            i += n
        elif wt == 1:
            v = buf[i:i + 8]
            i += 8
        elif wt == 5:
            v = buf[i:i + 4]
            i += 4
        else:
            raise ValueError("wire type %d" % wt)
        out.setdefault(num, []).append(v)
    return out


def recv_exact(sock, n):
    """n bytes from sock; EOFError when it closes first."""
    b = b""
    while len(b) < n:
        x = sock.recv(n - len(b))
        if not x:
            raise EOFError
        b += x
    return b
