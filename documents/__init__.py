"""Meeting documents: ingest (PyMuPDF), page rendering and its cache, per-viewer watermarks,
text, and annotated exports; what a document is in the meeting (`model.py`, `commands.py`,
and the room plugin `room.py`). Plugs into the room kernel (`rooms/`) and the store and bus
ports.
"""
