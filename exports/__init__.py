"""Figures and runs as file bytes to download: PNG, SVG, HTML, GIF, MP4, CSV and JSON (no Streamlit).

>>> from optimizers import simulate
>>> from exports import FORMATS, to_csv
>>> run = simulate("quadratic", "sgd", [(-4.0, 2.0)], 20, record="path", lr=0.1)
>>> mime, extension = FORMATS["csv"]
>>> to_csv([run], ["SGD lr=0.1"]).splitlines()[0]
b'step,optimizer,settings,start,x,y,loss,lr'
"""

from __future__ import annotations

from .frames import still
from .images import to_gif, to_html, to_mp4, to_png, to_svg
from .trajectories import to_csv, to_json, trajectory_rows

# Format name -> (MIME type, file extension).
FORMATS: dict[str, tuple[str, str]] = {
    "png": ("image/png", "png"),
    "svg": ("image/svg+xml", "svg"),
    "html": ("text/html", "html"),
    "gif": ("image/gif", "gif"),
    "mp4": ("video/mp4", "mp4"),
    "csv": ("text/csv", "csv"),
    "json": ("application/json", "json"),
}

__all__ = ["FORMATS", "still", "to_csv", "to_gif", "to_html", "to_json", "to_mp4", "to_png", "to_svg",
           "trajectory_rows"]
