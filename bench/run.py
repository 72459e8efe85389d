#!/usr/bin/env python3
"""pingate's benchmark, side by side with the peer (issue 11).

Builds release, then in one run drives (a) pingate on SQLite, (b) pingate
on PostgreSQL when --postgres URL is given, and (c) the peer: Express and
the twilio package's webhook() validation, no database (bench/peer/).
Every target gets the same distinct webhooks, pre-signed with the twilio
SDK, at 1, 32 and 128 connections (wrk); then, on pingate, PIN checks
alone and PIN checks together with webhooks, from one connection both
back to back and at a steady rate (one every PACE_MS), each compared with
the same webhooks idle. Prints one table.

    bench/run.py [--postgres postgres://postgres@127.0.0.1:5432/test] [--seconds 10]

Needs cargo, node + npm (the peer's packages install from
bench/peer/package-lock.json) and wrk. Nothing in pingate is special-cased:
each webhook is a new call stored with its audit event before the answer,
and the flood shields and quotas are raised by configuration only.
"""

import argparse
import base64
import json
import math
import os
import secrets
import shutil
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
PEER = BENCH / "peer"
WORK = ROOT / "target" / "bench"
BIN = ROOT / "target" / "release" / "pingate"
AUTH_TOKEN = "bench-" + secrets.token_hex(16)
ACCOUNT_SID = "AC0123456789abcdef0123456789abcdef"
CONNECTIONS = (1, 32, 128)
ATTEMPTS = 10  # pin.max_attempts: wrong checks each challenge can take
CHECK_CONNS = 8
# Webhooks beside PIN checks arrive at a steady rate from one connection
# (one every PACE_MS, so at most 1000 / PACE_MS a second), measured idle at
# the same rate: the comparison is then the latency a call sees while
# hashing runs, not how much CPU a back-to-back stream takes from it.
PACE_MS = 5

ORG = """
[[org]]
id = "contoso"
name = "Contoso Ltd"
account_number = "40012345"
registered_numbers = ["+14155550100"]
channels = ["email"]
[org.contacts]
email = "it-admin@contoso.example"
"""

# Quotas and flood shields out of the benchmark's way, by configuration.
LIMITS = """
[limits]
challenges_per_caller = 100000
challenges_per_org = 100000
challenges_per_agent = 100000
orgs_per_agent = 100000
sends_per_destination = 100000
checks_per_agent = 10000000
checks_per_caller = 100000
checks_per_org = 10000000
failures_per_caller = 100
webhook_signed_per_second = 10000000
webhook_signed_burst = 10000000
api_per_second = 10000000
api_burst = 10000000
"""


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, text=True, **kw)


def free_port():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(url, proc, timeout=30.0):
    """Polls url until it answers 200; returns seconds since `proc` started."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"{url}: the server exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=1) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.002)
    sys.exit(f"{url}: not ready within {timeout}s")


def rss_mib(pid):
    """(current, peak) resident set size in MiB."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        fields[key] = value.strip()
    kib = lambda k: int(fields.get(k, "0 kB").split()[0]) / 1024
    return kib("VmRSS"), kib("VmHWM")


_started = []


class Target:
    """A server under load: pingate on one engine, or the peer."""

    def __init__(self, name, port):
        self.name, self.port = name, port
        self.base = f"http://127.0.0.1:{port}"
        self.proc = None
        self.ready_ms = None
        self.answered = 0  # webhooks answered 2xx

    def count(self, r):
        self.answered += r["requests"] - r["non2xx"] - r["socket_errors"]
        return r

    def start(self, cmd, cwd, env, log):
        started = time.monotonic()
        self.proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=log, stderr=log)
        _started.append(self)
        wait_ready(self.base + "/readyz", self.proc)
        self.ready_ms = (time.monotonic() - started) * 1000

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()


