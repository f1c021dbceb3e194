"""Simulation of generated Verilog with cocotb, and the report against software.

Imports hwgen (golden model, generator metadata); torch only in the report,
to time software inference.
"""
