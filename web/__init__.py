"""The timeline service: an HTTP API and web pages over the read path."""
