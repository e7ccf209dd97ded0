"""The page images the server offers: widths by name, and formats with their media types.

Plain data, no PDF library: the server's own process reads these to check a request;
the PDF workers (documents/render.py) draw the images.
"""

from __future__ import annotations

WIDTHS = {"thumb": 240, "tablet": 1280, "hd": 2048}
FORMATS = {"webp": "image/webp", "png": "image/png"}
