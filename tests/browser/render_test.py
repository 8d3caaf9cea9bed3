#!/usr/bin/env python3
"""Renders llmcost's HTML reports in headless Chromium and checks what a person would see.

For each page: screenshot at 1280 px wide; assert the page is not blank, the SVG charts are in
the DOM and drawn (palette pixels present), and the console shows no errors and no network
requests. Exits 77 (ctest skip) when no Chromium is installed. Standard library only.
"""
import argparse
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib

SKIP = 77
WIDTH = 1280
HEIGHT = 5200  # tall enough for the whole page; the first 900 px are what opens on screen


def find_chromium():
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        path = shutil.which(name)
        if path:
            return path
    return None


def read_png(path):
    """Decodes an 8-bit RGB/RGBA PNG into (width, height, channels, rows of bytes)."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError(f"{path}: not a PNG")
    pos, idat, w = 8, b"", None
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind = data[pos + 4:pos + 8]
        body = data[pos + 8:pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            w, h, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", body)
            if depth != 8 or ctype not in (2, 6) or interlace:
                raise ValueError(f"{path}: unsupported PNG (depth {depth}, colour type {ctype}, interlace {interlace})")
            ch = 3 if ctype == 2 else 4
        elif kind == b"IDAT":
            idat += body
        elif kind == b"IEND":
            break
    raw = zlib.decompress(idat)
    stride = w * ch
    rows, prev = [], bytearray(stride)
    for y in range(h):
        ft = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for x in range(stride):
            a = line[x - ch] if x >= ch else 0
            b = prev[x]
            c = prev[x - ch] if x >= ch else 0
            if ft == 1:
                line[x] = (line[x] + a) & 255
            elif ft == 2:
                line[x] = (line[x] + b) & 255
            elif ft == 3:
                line[x] = (line[x] + ((a + b) >> 1)) & 255
            elif ft == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pr = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[x] = (line[x] + pr) & 255
        rows.append(bytes(line))
        prev = line
    return w, h, ch, rows


def pixel_stats(png, top_rows=None):
    w, h, ch, rows = png
    rows = rows[:top_rows] if top_rows else rows
    counts = {}
    for r in rows:
        for x in range(0, w * ch, ch * 2):  # every other pixel is plenty
            px = r[x:x + 3]
            counts[px] = counts.get(px, 0) + 1
    return counts


def near(counts, rgb, tol=18):
    return sum(n for px, n in counts.items() if all(abs(px[i] - rgb[i]) <= tol for i in range(3)))


def render(chromium, html, shot, workdir):
    base = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
            "--disable-extensions", "--force-device-scale-factor=1", f"--user-data-dir={workdir}/profile",
            "--enable-logging=stderr", "--v=0", "--virtual-time-budget=3000"]
    url = "file://" + os.path.abspath(html)
    shot_run = subprocess.run(base + [f"--window-size={WIDTH},{HEIGHT}", f"--screenshot={shot}", url],
                              capture_output=True, text=True, timeout=240)
    dom_run = subprocess.run(base + ["--dump-dom", url], capture_output=True, text=True, timeout=240)
    return shot_run, dom_run


def check_page(chromium, html, shot, workdir, min_charts):
    problems = []
    shot_run, dom_run = render(chromium, html, shot, workdir)
    if shot_run.returncode != 0 or not os.path.exists(shot):
        return [f"chromium could not screenshot {html} (exit {shot_run.returncode}): {shot_run.stderr.strip()[-400:]}"]
    log = shot_run.stderr + dom_run.stderr
    for line in log.splitlines():
        if "CONSOLE" in line and re.search(r"error|uncaught", line, re.I):
            problems.append(f"console error: {line.strip()}")
        if "net::ERR" in line or "Failed to load resource" in line:
            problems.append(f"network request: {line.strip()}")
    dom = dom_run.stdout
    charts = len(re.findall(r'<svg[^>]*class="chart\b', dom))
    if charts < min_charts:
        problems.append(f"{charts} SVG charts in the rendered DOM, expected at least {min_charts}")
    if re.search(r"<script|(?:src|href)\s*=\s*\"?(?:https?:|//)", dom, re.I):
        problems.append("page loads scripts or external resources")
    png = read_png(shot)
    if png[0] != WIDTH:
        problems.append(f"screenshot is {png[0]} px wide, expected {WIDTH}")
    top = pixel_stats(png, top_rows=900)
    total = sum(top.values())
    bg = max(top.values())
    if total - bg < 0.03 * total:
        problems.append(f"first screen is blank ({100.0 * (total - bg) / total:.2f}% of pixels differ from the background)")
    allpx = pixel_stats(png)
    dark = sum(n for px, n in allpx.items() if max(px) < 80)
    blue, orange = near(allpx, (0x00, 0x72, 0xB2)), near(allpx, (0xE6, 0x9F, 0x00))
    if dark < 2000:
        problems.append(f"only {dark} dark (text) pixels sampled")
    if blue < 300:
        problems.append(f"charts not drawn: {blue} pixels of the first series colour (#0072B2)")
    print(f"  {os.path.basename(html)}: {charts} charts in DOM, sampled pixels: {dark} text-dark, {blue} blue, "
          f"{orange} orange; screenshot {shot}")
    return problems


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--llmcost", required=True)
    ap.add_argument("--repo", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    chromium = find_chromium()
    if not chromium:
        print("SKIP: no chromium found (Debian package `chromium`; `scripts/setup --test` installs it)")
        return SKIP
    os.makedirs(args.out, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="llmcost_browser_") as tmp:
        scenario = os.path.join(args.repo, "configs", "scenarios", "default.yaml")
        pages = []  # (html, screenshot, min charts)
        run = subprocess.run([args.llmcost, "report", scenario, "-o", tmp, "--format", "html"], capture_output=True,
                             text=True, timeout=300)
        if run.returncode != 0:
            print(f"FAIL: llmcost report exited {run.returncode}: {run.stderr.strip()}")
            return 1
        pages.append((os.path.join(tmp, "default.html"), os.path.join(args.out, "report.png"), 3))
        sizing = os.path.join(tmp, "sizing.html")
        run = subprocess.run([args.llmcost, "compare", "mixtral-8x7b", "--hw", "h100-sxm,h200,mi300x,l40s",
                              "--format", "html", "-o", sizing], capture_output=True, text=True, timeout=300)
        if run.returncode != 0:
            print(f"FAIL: llmcost compare --format html exited {run.returncode}: {run.stderr.strip()}")
            return 1
        pages.append((sizing, os.path.join(args.out, "sizing.png"), 2))
        failures = []
        for html, shot, min_charts in pages:
            if not os.path.exists(html):
                failures.append(f"{html} was not written")
                continue
            failures += [f"{os.path.basename(html)}: {p}" for p in check_page(chromium, html, shot, tmp, min_charts)]
    for f in failures:
        print("FAIL: " + f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
