"""Build chart/assets/chart.js, the component's one script: plotly.js' basic bundle, unchanged, then
the chart's own code (chart/frontend/chart.js). One file, so that a new visitor's browser makes one
request for the chart's code instead of two in sequence (chart.js, then the bundle it imported).

Run: `python chart/frontend/build.py` after editing chart/frontend/chart.js (`npm run vendor` runs it
after a new bundle is installed). The bundle is read from node_modules when it is installed there,
else from the built file's own first part, so editing the chart's code needs no npm.
"""

from pathlib import Path

HERE = Path(__file__).resolve().parent
SOURCE = HERE / "chart.js"
INSTALLED = HERE / "node_modules" / "plotly.js-basic-dist-min" / "plotly-basic.min.js"
BUILT = HERE.parent / "assets" / "chart.js"
MARKER = "\n// ---- descent-lab chart (chart/frontend/chart.js) ----\n"


def parts(text: str) -> tuple[str, str]:
    """(the plotly.js bundle, the chart's code) of a built chart.js."""
    bundle, marker, code = text.partition(MARKER)
    if not marker:
        raise ValueError("not a built chart.js: the marker after the plotly.js bundle is missing")
    return bundle, code


def build() -> str:
    if INSTALLED.exists():
        return INSTALLED.read_text(encoding="utf-8") + MARKER + SOURCE.read_text(encoding="utf-8")
    bundle = parts(BUILT.read_text(encoding="utf-8"))[0]
    return bundle + MARKER + SOURCE.read_text(encoding="utf-8")


if __name__ == "__main__":
    BUILT.write_text(build(), encoding="utf-8")
    print(f"wrote {BUILT} ({BUILT.stat().st_size:,} bytes)")
