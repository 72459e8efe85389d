#!/usr/bin/env python3
"""Load-independent measures of pingate (issue 11): instructions per webhook
under callgrind, and peak memory (VmHWM) by phase.

Unlike bench/run.py (wall-clock, wants an idle machine), these figures do
not move with the machine's load, so they compare builds on a shared one.
Uses bench/run.py's set-up (same configuration, org and agent) and signs
webhooks itself (Twilio's HMAC-SHA1 over the URL and sorted parameters),
so it needs only the release build and Python.

    bench/probe.py memory [--webhooks 2000] [--callers 20000] [--challenges 40] [--checks 200]
    bench/probe.py callgrind [--webhooks 2000] [--warmup 200] [--conns 8]
    bench/probe.py statements [--webhooks 2000] [--warmup 200] [--conns 8] [--checks 200]
    bench/probe.py handoffs [--webhooks 2000] [--conns 8] [--challenges 40] [--checks 200]

`memory` prints VmRSS and VmHWM after start, after the webhooks (one
caller, as in bench/run.py), after webhooks from `--callers` distinct
random numbers (every country code, valid or not: each region parsed
compiles and runs that region's rules), after
creating challenges (each hashes a PIN) and after wrong-PIN checks (each
verifies one), with the page faults and CPU time per request of each
phase (CPU time moves with the machine's load; faults do not). `callgrind` runs the server under valgrind, zeroes the
counters after the warm-up, drives the distinct signed webhooks, dumps, and
prints instructions per webhook (every thread counted: workers, writer,
outbox) with the top functions by inclusive and self cost. `statements`
counts the SQL statements per webhook from sqlx's statement log (one line
per round trip to a connection; on SQLite BEGIN and COMMIT are not logged
and come once per group), first from one connection (every group holds
one webhook), then from `--conns`, with the mean group size; then the
same per wrong-PIN check. `handoffs` prints, per webhook and per
wrong-PIN check, each kind of thread's context switches (voluntary: it
waited for another thread; involuntary: a woken thread took its core)
and CPU time, from /proc: every statement on SQLite is a hand-off to the
connection's own thread and back, and on a VM each switch costs more
than most statements do. The switch counts move little with the
machine's load, so they compare builds where wall-clock figures do not.
"""

import argparse
import base64
import hashlib
import hmac
import http.client
import json
import os
import random
import re
import subprocess
import sys
import threading
import time
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run as bench  # noqa: E402  (bench/run.py: the benchmark's set-up)

PARAMS = {
    "AccountSid": bench.ACCOUNT_SID,
    "To": "+18005550100",
    "CallStatus": "ringing",
    "Direction": "inbound",
    "StirVerstat": "TN-Validation-Passed-A",
}


def signature(url, params):
    data = url + "".join(k + params[k] for k in sorted(params))
    mac = hmac.new(bench.AUTH_TOKEN.encode(), data.encode(), hashlib.sha1).digest()
    return base64.b64encode(mac).decode()


class Client:
    """One keep-alive connection to the target."""

    def __init__(self, target):
        self.target = target
        self.conn = http.client.HTTPConnection("127.0.0.1", target.port, timeout=600)

    def request(self, method, path, body=None, headers=None):
        self.conn.request(method, path, body=body, headers=headers or {})
        resp = self.conn.getresponse()
        data = resp.read()
        if resp.status >= 300:
            sys.exit(f"{method} {path}: {resp.status} {data[:300]!r}")
        return data

    def voice(self, sid, caller="+14155550100"):
        params = dict(PARAMS, CallSid=sid, From=caller)
        url = self.target.base + "/webhooks/twilio/voice"
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": signature(url, params),
        }
        return self.request("POST", "/webhooks/twilio/voice", urllib.parse.urlencode(params), headers)

    def api(self, method, path, body=None):
        headers = {"Authorization": f"Bearer {self.target.agent_token}", "Content-Type": "application/json"}
        return json.loads(self.request(method, path, body and json.dumps(body), headers) or "null")


_serial = iter(range(1, 1 << 40))


