#!/usr/bin/env python3
"""Gain of DFLB over WRR and WLC per regime, from the CSV results of
examples/dflb-regimes.yaml (lvslab sim -f examples/dflb-regimes.yaml -o r.csv).

A regime is the cell's cluster (identical or heterogeneous nodes), weights
(given or capacity), slowdown (none or one) and costs.dynamic_factor, read
from the resolved configuration every row carries (the config column). For
each regime it prints WRR's and WLC's throughput and, for every DFLB monitor
interval and gain A, DFLB's throughput and its gain over WRR / over WLC.
Usage: python3 scripts/dflb-gains.py r.csv
"""
import csv
import json
import sys


def regime(c):
    groups = c.get("node_groups") or []
    hetero = "heterogeneous" if any(g["cpu_speed"] != 1 or g["disk_speed"] != 1 for g in groups) else "identical"
    weights = c.get("weights") or "given"
    slowed = "slowed" if c.get("slowdowns") else "steady"
    return (hetero, weights, slowed, c["costs"]["dynamic_factor"])


def main(path):
    rps = {}
    for row in csv.DictReader(open(path, newline="")):
        c = json.loads(row["config"])
        dflb = (c["dflb_interval_ns"] / 1e9, c["options"]["dflb"]["a"])
        rps[(regime(c), row["alg"], dflb)] = float(row["throughput_rps"])
    regimes = sorted({k[0] for k in rps})
    params = sorted({k[2] for k in rps})
    head = ["nodes", "weights", "slowdown", "dynamic ×", "WRR", "WLC"]
    head += [f"DFLB {i:g}s A={a:g} (vs WRR / WLC)" for i, a in params]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * 4 + "---:|" * (len(head) - 4))
    for g in regimes:
        wrr, wlc = rps[(g, "wrr", params[0])], rps[(g, "wlc", params[0])]
        cells = [g[0], g[1], g[2], f"{g[3]:g}", f"{wrr:.0f}", f"{wlc:.0f}"]
        for p in params:
            d = rps[(g, "dflb", p)]
            cells.append(f"{d:.0f} ({100 * (d / wrr - 1):+.0f}% / {100 * (d / wlc - 1):+.0f}%)")
        print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
