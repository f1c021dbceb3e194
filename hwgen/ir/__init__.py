"""The integer graph: the one contract between training and hardware."""
from .graph import FORMAT_VERSION, Graph
from .nodes import (MATRIX_NODES, Argmax, Dense, Flatten, Input, IntegerDense, MaxPool, MultiThreshold, Requantize,
                    ShiftDense, Threshold, Window)
from .serialize import load_graph, save_graph
from .types import Bipolar, ElementType, Integer, PowerOfTwo, Ternary

__all__ = ["FORMAT_VERSION", "MATRIX_NODES", "Graph", "Argmax", "Dense", "Flatten", "Input", "IntegerDense",
           "MaxPool", "MultiThreshold", "Requantize", "ShiftDense", "Threshold", "Window", "load_graph",
           "save_graph", "Bipolar", "ElementType", "Integer", "PowerOfTwo", "Ternary"]
