"""The I/O shell: HTTP and websocket edges, authentication, configuration and the CLI."""
