"""The document: layout of lines and blocks, the result object and its schemas."""
