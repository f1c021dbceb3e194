"""hwgen: quantized neural networks to bit-exact streaming Verilog.

The IR (``hwgen.ir``) and golden model (``hwgen.golden``) import only NumPy;
the hardware generators (``hwgen.hw``) import Amaranth. Nothing here imports
torch: training and export live in the ``train`` package.
"""
