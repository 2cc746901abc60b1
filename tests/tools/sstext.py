# SPDX-License-Identifier: MIT
"""sstext.py: a saved `ss -tan` for a test's agent to collect from (--input).

ss_text(path, states, peers=(), more=()): a listener on :80, then for each state of
states ({"ESTAB": n, ...}: ss's names) n connections to it from 192.0.2.1-200, for each
(ip, state, n) of peers n connections from ip, then the lines of more as they are.
"""


def ss_text(path, states, peers=(), more=()):
    lines = ["State Recv-Q Send-Q Local Address:Port Peer Address:Port Process",
             "LISTEN 0 128 0.0.0.0:80 0.0.0.0:*"]
    k = 0
    for st, n in states.items():
        for _ in range(n):
            k += 1
            lines.append(f"{st} 0 0 10.9.0.1:80 192.0.2.{k % 200 + 1}:{10000 + k}")
    for ip, st, n in peers:
        for _ in range(n):
            k += 1
            lines.append(f"{st} 0 0 10.9.0.1:80 {ip}:{20000 + k}")
    lines += list(more)
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
