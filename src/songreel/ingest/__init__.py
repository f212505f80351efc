"""songreel.ingest"""
