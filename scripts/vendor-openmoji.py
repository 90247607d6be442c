"""Vendor the OpenMoji drawings the demo uses (marketplace/demo_pictures.py ART) as PNGs.

The npm package ships SVGs only; this renders the few the demo needs, so the app itself
needs no SVG renderer. Run it again after changing ART:

    cd /tmp && npm pack openmoji@17.0.0 && tar xzf openmoji-17.0.0.tgz
    .venv/bin/pip install resvg-py==0.5.0     # only for this script; not an app dependency
    .venv/bin/python scripts/vendor-openmoji.py /tmp/package

Drawings no longer in ART are removed; LICENSE.txt is copied from the package.
"""
import io
import json
import shutil
import sys
from pathlib import Path

import resvg_py
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from marketplace.demo_pictures import ART, ART_DIR  # noqa: E402 - after the path is set

SIZE = 512

package = Path(sys.argv[1])
version = json.loads((package / "package.json").read_text())["version"]
ART_DIR.mkdir(parents=True, exist_ok=True)
wanted = sorted({art.file for art in ART.values()})
for code in wanted:
    png = bytes(resvg_py.svg_to_bytes(svg_path=str(package / "color" / "svg" / f"{code}.svg"), width=SIZE, height=SIZE))
    # Flat colours fit a 256-colour palette with no visible loss, at a third of the size.
    image = Image.open(io.BytesIO(png)).convert("RGBA").quantize(256, method=Image.Quantize.FASTOCTREE)
    image.save(ART_DIR / f"{code}.png", optimize=True)
for old in ART_DIR.glob("*.png"):
    if old.stem not in wanted:
        old.unlink()
shutil.copy(package / "LICENSE.txt", ART_DIR / "LICENSE.txt")
print(f"openmoji {version}: {len(wanted)} drawings in {ART_DIR}")
