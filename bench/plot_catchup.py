#!/usr/bin/env python3
"""plot_catchup.py - turns bench_catchup's TSV into an SVG plot of catch-up
time against k (posts missed), one solid line per preset and member count,
its physical bound (airtime of one push and one ACK per post per member)
dashed in the same colour.  Standard library only.

    build/bench/bench_catchup catchup.tsv
    bench/plot_catchup.py catchup.tsv catchup.svg      (SVG to stdout without 2nd arg)
"""
import csv
import math
import sys

W, H = 760, 480
ML, MR, MT, MB = 70, 200, 40, 60
COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"]


def load(path):
    series = {}
    with open(path, newline="") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            key = "%s, %s member%s" % (row["preset"], row["members"],
                                       "" if row["members"] == "1" else "s")
            series.setdefault(key, []).append(
                (int(row["k"]), float(row["time_s"]), float(row["bound_s"])))
    for pts in series.values():
        pts.sort()
    return series


def esc(s):
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def plot(series):
    ks = sorted({k for pts in series.values() for k, _, _ in pts})
    # both axes logarithmic: times run from a fraction of a second to many minutes
    vals = [v for pts in series.values() for _, t, b in pts for v in (t, b) if v > 0]
    ly0 = math.floor(math.log10(min(vals))) if vals else -1
    ly1 = math.ceil(math.log10(max(vals))) if vals else 1
    if ly1 <= ly0:
        ly1 = ly0 + 1
    kmin, kmax = max(1, min(ks)), max(ks)
    lk0, lk1 = math.log10(kmin), math.log10(kmax) if kmax > kmin else math.log10(kmin) + 1
    pw, ph = W - ML - MR, H - MT - MB

    def x(k):
        return ML + (math.log10(max(k, 1)) - lk0) / (lk1 - lk0) * pw

    def y(v):
        return MT + ph - (math.log10(max(v, 10 ** ly0)) - ly0) / (ly1 - ly0) * ph

    out = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" '
           'font-family="sans-serif" font-size="12">' % (W, H),
           '<rect width="100%" height="100%" fill="white"/>',
           '<text x="%d" y="22" font-size="15">Catch-up time of returning members '
           '(virtual time)</text>' % ML]
    for e in range(ly0, ly1 + 1):
        v = 10 ** e
        out.append('<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#ddd"/>'
                   % (ML, y(v), ML + pw, y(v)))
        out.append('<text x="%d" y="%.1f" text-anchor="end">%g</text>' % (ML - 6, y(v) + 4, v))
    for k in ks:
        out.append('<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#ddd"/>'
                   % (x(k), MT, x(k), MT + ph))
        out.append('<text x="%.1f" y="%d" text-anchor="middle">%d</text>' % (x(k), MT + ph + 18, k))
    out.append('<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#333"/>'
               % (ML, MT, pw, ph))
    out.append('<text x="%.1f" y="%d" text-anchor="middle">posts missed (k, log scale)</text>'
               % (ML + pw / 2, H - 15))
    out.append('<text transform="translate(18,%.1f) rotate(-90)" text-anchor="middle">'
               'seconds until the last member has all k (log scale)</text>' % (MT + ph / 2))
    for i, (name, pts) in enumerate(sorted(series.items())):
        c = COLOURS[i % len(COLOURS)]
        line = " ".join("%.1f,%.1f" % (x(k), y(t)) for k, t, _ in pts)
        bound = " ".join("%.1f,%.1f" % (x(k), y(b)) for k, _, b in pts)
        out.append('<polyline points="%s" fill="none" stroke="%s" stroke-width="2"/>' % (line, c))
        out.append('<polyline points="%s" fill="none" stroke="%s" stroke-width="1.5" '
                   'stroke-dasharray="5,4"/>' % (bound, c))
        for k, t, _ in pts:
            out.append('<circle cx="%.1f" cy="%.1f" r="3" fill="%s"/>' % (x(k), y(t), c))
        ly = MT + 10 + i * 36
        lx = ML + pw + 15
        out.append('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="2"/>'
                   % (lx, ly, lx + 22, ly, c))
        out.append('<text x="%d" y="%d">%s</text>' % (lx + 28, ly + 4, esc(name)))
        out.append('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-dasharray="5,4"/>'
                   % (lx, ly + 15, lx + 22, ly + 15, c))
        out.append('<text x="%d" y="%d" fill="#555">bound</text>' % (lx + 28, ly + 19))
    out.append("</svg>")
    return "\n".join(out) + "\n"


def main(argv):
    if len(argv) < 2 or argv[1] in ("-h", "--help"):
        sys.stderr.write(__doc__)
        return 2
    svg = plot(load(argv[1]))
    if len(argv) > 2:
        with open(argv[2], "w") as f:
            f.write(svg)
    else:
        sys.stdout.write(svg)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
