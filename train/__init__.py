"""Training side: quantizers, layers, models, data sets, training and export.

Imports torch and the IR (``hwgen.ir``); never Amaranth or cocotb.
"""
