"""One module per external format, each mapping it to `common.IngestRecord`.

Parsing only: no database access here (DESIGN: sources call nothing but parsing).
"""