class Pingate(Target):
    # `--hash-nice N` compares the hashing threads' priority (pin.hash_nice);
    # unset, pingate's default applies.
    hash_nice = None

    def __init__(self, name, database_url):
        super().__init__(name, free_port())
        self.dir = WORK / name
        shutil.rmtree(self.dir, ignore_errors=True)
        self.dir.mkdir(parents=True)
        self.database_url = database_url
        shared = ""
        if database_url.startswith("postgres"):
            key = base64.b64encode(secrets.token_bytes(32)).decode()
            shared = f'[security]\npepper = "{secrets.token_hex(32)}"\n[audit]\nsigning_key = "{key}"\n'
        (self.dir / "pingate.toml").write_text(
            f"""
[server]
listen = "127.0.0.1:{self.port}"
public_base_url = "{self.base}"
data_dir = "data"
[database]
url = "{database_url}"
[twilio]
account_sid = "{ACCOUNT_SID}"
auth_token = "{AUTH_TOKEN}"
[pin]
max_attempts = {ATTEMPTS}
# One benchmark agent sets up and checks every PIN: its share of the
# hashing queue is raised like the flood shields (configuration only).
hash_per_principal = 100000
hash_queue = 100000
{"" if self.hash_nice is None else f"hash_nice = {self.hash_nice}"}
{LIMITS}
{shared}"""
        )
        (self.dir / "contoso.toml").write_text(ORG)
        self.cli("org", "import", "contoso.toml")
        self.agent_token = self.cli("agent", "add", "bench", "--role", "agent").strip()

    def env(self):
        env = {k: v for k, v in os.environ.items() if not k.startswith("PINGATE")}
        return env

    def cli(self, *args):
        cmd = [str(BIN), "--config", "pingate.toml", *args]
        return run(cmd, cwd=self.dir, env=self.env(), capture_output=True).stdout

    def serve(self):
        log = open(self.dir / "serve.log", "w")
        self.start([str(BIN), "--config", "pingate.toml", "serve"], self.dir, self.env(), log)

    def stored(self):
        """(calls, call_received events) in the database."""
        q_calls = "SELECT COUNT(*) FROM calls"
        q_events = "SELECT COUNT(*) FROM audit_events WHERE kind = 'call_received'"
        if self.database_url.startswith("sqlite"):
            db = sqlite3.connect(f"file:{self.dir / 'data' / 'pingate.db'}?mode=ro", uri=True)
            try:
                return tuple(db.execute(q).fetchone()[0] for q in (q_calls, q_events))
            finally:
                db.close()
        out = lambda q: int(run(["psql", self.database_url, "-tAc", q], capture_output=True).stdout)
        return out(q_calls), out(q_events)


class Peer(Target):
    def __init__(self):
        super().__init__("peer (Express + twilio)", free_port())

    def serve(self):
        env = dict(os.environ, PORT=str(self.port), TWILIO_AUTH_TOKEN=AUTH_TOKEN)
        log = open(WORK / "peer.log", "w")
        self.start(["node", "server.js"], PEER, env, log)


def summary(target, name):
    """(sum, count) of a summary on pingate's /metrics so far."""
    with urllib.request.urlopen(target.base + "/metrics", timeout=5) as r:
        text = r.read().decode()
    found = {}
    for line in text.splitlines():
        for suffix in ("_sum", "_count"):
            if line.startswith(name + suffix):
                found[suffix] = float(line.split()[-1])
    return found.get("_sum", 0.0), found.get("_count", 0.0)


def group_commits(target):
    """(writes, groups) pingate's writer has committed so far, and (calls,
    batches) of the voice webhook's inserts: a batch of calls is one write."""
    return (*summary(target, "pingate_group_commit_size"),
            *summary(target, "pingate_call_batch_size"))


def sign(target, count, prefix):
    """A file of `count` distinct pre-signed voice webhooks for `target`."""
    path = WORK / f"signed-{prefix}.txt"
    url = target.base + "/webhooks/twilio/voice"
    with open(path, "w") as out:
        run(["node", "sign.js", url, AUTH_TOKEN, str(count), prefix], cwd=PEER, stdout=out)
    return path


