"""Meeting documents: ingest (PyMuPDF), page rendering and its cache, per-viewer watermarks,
text, and annotated exports. Plugs into the room core (`rooms/`) and the store and bus ports.
"""
