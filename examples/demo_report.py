#!/usr/bin/env python3
"""demo_report.py - the summary of a `make demo` run (examples/demo.sh).

Reads what the run's programs reported, in the run's directory: wrk's
--latency output per phase (wrk-NAME.txt, phases.tsv for when each ran),
`rfm top --json` samples (samples/MS.json), rfd's journal (journal.json:
the policy's moves), rfbatch's own report (batch.log) and the RFloop
counters each nginx process wrote at exit (web/rfloop.stats).  Prints the
summary table, writes results/demo.json (the same, for scripts and the
integration test), results/demo-cores.csv, results/demo-phases.csv and,
with gnuplot, results/demo-cores.png and results/demo-p99.png.

Why a separate program: parsing several formats and drawing is clearer
here than in the shell driver.  Nothing is assumed: a number that was not
reported is shown as missing.  Exit status 1 when a part of the demo did
not run (a phase without a successful request); a missed latency target
is only reported.

    demo_report.py RUN_DIR RESULTS_DIR
"""
import json
import os
import re
import subprocess
import sys

UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3, "h": 3600e3}


def ms_of(text):
    """wrk's '1.23ms' / '850.00us' / '2.01s' in milliseconds."""
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text.strip())
    return float(m.group(1)) * UNITS[m.group(2)] if m else None


def parse_wrk(path):
    """Requests, errors and latency percentiles from wrk --latency."""
    out = {"requests": 0, "non2xx": 0, "socket_errors": 0, "p50_ms": None, "p99_ms": None,
           "rps": None}
    try:
        text = open(path).read()
    except OSError:
        return out
    m = re.search(r"(\d+) requests in ([\d.]+\w+)", text)
    if m:
        out["requests"] = int(m.group(1))
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    if m:
        out["non2xx"] = int(m.group(1))
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    if m:
        out["socket_errors"] = sum(int(x) for x in m.groups())
    for pct, key in (("50", "p50_ms"), ("99", "p99_ms")):
        m = re.search(r"^\s+%s%%\s+(\S+)" % pct, text, re.M)
        if m:
            out[key] = ms_of(m.group(1))
    m = re.search(r"Requests/sec:\s+([\d.]+)", text)
    if m:
        out["rps"] = float(m.group(1))
    out["ok"] = max(0, out["requests"] - out["non2xx"])
    return out


def read_phases(run):
    phases = []
    with open(os.path.join(run, "phases.tsv")) as f:
        for line in f:
            parts = line.split()
            if len(parts) < 5:
                continue
            name, start, conns, pause, end = parts[:5]
            ph = {"name": name, "start_ms": int(start), "end_ms": int(end),
                  "connections": int(conns), "pause_ms": int(pause)}
            ph.update(parse_wrk(os.path.join(run, "wrk-%s.txt" % name)))
            phases.append(ph)
    return phases


def read_samples(run):
    """[(ms, {name: row})] in time order, from `rfm top --json`."""
    d = os.path.join(run, "samples")
    out = []
    for fn in sorted(os.listdir(d) if os.path.isdir(d) else []):
        try:
            v = json.load(open(os.path.join(d, fn)))
        except (OSError, ValueError):
            continue  # a sample cut short when the sampler was stopped
        if not v.get("subos"):
            continue  # ditto: rfm interrupted before its view
        out.append((int(fn.split(".")[0]), {r["name"]: r for r in v.get("subos", [])}))
    return out


def read_moves(run):
    try:
        entries = json.load(open(os.path.join(run, "journal.json"))).get("entries", [])
    except (OSError, ValueError):
        return []
    return [e for e in entries if e.get("op") == "policy"]


def read_batch(run):
    """rfbatch's own report: total chunks, seconds, per-core lines."""
    out = {"chunks": None, "seconds": None, "lines": []}
    try:
        lines = open(os.path.join(run, "batch.log")).read().splitlines()
    except OSError:
        return out
    for line in lines:
        m = re.match(r"rfbatch: total (\d+) chunks in ([\d.]+) s", line)
        if m:
            out["chunks"], out["seconds"] = int(m.group(1)), float(m.group(2))
        elif line.startswith("rfbatch: core"):
            out["lines"].append(line[len("rfbatch: "):])
    return out


