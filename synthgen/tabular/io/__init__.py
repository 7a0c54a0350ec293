"""Tables in and out: CSV, Parquet and JSONL read, coerced to the schema's types, and written."""