def cpu_times():
    """(busy, total) jiffies of the whole machine so far, from /proc/stat."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle and iowait
    return sum(fields) - idle, sum(fields)


def wrk(target, script, conns, seconds, args):
    """Starts wrk; `args(threads)` are the script's arguments."""
    threads = min(conns, 2)
    cmd = [
        "wrk", f"-t{threads}", f"-c{conns}", f"-d{seconds}s", "--latency",
        "-s", str(BENCH / script), target.base, "--", *args(threads),
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    proc.cpu_at_start = cpu_times()
    return proc


def result(proc):
    out, err = proc.communicate()
    (busy0, total0), (busy1, total1) = proc.cpu_at_start, cpu_times()
    # The whole machine's share of busy CPU during the run (the load
    # generator's included): well below 100 % means the server waited on
    # something other than the CPU.
    cpu = (busy1 - busy0) / max(total1 - total0, 1)
    for line in out.splitlines():
        if line.startswith("RESULT "):
            r = json.loads(line[len("RESULT "):])
            # Only answered requests count: a request past the end of the
            # pre-signed webhooks (or refused) is not throughput.
            # (A request past the end goes to /exhausted and is answered
            # 404, so `exhausted` is already within `non2xx`.)
            good = r["requests"] - r.get("non2xx", 0) - r.get("socket_errors", 0)
            r["rate"] = good / (r["duration_us"] / 1e6)
            r["cpu"] = cpu
            return r
    sys.exit(f"wrk gave no result:\n{out}\n{err}")


_prefixes = iter(range(0x1000, 0xFFFF))


def webhooks(target, conns, seconds, path=None, pace_ms=0):
    """Starts wrk on fresh distinct signed webhooks; returns the process."""
    path = path or presign(target, conns, seconds)
    return wrk(target, "webhooks.lua", conns, seconds,
               lambda t: ["/webhooks/twilio/voice", str(path), str(t), str(pace_ms)])


def presign(target, conns, seconds):
    # Enough distinct calls for the fastest target (the peer passed 4,000/s
    # from one connection): running out is counted as an error, never replayed.
    per_second = 12000 if conns == 1 else 25000
    return sign(target, per_second * seconds, f"{next(_prefixes):04x}")


def checks(target, ids_file, seconds):
    return wrk(target, "checks.lua", CHECK_CONNS, seconds,
               lambda t: [str(ids_file), str(t), str(ATTEMPTS), target.agent_token])


def challenges(target, count, offset, name):
    path = WORK / f"{target.name}-{name}.txt"
    with open(path, "w") as out:
        run(["node", "setup_checks.js", target.base, AUTH_TOKEN, target.agent_token,
             str(count), str(offset)], cwd=PEER, stdout=out)
    return path


def ms(us):
    return f"{us / 1000:.2f}"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--postgres", help="a PostgreSQL server URL; the database pingate_bench is (re)created on it")
    ap.add_argument("--seconds", type=int, default=10, help="length of each load step")
    ap.add_argument("--skip-build", action="store_true")
    ap.add_argument("--hash-nice", type=int, help="pin.hash_nice for pingate (default: pingate's own)")
    ap.add_argument("--webhooks-only", action="store_true",
                    help="skip the PIN-check steps (a quick look at webhook intake)")
    a = ap.parse_args()
    Pingate.hash_nice = a.hash_nice
    WORK.mkdir(parents=True, exist_ok=True)
    if not a.skip_build:
        run(["cargo", "build", "--release", "--bin", "pingate", "--example", "argon2_rate"], cwd=ROOT)
    if not (PEER / "node_modules").is_dir():
        run(["npm", "ci", "--no-audit", "--no-fund"], cwd=PEER)
    cores = os.cpu_count()
    argon2_rate = lambda threads: float(run(
        [str(ROOT / "target/release/examples/argon2_rate"), "3", str(threads)],
        capture_output=True).stdout)
    rate = argon2_rate(1)
    # Every core at once: on a VM below the one-core rate when its cores
    # share hardware. Reported beside the ceiling, which stays cores x rate.
    rate_all = argon2_rate(cores)
    ceiling = cores * rate

    targets = [Pingate("pingate-sqlite", "sqlite://data/pingate.db")]
    if a.postgres:
        admin = a.postgres
        run(["psql", admin, "-qc", "DROP DATABASE IF EXISTS pingate_bench"], capture_output=True)
        run(["psql", admin, "-qc", "CREATE DATABASE pingate_bench"], capture_output=True)
        targets.append(Pingate("pingate-postgres", admin.rsplit("/", 1)[0] + "/pingate_bench"))
    peer = Peer()
    rows, extra = [], []
    hooks = {}
    for t in [peer, *targets]:
        t.serve()
        for conns in CONNECTIONS:
            before = group_commits(t) if isinstance(t, Pingate) else None
            hooks[(t.name, conns)] = t.count(result(webhooks(t, conns, a.seconds)))
            if before:
                members, groups, calls, batches = (x - y for x, y in zip(group_commits(t), before))
                extra.append(f"{t.name} webhooks @{conns}: {groups:.0f} group commits, "
                             f"{members / max(groups, 1):.1f} writes a group on average; "
                             f"{batches:.0f} call batches, {calls / max(batches, 1):.1f} calls a batch")
        if isinstance(t, Pingate):
            if not a.webhooks_only:
                pin_rows(t, a.seconds, ceiling, hooks, extra)
            calls, events = t.stored()
            setup = 0 if a.webhooks_only else 3 * math.ceil(ceiling * a.seconds * 1.5 / ATTEMPTS)
            extra.append(f"{t.name}: {t.answered} webhooks answered 2xx (+ {setup} set-up calls); "
                         f"{calls} calls stored, {events} call_received events")
        t.rss = rss_mib(t.proc.pid)
        t.stop()
    for t in [peer, *targets]:
        for conns in CONNECTIONS:
            r, p = hooks[(t.name, conns)], hooks[(peer.name, conns)]
            bad = r["non2xx"] + r["socket_errors"]
            rows.append((t.name, f"webhooks @{conns}", f"{r['rate']:.0f}", ms(r["p50_us"]),
                         ms(r["p99_us"]), f"{r['rate'] / p['rate']:.2f}x", str(bad),
                         f"{r['cpu']:.0%}", f"{t.rss[1]:.0f}", f"{t.ready_ms:.0f}"))
    rows.extend(extra_rows(targets))
    print_table(rows)
    print(f"\nargon2id verify, one core: {rate:.1f}/s; ceiling {cores} cores x {rate:.1f} = {ceiling:.1f}/s; "
          f"with all {cores} cores hashing at once {rate_all:.1f}/s a core ({cores * rate_all:.1f}/s)")
    for line in extra:
        print(line)


_pin_rows = []


def pin_rows(t, seconds, ceiling, hooks, extra):
    need = math.ceil(ceiling * seconds * 1.5 / ATTEMPTS)
    alone_ids = challenges(t, need, 0, "alone")
    both_ids = challenges(t, need, need, "both")
    paced_ids = challenges(t, need, 2 * need, "paced")
    alone = result(checks(t, alone_ids, seconds))
    idle = t.count(result(webhooks(t, 1, seconds)))
    signed = presign(t, 1, seconds)
    c, w = checks(t, both_ids, seconds), webhooks(t, 1, seconds, signed)
    both_checks, both_hooks = result(c), t.count(result(w))
    paced_idle = t.count(result(webhooks(t, 1, seconds, pace_ms=PACE_MS)))
    signed = presign(t, 1, seconds)
    c, w = checks(t, paced_ids, seconds), webhooks(t, 1, seconds, signed, pace_ms=PACE_MS)
    paced_checks, paced_hooks = result(c), t.count(result(w))
    _pin_rows.append((t, ceiling, [
        ("PIN checks alone @%d" % CHECK_CONNS, alone, None),
        ("webhooks @1, idle", idle, None),
        ("PIN checks @%d + webhooks @1" % CHECK_CONNS, both_checks, None),
        ("webhooks @1 + PIN checks", both_hooks, idle),
        ("webhooks @1 every %d ms, idle" % PACE_MS, paced_idle, None),
        ("PIN checks @%d + webhooks every %d ms" % (CHECK_CONNS, PACE_MS), paced_checks, None),
        ("webhooks every %d ms + PIN checks" % PACE_MS, paced_hooks, paced_idle),
    ]))


def extra_rows(targets):
    rows = []
    bad = lambda r: str(r["non2xx"] + r["socket_errors"])
    for t, ceiling, phases in _pin_rows:
        rss, ready = f"{t.rss[1]:.0f}", f"{t.ready_ms:.0f}"
        for name, r, idle in phases:
            if name.startswith("PIN checks"):
                rate, ratio = f"{r['rate']:.1f}", f"{r['rate'] / ceiling:.0%} of argon2"
            else:
                rate = f"{r['rate']:.0f}"
                ratio = f"p99 {r['p99_us'] / max(idle['p99_us'], 1):.2f}x idle" if idle else ""
            rows.append((t.name, name, rate, ms(r["p50_us"]), ms(r["p99_us"]), ratio, bad(r),
                         f"{r['cpu']:.0%}", rss, ready))
    return rows


def print_table(rows):
    head = ("target", "load", "req/s", "p50 ms", "p99 ms", "ratio", "errors", "CPU busy",
            "peak RSS MiB", "ready ms")
    widths = [max(len(str(r[i])) for r in [head, *rows]) for i in range(len(head))]
    line = lambda r: "| " + " | ".join(str(c).ljust(w) for c, w in zip(r, widths)) + " |"
    print(line(head))
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for r in rows:
        print(line(r))


if __name__ == "__main__":
    try:
        main()
    finally:
        for t in _started:
            t.stop()
        for f in WORK.glob("signed-*.txt"):
            f.unlink()
