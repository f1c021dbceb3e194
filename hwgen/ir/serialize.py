"""Saving and loading graphs: ``graph.json`` (structure) plus ``arrays.npz``.

Loading checks everything and names the file, the node and the field in any
error, so a hand-edited or truncated graph fails with a line that says where.
"""
import json
import zipfile
from dataclasses import MISSING, fields
from pathlib import Path

import numpy as np

from ..errors import HwgenError
from ..files import atomic_path, write_text
from .graph import FORMAT_VERSION, READABLE_VERSIONS, Graph
from .nodes import NODE_TYPES, TYPE_FIELDS, array_fields
from .types import type_from_json

GRAPH_FILE = "graph.json"
ARRAYS_FILE = "arrays.npz"
FORMAT_NAME = "hwgen-graph"


def save_graph(graph: Graph, folder: Path) -> None:
    """Write ``graph.json`` and ``arrays.npz`` into ``folder``."""
    folder = Path(folder)
    nodes, arrays = [], {}
    for node in graph.nodes:
        entry = {"op": node.op}
        for field in fields(node):
            value = getattr(node, field.name)
            if field.type is np.ndarray:
                key = f"{node.name}.{field.name}"
                arrays[key] = value
                entry[field.name] = key
            elif field.name in TYPE_FIELDS:
                entry[field.name] = value.to_json()
            else:
                entry[field.name] = value
        nodes.append(entry)
    document = {"format": FORMAT_NAME, "version": FORMAT_VERSION, "nodes": nodes}
    with atomic_path(folder / ARRAYS_FILE) as tmp:
        with open(tmp, "wb") as f:
            np.savez_compressed(f, **arrays)
    write_text(folder / GRAPH_FILE, json.dumps(document, indent=1) + "\n")


def load_graph(folder: Path) -> Graph:
    """Read and validate a graph written by ``save_graph``."""
    folder = Path(folder)
    graph_path, arrays_path = folder / GRAPH_FILE, folder / ARRAYS_FILE
    for path in (graph_path, arrays_path):
        if not path.is_file():
            raise HwgenError(f"{path}: no such file; run `hwgen export` first to write the graph")
    try:
        document = json.loads(graph_path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise HwgenError(f"{graph_path}: not valid JSON ({error})") from None
    try:
        with np.load(arrays_path, allow_pickle=False) as npz:
            arrays = {key: npz[key] for key in npz.files}
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as error:
        raise HwgenError(f"{arrays_path}: not a readable .npz archive ({error})") from None
    try:
        return _parse(document, arrays)
    except ValueError as error:
        raise HwgenError(f"{graph_path}: {error}") from None


def _parse(document, arrays) -> Graph:
    if not isinstance(document, dict) or document.get("format") != FORMAT_NAME:
        raise ValueError(f"not an hwgen graph (field 'format' must be {FORMAT_NAME!r})")
    if document.get("version") not in READABLE_VERSIONS:
        raise ValueError(f"field 'version': this hwgen reads versions "
                         f"{', '.join(map(str, READABLE_VERSIONS))}, the file has {document.get('version')!r}")
    entries = document.get("nodes")
    if not isinstance(entries, list):
        raise ValueError("field 'nodes': expected a list")
    return Graph(tuple(_parse_node(i, entry, arrays) for i, entry in enumerate(entries)))


def _parse_node(index, entry, arrays):
    if not isinstance(entry, dict):
        raise ValueError(f"nodes[{index}]: expected an object, got {entry!r}")
    name = entry.get("name", f"#{index}")
    op = entry.get("op")
    node_type = NODE_TYPES.get(op)
    if node_type is None:
        raise ValueError(f"node {name!r}: field 'op': unknown op {op!r} (known: {', '.join(NODE_TYPES)})")
    expected = {f.name for f in fields(node_type)}
    extra = set(entry) - expected - {"op"}
    if extra:
        raise ValueError(f"node {name!r} ({op}): unknown field(s) {', '.join(sorted(extra))}")
    values = {}
    for field in fields(node_type):
        if field.name not in entry:
            if field.default is not MISSING:
                continue
            raise ValueError(f"node {name!r} ({op}): missing field {field.name!r}")
        value = entry[field.name]
        if field.name in array_fields(node_type):
            if value not in arrays:
                raise ValueError(f"node {name!r} ({op}): field {field.name!r}: array {value!r} "
                                 f"is not in {ARRAYS_FILE}")
            value = arrays[value]
            if not np.issubdtype(value.dtype, np.integer) and value.dtype != np.bool_:
                raise ValueError(f"node {name!r} ({op}): field {field.name!r}: expected an integer "
                                 f"array, got {value.dtype}")
        elif field.name in TYPE_FIELDS:
            value = type_from_json(value, f"node {name!r} ({op}): field {field.name!r}")
        elif field.type is tuple:
            if not isinstance(value, list) or not all(type(v) is int for v in value):
                raise ValueError(f"node {name!r} ({op}): field {field.name!r}: expected a list of "
                                 f"integers, got {value!r}")
            value = tuple(value)
        elif field.type in (str, int, bool) and (type(value) is not field.type):
            raise ValueError(f"node {name!r} ({op}): field {field.name!r}: expected "
                             f"{field.type.__name__}, got {value!r}")
        values[field.name] = value
    return node_type(**values)
