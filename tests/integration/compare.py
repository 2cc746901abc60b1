#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""compare.py: check an agent's JSON against `ss -tan` and the netstat|awk one-liner
taken of the same sockets.

usage: compare.py AGENT_JSON SS_TAN_TXT NETSTAT_AWK_TXT [MIN_SOCKETS]

- the agent's state table equals ss's state counts (LISTEN aside) and the awk output;
- for every IP the agent lists, its per-state counts equal the per-peer counts from
  ss -tan, IPv4-mapped IPv6 peers folded to IPv4;
- entries + rest + excluded add up to the state table, state by state;
- by service, when the agent split it: each inbound port's states equal ss -tan's sockets on
  that local port (`ss -tan 'sport = :P'`, the listener aside), each outbound port's equal
  ss -tan's sockets to that remote port from a port nothing listens on (`'dport = :P'`), and
  the ports the agent lists are the top ones of ss's, the rest summed.
Prints one line per check; exits 1 on the first mismatch.
"""
import ipaddress
import json
import sys

SS_NAMES = {
    "ESTAB": "ESTABLISHED", "SYN-SENT": "SYN_SENT", "SYN-RECV": "SYN_RECV",
    "FIN-WAIT-1": "FIN_WAIT1", "FIN-WAIT-2": "FIN_WAIT2", "TIME-WAIT": "TIME_WAIT",
    "UNCONN": "CLOSE", "CLOSE-WAIT": "CLOSE_WAIT", "LAST-ACK": "LAST_ACK",
    "LISTEN": "LISTEN", "CLOSING": "CLOSING",
}


def fail(msg):
    print("MISMATCH: " + msg)
    sys.exit(1)


def peer_ip(addr):
    """'[::ffff:1.2.3.4]:80' or '1.2.3.4:80' -> canonical IP text, mapped folded."""
    host = addr.rsplit(":", 1)[0].strip("[]").split("%")[0]
    ip = ipaddress.ip_address(host)
    if ip.version == 6 and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return str(ip)


def main():
    agent = json.load(open(sys.argv[1]))
    minimum = int(sys.argv[4]) if len(sys.argv) > 4 else 0
    ss_states, ss_peers, socks, listening = {}, {}, [], set()
    for line in open(sys.argv[2]):
        f = line.split()
        if not f or f[0] == "State":
            continue
        state = SS_NAMES[f[0]]
        if state == "LISTEN":
            listening.add(f[3].rsplit(":", 1)[1])
            continue
        socks.append((state, f[3].rsplit(":", 1)[1], f[4].rsplit(":", 1)[1]))
        ss_states[state] = ss_states.get(state, 0) + 1
        per = ss_peers.setdefault(peer_ip(f[4]), {})
        per[state] = per.get(state, 0) + 1
    awk = {}
    for line in open(sys.argv[3]):
        if line.strip():
            name, n = line.split()
            awk[name] = int(n)

    states = {k: v for k, v in agent["states"].items() if v}
    total = sum(states.values())
    if total < minimum:
        fail(f"only {total} sockets, wanted at least {minimum}")
    if states != ss_states:
        fail(f"agent {states} != ss -tan {ss_states}")
    print(f"states equal ss -tan: {total} sockets, {len(states)} states")
    if states != awk:
        fail(f"agent {states} != netstat -n | awk {awk}")
    print("states equal the netstat -n | awk one-liner")

    top = agent["top"]
    for e in top["ips"]:
        got = {k: v for k, v in e["states"].items() if v}
        want = ss_peers.get(e["ip"], {})
        if got != want:
            fail(f"{e['ip']}: agent {got} != ss {want}")
        if e["total"] != sum(got.values()):
            fail(f"{e['ip']}: total {e['total']} != {sum(got.values())}")
    print(f"per-IP counts equal ss -tan for all {len(top['ips'])} listed IPs "
          f"({top['distinct_ips']} distinct)")

    listed = {e["ip"] for e in top["ips"]}
    th = top["thresholds"]
    for ip, per in ss_peers.items():
        if ip in listed or ipaddress.ip_address(ip).is_loopback:
            continue
        if (sum(per.values()) > th["total"] or per.get("ESTABLISHED", 0) > th["established"]
                or per.get("SYN_RECV", 0) > th["syn_recv"]):
            fail(f"{ip} is not listed but has {per}, above the thresholds {th}")
    print(f"every unlisted IP is within the thresholds {th}")

    for s, n in agent["states"].items():
        got = (sum(e["states"].get(s, 0) for e in top["ips"])
               + top["rest"].get(s, 0) + top["excluded"].get(s, 0))
        if got != n:
            fail(f"{s}: entries + rest + excluded = {got} != {n}")
    print("entries + rest + excluded = the state table, state by state")

    ports = agent.get("ports", {})
    if not ports.get("limit"):
        return
    ss_in, ss_out = {}, {}
    for state, lport, rport in socks:
        if lport in listening:
            d = ss_in.setdefault(int(lport), {})
        elif rport not in ("*", "0"):
            d = ss_out.setdefault(int(rport), {})
        else:
            continue
        d[state] = d.get(state, 0) + 1
    for name, ss_map in (("inbound", ss_in), ("outbound", ss_out)):
        listed = ports[name]
        for e in listed:
            got = {k: v for k, v in e["states"].items() if v}
            if got != ss_map.get(e["port"], {}):
                fail(f"{name} :{e['port']}: agent {got} != ss {ss_map.get(e['port'], {})}")
        # The top ones: no port left out has more than the least listed.
        least = min((e["total"] for e in listed), default=0)
        kept = {e["port"] for e in listed}
        for port, per in ss_map.items():
            if port not in kept and (len(listed) < ports["limit"] or sum(per.values()) > least):
                fail(f"{name} :{port} ({per}) left out of the agent's top {ports['limit']}")
    for s, n in agent["states"].items():
        got = (sum(e["states"].get(s, 0) for e in ports["inbound"] + ports["outbound"])
               + ports["rest"].get(s, 0))
        if got != n:
            fail(f"{s}: ports + rest = {got} != {n}")
    print(f"by service: {len(ports['inbound'])} inbound and {len(ports['outbound'])} outbound "
          f"ports equal ss -tan filtered by port ({len(listening)} listening); ports + rest = "
          f"the state table")


if __name__ == "__main__":
    main()