def webhooks(target, count, conns, callers=None):
    """`count` distinct voice webhooks (new calls) from `conns` connections,
    from the benchmark's caller or, with `callers`, each from the next."""
    sids = [f"CA{next(_serial):032x}" for _ in range(count)]
    froms = callers or ["+14155550100"] * count

    def drive(part):
        c = Client(target)
        for sid, caller in part:
            c.voice(sid, caller)

    pairs = list(zip(sids, froms))
    threads = [threading.Thread(target=drive, args=(pairs[i::conns],)) for i in range(conns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def random_callers(count, seed=11):
    """`count` numbers of 5 to 17 random digits after `+` (a fixed seed, so
    runs compare)."""
    rng = random.Random(seed)
    return ["+" + "".join(rng.choice("0123456789") for _ in range(rng.randint(5, 17)))
            for _ in range(count)]


def challenges(target, count):
    """`count` pending email challenges, each on its own call."""
    c, ids = Client(target), []
    for _ in range(count):
        n = next(_serial)
        sid = f"CA{n:032x}"
        c.voice(sid, caller="+1415" + str(6000000 + n % 1000000).zfill(7))
        call = c.api("GET", f"/v1/calls?provider_call_id={sid}")["items"][0]["call_id"]
        c.api("POST", f"/v1/calls/{call}/org", {"org_id": "contoso"})
        ids.append(c.api("POST", f"/v1/calls/{call}/challenges", {"channel": "email"})["challenge_id"])
    return ids


def checks(target, ids, count, conns=2):
    """`count` wrong-PIN checks spread over `ids`, below each one's budget."""
    per = max(1, min(bench.ATTEMPTS - 1, -(-count // len(ids))))
    work = [i for i in ids for _ in range(per)][:count]

    def drive(part):
        c = Client(target)
        for cid in part:
            c.api("POST", f"/v1/challenges/{cid}/check", {"pin": "000000"})

    threads = [threading.Thread(target=drive, args=(work[i::conns],)) for i in range(conns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


_last = {}


def status(target, phase, count=None):
    """Memory now, and the page faults and CPU time since the last phase
    (per request when `count` is given): first touches of fresh memory
    are page faults, which callgrind does not see."""
    rss, hwm = bench.rss_mib(target.proc.pid)
    fields = Path(f"/proc/{target.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
    faults, cpu = int(fields[7]), (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    was = _last.get(target.proc.pid, (0, 0.0))
    _last[target.proc.pid] = (faults, cpu)
    per = f"   {(faults - was[0]) / count:8.0f} faults, {(cpu - was[1]) * 1000 / count:6.2f} ms CPU each" if count else ""
    print(f"{phase:<34} VmRSS {rss:7.1f} MiB   VmHWM {hwm:7.1f} MiB{per}", flush=True)


def memory(a):
    t = bench.Pingate("probe-memory", "sqlite://data/pingate.db")
    t.serve()
    status(t, "ready")
    webhooks(t, a.webhooks, a.conns)
    status(t, f"after {a.webhooks} webhooks @{a.conns}", a.webhooks)
    webhooks(t, a.callers, a.conns, random_callers(a.callers))
    status(t, f"after {a.callers} distinct callers @{a.conns}", a.callers)
    ids = challenges(t, a.challenges)
    status(t, f"after {a.challenges} challenges", a.challenges)
    checks(t, ids, a.checks)
    status(t, f"after {a.checks} wrong-PIN checks", a.checks)


def callgrind(a):
    t = bench.Pingate("probe-callgrind", "sqlite://data/pingate.db")
    out = t.dir / "callgrind.out"
    cmd = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
           str(bench.BIN), "--config", "pingate.toml", "serve"]
    log = open(t.dir / "serve.log", "w")
    started = time.monotonic()
    t.proc = subprocess.Popen(cmd, cwd=t.dir, env=t.env(), stdout=log, stderr=log)
    bench._started.append(t)
    bench.wait_ready(t.base + "/readyz", t.proc, timeout=300)
    print(f"ready under callgrind in {time.monotonic() - started:.1f} s", flush=True)
    webhooks(t, a.warmup, a.conns)
    pid = str(t.proc.pid)
    run = lambda *args: subprocess.run(["callgrind_control", *args, pid], check=True, capture_output=True)
    run("-z")
    webhooks(t, a.webhooks, a.conns)
    run("-d")
    t.stop()
    dumps = sorted(t.dir.glob("callgrind.out*"), key=lambda p: p.stat().st_mtime)
    dump = next(p for p in reversed(dumps) if p.name != "callgrind.out") if len(dumps) > 1 else dumps[-1]
    report(dump, a.webhooks, a.top)


def statements(a):
    t = bench.Pingate("probe-statements", "sqlite://data/pingate.db")
    log_path = t.dir / "serve.log"
    env = dict(t.env(), PINGATE_LOG="info,sqlx::query=debug")
    t.start([str(bench.BIN), "--config", "pingate.toml", "serve"], t.dir, env, open(log_path, "w"))
    webhooks(t, a.warmup, a.conns)
    for conns in (1, a.conns):
        logged(t, log_path, f"{a.webhooks} webhooks from {conns} connection(s)", "webhook",
               a.webhooks, lambda: webhooks(t, a.webhooks, conns))
    ids = challenges(t, a.challenges)
    logged(t, log_path, f"{a.checks} wrong-PIN checks from 2 connections", "check",
           a.checks, lambda: checks(t, ids, a.checks))


def logged(t, log_path, what, each, count, drive):
    """Runs `drive` and prints the SQL statements logged meanwhile, per
    request, with the writer's groups."""
    time.sleep(1)  # let the checkpointer catch up with what came before
    seen, groups = log_path.stat().st_size, group_sizes(t)
    drive()
    after = group_sizes(t)
    with open(log_path) as f:
        f.seek(seen)
        counts = {}
        for line in f:
            if '"sqlx::query"' not in line:
                continue
            summary = json.loads(line).get("summary", "?")
            counts[summary] = counts.get(summary, 0) + 1
    n_groups, members = after[0] - groups[0], after[1] - groups[1]
    print(f"\n{what}: {n_groups} groups, "
          f"{members / max(n_groups, 1):.2f} members a group (incl. background writes)")
    print(f"  {sum(counts.values()) / count:6.2f}  logged statements per {each}, of which:")
    for summary, c in sorted(counts.items(), key=lambda kv: -kv[1]):
        print(f"  {c / count:6.2f}  {summary[:100]}")
    print(f"  {2 * n_groups / count:6.2f}  BEGIN + COMMIT (not logged), per {each}")


def thread_counts(pid):
    """Per kind of thread (its name without the number): CPU seconds and
    voluntary and involuntary context switches so far."""
    tick = os.sysconf("SC_CLK_TCK")
    kinds = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            stat = (task / "stat").read_text()
            status = (task / "status").read_text()
        except OSError:
            continue  # the thread ended
        name = stat[stat.index("(") + 1:stat.rindex(")")].rstrip("0123456789-")
        fields = stat[stat.rindex(")") + 2:].split()
        switches = dict(l.split(":") for l in status.splitlines() if "ctxt_switches" in l)
        k = kinds.setdefault(name, [0.0, 0, 0])
        k[0] += (int(fields[11]) + int(fields[12])) / tick
        k[1] += int(switches["voluntary_ctxt_switches"])
        k[2] += int(switches["nonvoluntary_ctxt_switches"])
    return kinds


def handoffs(a):
    t = bench.Pingate("probe-handoffs", "sqlite://data/pingate.db")
    t.serve()
    webhooks(t, a.warmup, a.conns)
    measured(t, f"per webhook, {a.webhooks} from {a.conns} connections", a.webhooks,
             lambda: webhooks(t, a.webhooks, a.conns))
    ids = challenges(t, a.challenges)
    measured(t, f"per wrong-PIN check, {a.checks} from 8 connections", a.checks,
             lambda: checks(t, ids, a.checks, conns=8))


def measured(t, what, count, drive):
    before = thread_counts(t.proc.pid)
    drive()
    after = thread_counts(t.proc.pid)
    rows = []
    for name, (cpu, vol, invol) in after.items():
        was = before.get(name, [0.0, 0, 0])
        rows.append((name, (vol - was[1]) / count, (invol - was[2]) / count, (cpu - was[0]) * 1000 / count))
    rows.sort(key=lambda r: -(r[1] + r[2]))
    print(f"\n{what}:")
    print(f"  {'thread':<22} {'voluntary':>10} {'involuntary':>12} {'CPU ms':>8}")
    for name, vol, invol, cpu in rows:
        if vol + invol >= 0.01 or cpu >= 0.01:
            print(f"  {name:<22} {vol:>10.2f} {invol:>12.2f} {cpu:>8.3f}")
    total = lambda i: sum(r[i] for r in rows)
    print(f"  {'all':<22} {total(1):>10.2f} {total(2):>12.2f} {total(3):>8.3f}")


def group_sizes(target):
    """(groups, members) so far, from the writer's histogram in /metrics."""
    c = http.client.HTTPConnection("127.0.0.1", target.port, timeout=60)
    c.request("GET", "/metrics")
    text = c.getresponse().read().decode()
    value = lambda name: sum(float(l.split()[-1]) for l in text.splitlines() if l.startswith(name))
    return value("pingate_group_commit_size_count"), value("pingate_group_commit_size_sum")


def report(dump, count, top):
    """Instructions per webhook; the top functions by self cost (the pieces
    inlined from other files summed back into their function) and pingate's
    own functions by inclusive cost."""
    for inclusive in (False, True):
        args = ["callgrind_annotate", "--threshold=100", "--auto=no", f"--inclusive={'yes' if inclusive else 'no'}", str(dump)]
        lines = subprocess.run(args, check=True, capture_output=True, text=True).stdout.splitlines()
        costs = {}
        for line in lines:
            m = re.match(r"^\s*([0-9,]+) \([ 0-9.]+%\)\s+(.*)$", line)
            if not m:
                continue
            where = re.sub(r" \[[^]]*\]$", "", m.group(2))
            name = where.split(":", 1)[1] if ":" in where.split(" ", 1)[0] else where
            ir = int(m.group(1).replace(",", ""))
            costs[name] = max(costs.get(name, 0), ir) if inclusive else costs.get(name, 0) + ir
        total = costs.pop("PROGRAM TOTALS")
        if not inclusive:
            print(f"{dump.name}: {total:,} instructions for {count} webhooks = {total / count:,.0f} per webhook")
            # Zeroing the counters while threads sit in their outer frames
            # leaves callgrind charging those frames nearly everything as
            # self cost; no real function here is a quarter of the total.
            rows = sorted(((k, v) for k, v in costs.items() if v < total / 4), key=lambda kv: -kv[1])[:top]
            print(f"\ntop {top} by self cost (instructions per webhook):")
        else:
            rows = sorted(((k, v) for k, v in costs.items() if k.startswith("pingate::")), key=lambda kv: -kv[1])[:top]
            print(f"\npingate's top {top} by inclusive cost (instructions per webhook):")
        for name, ir in rows:
            print(f"  {ir / count:>10,.0f}  {name[:120]}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    modes = {"memory": memory, "callgrind": callgrind, "statements": statements, "handoffs": handoffs}
    ap.add_argument("mode", choices=modes)
    ap.add_argument("--webhooks", type=int, default=2000)
    ap.add_argument("--warmup", type=int, default=200)
    ap.add_argument("--conns", type=int, default=8)
    ap.add_argument("--callers", type=int, default=20000)
    ap.add_argument("--challenges", type=int, default=40)
    ap.add_argument("--checks", type=int, default=200)
    ap.add_argument("--top", type=int, default=25)
    ap.add_argument("--bin", type=Path, default=bench.BIN, help="the pingate binary (to compare builds)")
    a = ap.parse_args()
    bench.BIN = a.bin.resolve()
    bench.WORK.mkdir(parents=True, exist_ok=True)
    if not bench.BIN.exists():
        sys.exit(f"{bench.BIN}: build it first (cargo build --release --bin pingate)")
    try:
        modes[a.mode](a)
    finally:
        for t in bench._started:
            t.stop()


if __name__ == "__main__":
    main()