def read_transport(run):
    """Which transport carried nginx's connections to the KV service."""
    rf = tcp = procs = 0
    try:
        lines = open(os.path.join(run, "web", "rfloop.stats")).read().splitlines()
    except OSError:
        lines = []
    for line in lines:
        kv = dict(p.split("=", 1) for p in line.split() if "=" in p)
        if kv.get("comm") != "nginx":
            continue
        procs += 1
        rf += int(kv.get("connect_rfloop", 0))
        tcp += int(kv.get("connect_tcp", 0))
    if not procs:
        name = "unknown (no nginx process reported RFloop counters)"
    elif rf and not tcp:
        name = "RFloop (shared memory)"
    elif tcp and not rf:
        name = "kernel TCP (RFloop fell back: RF_LOOP_DEBUG=1 in web's env says why)"
    elif rf and tcp:
        name = "both: %d RFloop, %d kernel TCP connections" % (rf, tcp)
    else:
        name = "none (nginx opened no connection)"
    try:  # the kernel's established connections to the KV port, mid-peak
        kernel = len(open(os.path.join(run, "ss-peak.txt")).read().splitlines())
    except OSError:
        kernel = None
    return {"connect_rfloop": rf, "connect_tcp": tcp, "nginx_processes": procs,
            "kernel_tcp_conns_mid_peak": kernel, "transport": name}


def cores_series(samples, t0):
    """Rows of (seconds since t0, {name: ncores}, kv's request p99 and
    queueing p99 in ms, each None when the sample has none)."""
    rows = []
    for ms, subs in samples:
        cores = {n: r.get("ncores", 0) for n, r in subs.items()}
        kv = subs.get("kv", {})
        p99, wait = kv.get("p99_ns"), kv.get("wait_p99_ns")
        rows.append(((ms - t0) / 1e3, cores, p99 / 1e6 if p99 else None,
                     wait / 1e6 if wait else None))
    return rows


def phase_cores(rows, ph, t0):
    """Per subOS: min, max and mean cores over the phase's samples."""
    a, b = (ph["start_ms"] - t0) / 1e3, (ph["end_ms"] - t0) / 1e3
    inside = [r for r in rows if a <= r[0] <= b]
    out = {}
    for name in sorted({n for r in inside for n in r[1]}):
        v = [r[1].get(name, 0) for r in inside]
        out[name] = {"min": min(v), "max": max(v), "mean": round(sum(v) / len(v), 2)}
    worst = [max((r[i] for r in inside if r[i] is not None), default=None) for i in (2, 3)]
    return out, worst[0], worst[1], len(inside)


def fmt(v, spec="%.2f"):
    return "-" if v is None else spec % v


def cell(v):
    """A CSV cell: empty when not reported."""
    return "" if v is None else "%.4f" % v


def print_table(phases, moves, batch, transport, nsamples):
    print("%-6s %5s %6s %10s %9s %9s %9s  %s" % ("phase", "secs", "conns", "requests", "ok",
                                                  "req/s", "p99 ms", "cores (min-max, mean)"))
    for ph in phases:
        cores = ", ".join("%s %d-%d (%.1f)" % (n, c["min"], c["max"], c["mean"])
                          for n, c in ph["cores"].items())
        print("%-6s %5.1f %6d %10d %9d %9s %9s  %s" % (
            ph["name"], (ph["end_ms"] - ph["start_ms"]) / 1e3, ph["connections"],
            ph["requests"], ph["ok"], fmt(ph["rps"], "%.0f"), fmt(ph["p99_ms"]),
            cores or "(no sample)"))
        print("%-6s kv (rfm top, worst ~100 ms sample): request p99 %s ms, queueing p99 %s ms"
              % ("", fmt(ph["kv_p99_ms"], "%.3f"), fmt(ph["kv_wait_p99_ms"], "%.4f")))
    print("\ncores-over-time samples: %d (rfm top --json)" % nsamples)
    print("policy moves (journal): %d" % len(moves))
    for m in moves:
        print("  %s  core %s: %s -> %s (%s, p99 %.3f ms over %s windows%s%s)" % (
            m.get("time", "?")[11:23], m.get("core"), m.get("from"), m.get("to"),
            m.get("rule"), m.get("p99_ns", 0) / 1e6, m.get("windows"),
            ", paused " + m["paused"] if m.get("paused") else "",
            ", resumed " + m["resumed"] if m.get("resumed") else ""))
    print("batch work (rfbatch): %s chunks of 16 KiB in %s s" %
          (fmt(batch["chunks"], "%d"), fmt(batch["seconds"])))
    for line in batch["lines"]:
        print("  " + line)
    print("nginx -> kv transport: %s" % transport["transport"])
    print("  RFloop counters of %d nginx processes: %d connects over RFloop, %d over TCP;"
          " kernel TCP connections to kv's port mid-peak: %s" % (
              transport["nginx_processes"], transport["connect_rfloop"],
              transport["connect_tcp"], fmt(transport["kernel_tcp_conns_mid_peak"], "%d")))


