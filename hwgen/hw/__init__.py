"""Amaranth generators: one streaming component per file, built from the IR."""
