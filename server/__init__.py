"""The I/O shell: HTTP and websocket edges, authentication, configuration and the CLI."""

import sys

# PyMuPDF 2 imports its optional layout analyser and its Markdown converter (and numpy
# and onnxruntime with them: about 0.8 s of every start, in the server and in each render
# worker) whenever they are installed. phonghop renders and writes PDFs and never analyses
# their layout; a None entry makes those imports fail fast, which PyMuPDF expects.
for _optional in ("pymupdf.layout", "pymupdf4llm"):
    sys.modules.setdefault(_optional, None)  # type: ignore[arg-type]
