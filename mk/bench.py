#!/usr/bin/env python3
"""bench.py - `make bench`: every rfbench benchmark with its defaults, one
after the other, and one place to read them.

Runs `build/rfbench NAME --json --results DIR` for each NAME of
`rfbench --list` (or those named on the command line), timing each, and
writes DIR/NAME.json (its object), DIR/summary.json (one key per benchmark:
its object, plus `wall_s`, the benchmark's wall time), DIR/report.html (per
benchmark: its targets met or not, its figures as medians with their
spread across runs, its plot) and prints the same tables as plain text.
Nothing here measures: the figures and the target verdicts are rfbench's
(bench/runs.c); this only lays them out.  Exit status 1 if a benchmark
failed (its entry then has `error`), 0 otherwise, met targets or not.
"""
import argparse
import html
import json
import os
import subprocess
import sys
import time


def run_bench(rfbench, name, results, extra):
    """One benchmark: its JSON object (with wall_s), or an error entry."""
    t0 = time.monotonic()
    # The soak is one long run by nature (4 min here); three would triple it.
    runs = ["--runs", "1"] if name == "soak" and "--runs" not in extra else []
    p = subprocess.run([rfbench, name, "--json", "--results", results] + runs + extra,
                       stdout=subprocess.PIPE, text=True)
    wall = round(time.monotonic() - t0, 1)
    try:
        obj = json.loads(p.stdout)
    except ValueError:
        obj = {"bench": name, "error": "no JSON on stdout"}
    if p.returncode != 0 and "error" not in obj:
        obj["error"] = "rfbench exited with status %d" % p.returncode
    obj["wall_s"] = wall
    with open(os.path.join(results, name + ".json"), "w") as f:
        json.dump(obj, f, indent=1)
    return obj


def figures(obj):
    """(name, median, min, max) of every figure that has a spread."""
    spread = obj.get("spread", {})
    out = []
    for path, (lo, hi) in spread.items():
        v = obj
        for k in path.split("."):
            v = v.get(k) if isinstance(v, dict) else None
        out.append((path, v, lo, hi))
    return out


def fmt(v):
    if isinstance(v, float):
        return "%.6g" % v
    return "-" if v is None else str(v)


def rel(med, lo, hi):
    """(max - min) / median, as a percentage; blank where undefined."""
    if not isinstance(med, (int, float)) or med == 0:
        return ""
    return "%.1f%%" % (100.0 * (hi - lo) / abs(med))


def text_table(name, obj):
    lines = ["== %s: %s runs, %s s, targets %s" % (
        name, obj.get("runs", "?"), obj.get("wall_s"),
        "met" if obj.get("targets_met") else "NOT met")]
    if "error" in obj:
        lines.append("   error: %s" % obj["error"])
    for t, met in obj.get("targets", {}).items():
        lines.append("   %-6s %s" % ("met" if met else "MISSED", t))
    lines.append("   %-40s %12s %12s %12s %8s" % ("figure", "median", "min", "max", "spread"))
    for path, med, lo, hi in figures(obj):
        lines.append("   %-40s %12s %12s %12s %8s" % (path, fmt(med), fmt(lo), fmt(hi),
                                                     rel(med, lo, hi)))
    return "\n".join(lines)


def html_section(name, obj, results):
    e = html.escape
    h = ['<h2 id="%s">%s</h2>' % (e(name), e(name)),
         "<p>%s runs (figures: medians), %s s wall time; targets %s</p>" % (
             e(str(obj.get("runs", "?"))), e(str(obj.get("wall_s"))),
             "<b>met</b>" if obj.get("targets_met") else "<b>not met</b>")]
    if "error" in obj:
        h.append('<p class="bad">error: %s</p>' % e(obj["error"]))
    h.append("<table><tr><th>target</th><th>verdict</th></tr>")
    for t, met in obj.get("targets", {}).items():
        h.append('<tr><td>%s</td><td class="%s">%s</td></tr>' % (
            e(t), "ok" if met else "bad", "met" if met else "missed"))
    h.append("</table><table><tr><th>figure</th><th>median</th><th>min</th><th>max</th>"
             "<th>(max-min)/median</th></tr>")
    for path, med, lo, hi in figures(obj):
        h.append("<tr><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>" % (
            e(path), fmt(med), fmt(lo), fmt(hi), rel(med, lo, hi)))
    h.append("</table>")
    if os.path.exists(os.path.join(results, name + ".png")):
        h.append('<p><img src="%s.png" alt="%s latency CDF"></p>' % (e(name), e(name)))
    h.append('<p>raw samples: <a href="%s.csv">%s.csv</a>; JSON: <a href="%s.json">%s.json'
             "</a></p>" % ((e(name),) * 4))
    return "\n".join(h)


STYLE = ("body{font-family:sans-serif;max-width:1000px;margin:auto}"
         "table{border-collapse:collapse;margin:.5em 0}"
         "td,th{border:1px solid #ccc;padding:2px 8px;text-align:right}"
         "td:first-child{text-align:left}.ok{color:green}.bad{color:#b00}")


def main():
    ap = argparse.ArgumentParser(description="run every rfbench benchmark; summary and report")
    ap.add_argument("--build", default="build")
    ap.add_argument("--results", default="results")
    ap.add_argument("names", nargs="*", help="benchmarks (default: rfbench --list)")
    ap.add_argument("--arg", action="append", default=[], help="extra rfbench argument")
    a = ap.parse_args()
    rfbench = os.path.join(a.build, "rfbench")
    names = a.names or subprocess.run([rfbench, "--list"], stdout=subprocess.PIPE, text=True,
                                      check=True).stdout.split()
    os.makedirs(a.results, exist_ok=True)
    summary = {}
    for name in names:
        print("rfbench %s ..." % name, file=sys.stderr, flush=True)
        summary[name] = run_bench(rfbench, name, a.results, a.arg)
    with open(os.path.join(a.results, "summary.json"), "w") as f:
        json.dump(summary, f, indent=1)
    body = "\n".join(html_section(n, o, a.results) for n, o in summary.items())
    with open(os.path.join(a.results, "report.html"), "w") as f:
        f.write("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>rfbench</title>"
                "<style>%s</style></head><body><h1>rfbench</h1>\n%s\n</body></html>\n"
                % (STYLE, body))
    print("\n\n".join(text_table(n, o) for n, o in summary.items()))
    print("\nwrote %s/summary.json and %s/report.html" % (a.results, a.results))
    return 1 if any("error" in o for o in summary.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
