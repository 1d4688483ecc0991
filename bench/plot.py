#!/usr/bin/env python3
"""Draws the figures of bench/README.md from the table `bench/run.sh` prints.

    bench/plot.py bench/results/run-2026-11-23.txt     # writes bench/plots/*.svg

Three SVG bar charts, no third-party package needed:
  throughput.svg  envcrypt against openssl speed, age and aws-encryption-cli, MB/s
  frame-size.svg  seal and open to /dev/null per frame size (one thread per core)
  threads.svg     seal and open to /dev/null per thread count, with openssl's rate per core count

Only rows the run printed are drawn, so a run without age or aws-encryption-cli still plots.
"""

import html
import pathlib
import re
import sys

BAR_COLOURS = ["#2b6cb0", "#dd6b20", "#38a169", "#805ad5"]


def read_rows(path):
    """Returns the run's title line and {row name: MB/s} from the table of bench/run.sh."""
    title, rows = "", {}
    for line in pathlib.Path(path).read_text().splitlines():
        if re.match(r"^\d{4}-\d\d-\d\d, ", line):
            title = line
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 2 and cells[1].isdigit():
            rows[cells[0]] = int(cells[1])
    if not rows:
        sys.exit(f"{path}: no table rows of bench/run.sh found")
    return title, rows


def bar_chart(title, subtitle, groups, series, unit="MB/s"):
    """groups: [(label, [value or None per series])]; series: names of the bars in each group."""
    top = max(v for _, values in groups for v in values if v is not None)
    scale_top = nice_ceiling(top)
    width, left, right, plot_top, plot_height = 760, 70, 20, 70, 300
    group_width = (width - left - right) / len(groups)
    bar_width = min(48, (group_width - 16) / len(series))
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{plot_top + plot_height + 90}" '
        'font-family="sans-serif" font-size="12">',
        '<rect width="100%" height="100%" fill="white"/>',
        f'<text x="{left}" y="22" font-size="16" font-weight="bold">{html.escape(title)}</text>',
        f'<text x="{left}" y="42" fill="#555">{html.escape(subtitle)}</text>',
    ]
    for step in range(5):
        value = scale_top * step / 4
        y = plot_top + plot_height - plot_height * step / 4
        out.append(f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"/>')
        out.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{value:,.0f}</text>')
    out.append(
        f'<text x="16" y="{plot_top + plot_height / 2}" transform="rotate(-90 16 {plot_top + plot_height / 2})" '
        f'text-anchor="middle">{unit}</text>'
    )
    for index, (label, values) in enumerate(groups):
        x0 = left + index * group_width + (group_width - bar_width * len(series)) / 2
        for n, value in enumerate(values):
            if value is None:
                continue
            height = plot_height * value / scale_top
            x, y = x0 + n * bar_width, plot_top + plot_height - height
            out.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_width - 2:.1f}" height="{height:.1f}" '
                f'fill="{BAR_COLOURS[n % len(BAR_COLOURS)]}"><title>{html.escape(series[n])}: {value}</title></rect>'
            )
            out.append(f'<text x="{x + bar_width / 2 - 1:.1f}" y="{y - 4:.1f}" text-anchor="middle" font-size="10">{value}</text>')
        out.append(
            f'<text x="{left + (index + 0.5) * group_width:.1f}" y="{plot_top + plot_height + 18}" '
            f'text-anchor="middle">{html.escape(label)}</text>'
        )
    legend_y = plot_top + plot_height + 50
    for n, name in enumerate(series):
        x = left + n * 180
        out.append(f'<rect x="{x}" y="{legend_y - 10}" width="12" height="12" fill="{BAR_COLOURS[n % len(BAR_COLOURS)]}"/>')
        out.append(f'<text x="{x + 18}" y="{legend_y}">{html.escape(name)}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def nice_ceiling(value):
    """The next round number at or above value, for the scale's top line."""
    magnitude = 10 ** (len(str(int(value))) - 1)
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * magnitude:
            return step * magnitude
    return 10 * magnitude


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    title, rows = read_rows(sys.argv[1])
    out_dir = pathlib.Path(__file__).resolve().parent / "plots"
    out_dir.mkdir(exist_ok=True)
    cores = max(int(m.group(1)) for name in rows if (m := re.match(r"envcrypt seal, (\d+) thread", name)))

    def row(name):
        return rows.get(name)

    peers = [
        ("1 core, /dev/null", [row("envcrypt seal, 1 thread(s) (/dev/null)"), row("openssl aes-256-gcm, 1 core (16 KiB)")]),
        (f"{cores} cores, /dev/null", [row(f"envcrypt seal, {cores} thread(s) (/dev/null)"), row(f"openssl aes-256-gcm, -multi {cores} (16 KiB)")]),
        ("encrypt to a file", [row("envcrypt seal (stdout to file)"), None, row("age encrypt (file)"), row("aws-encryption-cli encrypt (file)")]),
        ("decrypt to a file", [row("envcrypt open (stdout to file)"), None, row("age decrypt (file)"), row("aws-encryption-cli decrypt (file)")]),
    ]
    peers = [(label, values + [None] * (4 - len(values))) for label, values in peers]
    (out_dir / "throughput.svg").write_text(
        bar_chart("envcrypt against its peers", title, peers, ["envcrypt", "openssl speed (limit)", "age", "aws-encryption-cli"])
    )

    frames = [("64 KiB", "frame 64 KiB"), ("256 KiB (default)", f"{cores} thread(s)"), ("1 MiB", "frame 1024 KiB"), ("4 MiB", "frame 4096 KiB")]
    (out_dir / "frame-size.svg").write_text(
        bar_chart(
            f"Frame size ({cores} threads, /dev/null)",
            title,
            [(label, [row(f"envcrypt seal, {key} (/dev/null)"), row(f"envcrypt open, {key} (/dev/null)")]) for label, key in frames],
            ["seal", "open"],
        )
    )

    threads = sorted({int(m.group(1)) for name in rows if (m := re.match(r"envcrypt seal, (\d+) thread", name))})
    openssl = {1: row("openssl aes-256-gcm, 1 core (16 KiB)"), cores: row(f"openssl aes-256-gcm, -multi {cores} (16 KiB)")}
    (out_dir / "threads.svg").write_text(
        bar_chart(
            "Threads (/dev/null, 256 KiB frames)",
            title,
            [
                (f"{n} thread(s)", [row(f"envcrypt seal, {n} thread(s) (/dev/null)"), row(f"envcrypt open, {n} thread(s) (/dev/null)"), openssl.get(n)])
                for n in threads
            ],
            ["seal", "open", "openssl speed, same cores"],
        )
    )
    for name in ("throughput.svg", "frame-size.svg", "threads.svg"):
        print(out_dir / name)


if __name__ == "__main__":
    main()
