"""The JSON files the steps write, typed and versioned: each names its format and
version, and loading checks every field's presence and type, naming the file
and the field in an error, as loading the graph does."""
import json
import math
from dataclasses import dataclass
from pathlib import Path

from .errors import HwgenError
from .files import write_text

Number = (int, float)


@dataclass(frozen=True)
class Schema:
    format: str
    version: int
    producer: str          # the step to run again when a file does not fit
    fields: dict           # field name → type, or a tuple of types


VERILOG_META = Schema("hwgen-verilog-meta", 1, "hwgen verilog", {
    "top": str, "ports": dict, "reset_active_low": bool, "input_port_width": int, "output_port_width": int,
    "input_size": int, "input_width": int, "input_per_beat": int, "input_beats": int, "output_width": int,
    "output_fields": list, "folding": str, "layer_cycles": dict, "cycles_per_image": int, "latency": int,
    "multiplied_layers": list, "resources_estimate": dict,
})

SIM_RESULTS = Schema("hwgen-sim", 1, "hwgen sim", {
    "simulator": str, "images": int, "outputs": list, "logits_scored": bool, "mismatches": int,
    "latency": int, "cycles_per_image": Number, "stall_pass": dict,
})

SYNTH_RESULTS = Schema("hwgen-synth", 5, "hwgen synth", {
    "device": str, "speed_grade": int, "target_mhz": Number, "fmax_mhz": Number, "fmax_by_seed": list,
    "critical_path": dict, "critical_path_by_seed": list, "bitstream": dict,
    "utilization": dict, "yosys_units": dict, "flops_into_block_ram": int, "unused_carry_outs_cut": int,
    "carry_chains": int, "tools": dict, "wall_s": dict, "verilog_sha256": str,
    "rtlil_sha256": str,
})


def save(path: Path, schema: Schema, document: dict) -> dict:
    """Write ``document`` stamped with the schema's format and version; return it stamped."""
    stamped = {"format": schema.format, "version": schema.version, **document}
    _check(path, schema, stamped)   # a writer's mistake is a bug: caught before anything lands
    write_text(path, json.dumps(stamped, indent=1) + "\n")
    return stamped


def load(path: Path, schema: Schema) -> dict:
    path = Path(path)
    if not path.is_file():
        raise HwgenError(f"{path}: no such file; run `{schema.producer}` first")
    try:
        document = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise HwgenError(f"{path}: not valid JSON ({error}); run `{schema.producer}` again") from None
    _check(path, schema, document)
    return document


def _check(path: Path, schema: Schema, document) -> None:
    again = f"run `{schema.producer}` again"
    if not isinstance(document, dict) or document.get("format") != schema.format:
        raise HwgenError(f"{path}: not a {schema.format} file; {again}")
    if document.get("version") != schema.version:
        raise HwgenError(f"{path}: {schema.format} version {document.get('version')!r}, this hwgen reads "
                         f"version {schema.version}; {again}")
    for field, kind in schema.fields.items():
        if field not in document:
            raise HwgenError(f"{path}: field {field!r} is missing; {again}")
        value = document[field]
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)) or \
                (isinstance(value, float) and not math.isfinite(value)):
            raise HwgenError(f"{path}: field {field!r} = {value!r}: want {_name(kind)}; {again}")


def _name(kind) -> str:
    return " or ".join(k.__name__ for k in kind) if isinstance(kind, tuple) else kind.__name__
