"""The HTTP edge: views, form parsing, errors, admission, request log, metrics, OpenAPI."""