def write_csvs(res, rows, phases):
    names = sorted({n for r in rows for n in r[1]})
    with open(os.path.join(res, "demo-cores.csv"), "w") as f:
        f.write("t_s," + ",".join("%s_cores" % n for n in names)
                + ",kv_p99_ms,kv_wait_p99_ms\n")
        for t, cores, p99, wait in rows:
            f.write("%.3f,%s,%s,%s\n" % (t, ",".join(str(cores.get(n, 0)) for n in names),
                                         cell(p99), cell(wait)))
    with open(os.path.join(res, "demo-phases.csv"), "w") as f:
        f.write("phase,start_s,end_s,requests,ok,p50_ms,p99_ms\n")
        for ph in phases:
            f.write("%s,%.3f,%.3f,%d,%d,%s,%s\n" % (
                ph["name"], ph["t_start_s"], ph["t_end_s"], ph["requests"], ph["ok"],
                cell(ph["p50_ms"]), cell(ph["p99_ms"])))
    return names


def plot(res, names, phases):
    """gnuplot: cores per subOS over time (phases marked), p99 per phase."""
    marks = "".join('set arrow from %.3f, graph 0 to %.3f, graph 1 nohead dt 2 lc "gray"\n'
                    'set label "%s" at %.3f, graph 0.95\n'
                    % (p["t_start_s"], p["t_start_s"], p["name"], p["t_start_s"] + 0.1)
                    for p in phases)
    lines = ", ".join("'demo-cores.csv' using 1:%d with steps lw 2 title '%s'" % (i + 2, n)
                      for i, n in enumerate(names))
    cores = ("set terminal pngcairo size 900,420\nset output 'demo-cores.png'\n"
             "set datafile separator ','\nset key autotitle columnhead outside\n"
             "set title 'cores per subOS over time (rfm top, samples every 0.1 s)' noenhanced\n"
             "set xlabel 'seconds'\nset ylabel 'cores'\nset yrange [-0.2:*]\n"
             "set ytics 1\n%splot %s\n" % (marks, lines))
    p99 = ("set terminal pngcairo size 700,420\nset output 'demo-p99.png'\n"
           "set datafile separator ','\nset style fill solid 0.6\nset boxwidth 0.6\n"
           "set title 'HTTP p99 per phase (wrk --latency)'\nset ylabel 'p99, ms'\n"
           "set yrange [0:*]\nset key off\n"
           "plot 'demo-phases.csv' every ::1 using 0:7:xtic(1) with boxes\n")
    for name, script in (("cores", cores), ("p99", p99)):
        path = os.path.join(res, "demo-%s.gp" % name)
        open(path, "w").write(script)
        r = subprocess.run(["gnuplot", path], cwd=res, capture_output=True, text=True)
        if r.returncode:
            print("demo: gnuplot %s: %s" % (path, r.stderr.strip()), file=sys.stderr)


def main():
    run, res = sys.argv[1], sys.argv[2]
    os.makedirs(res, exist_ok=True)
    phases = read_phases(run)
    samples = read_samples(run)
    t0 = phases[0]["start_ms"] if phases else (samples[0][0] if samples else 0)
    rows = cores_series(samples, t0)
    for ph in phases:
        ph["t_start_s"], ph["t_end_s"] = (ph["start_ms"] - t0) / 1e3, (ph["end_ms"] - t0) / 1e3
        ph["cores"], ph["kv_p99_ms"], ph["kv_wait_p99_ms"], ph["samples"] = \
            phase_cores(rows, ph, t0)
    moves, batch, transport = read_moves(run), read_batch(run), read_transport(run)
    print_table(phases, moves, batch, transport, len(rows))
    names = write_csvs(res, rows, phases)
    plot(res, names, phases)
    summary = {"phases": phases, "samples": len(rows), "moves": moves, "batch": batch,
               "transport": transport,
               "series": [{"t_s": t, "cores": c, "kv_p99_ms": p, "kv_wait_p99_ms": w}
                          for t, c, p, w in rows]}
    json.dump(summary, open(os.path.join(res, "demo.json"), "w"), indent=1)
    print("\nwrote %s/demo.json, demo-cores.csv, demo-phases.csv, demo-cores.png, demo-p99.png"
          % res)
    bad = [p["name"] for p in phases if p["ok"] == 0]
    if not phases or bad:
        print("demo: no successful request in phase(s) %s" % (", ".join(bad) or "(none ran)"),
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
