# SPDX-License-Identifier: MIT
"""pbwire.py: protobuf's wire format and fleetstat's framing, by hand, for test clients and
servers that must be able to send anything, valid or not."""
import socket
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


# ---- fleetstat's messages, as the test clients send and read them ----

def hello(agent_id, auth, tier="hostile", hostname="hostile"):
    """A Hello frame (auth: the HMAC, or empty when the collector takes any agent)."""
    h = (fld_varint(1, 1) + fld_bytes(2, agent_id) + fld_bytes(3, hostname.encode()) +
         fld_bytes(4, tier.encode()) + fld_bytes(6, b"0.0.0-test") + (fld_bytes(7, auth) if auth else b""))
    return frame(2, h)


def report(seq, at_ms, ips=(), ip_len=4):
    """A Report frame whose ESTABLISHED count is the sum of its top entries' (so it adds up)."""
    est = sum(n for _, n in ips)
    top = b"".join(fld_bytes(1, fld_bytes(1, ip) + fld_bytes(2, fld_varint(1, n) if n else b""))
                   for ip, n in ips)
    top += fld_varint(2, 20) + fld_varint(8, len(ips))
    st = fld_varint(1, est) if est else b""
    r = (fld_varint(1, seq) + fld_varint(2, at_ms) + fld_varint(3, 1000) + fld_bytes(4, st) +
         fld_bytes(6, top) + fld_bytes(11, b"netlink"))
    return frame(4, r)


def read_frame(s, timeout):
    """(field of the Frame's body, the body's message), or None on EOF, or 'timeout'."""
    s.settimeout(timeout)
    try:
        n = struct.unpack(">I", recv_exact(s, 4))[0]
        body = recv_exact(s, n)
    except socket.timeout:
        return "timeout"
    except (EOFError, OSError):
        return None
    field, msg = next(iter(parse(body).items()))
    return field, msg[0]
