"""The hostile-input corpus, by surface (see corpus.py)."""
