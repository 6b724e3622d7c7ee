"""Builds the network of ../shared/reference traces through the public API."""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from lava_lite.proc_lib import LIF, Dense, Monitor, SourceRingBuffer


def reference_dir() -> Path:
    env = os.environ.get("LAVA_LITE_REFERENCE_DIR")
    path = Path(env) if env else Path(__file__).resolve().parents[2] / "shared" / "reference"
    if not path.is_dir():
        pytest.skip(f"reference traces not found at {path} (set LAVA_LITE_REFERENCE_DIR)")
    return path


def load_trace(name: str) -> tuple[dict, dict]:
    with np.load(reference_dir() / name) as npz:
        arrays = {k: npz[k] for k in npz.files}
    return arrays, json.loads(str(arrays.pop("meta")))


def build(arrays: dict, meta: dict):
    """The traced network; returns (source, monitor, {population name: LIF})."""
    def lif(name, n):
        params = meta[f"lif_{name}"]
        return LIF(shape=(n,), du=params["du"], dv=params["dv"], vth=params["vth"],
                   bias_mant=arrays[f"{name}_bias_mant"], bias_exp=arrays[f"{name}_bias_exp"],
                   name=f"lif_{name}")

    def dense(weights, key, name):
        return Dense(weights=weights, name=name, **(meta.get(key) or {}))

    source = SourceRingBuffer(data=arrays["spikes_in"], name="source")
    a, b = lif("a", meta["n_a"]), lif("b", meta["n_b"])
    d1, d2 = dense(arrays["W1"], "dense1", "dense1"), dense(arrays["W2"], "dense2", "dense2")
    source.s_out.connect(d1.s_in)
    d1.a_out.connect(a.a_in)
    a.s_out.connect(d2.s_in)
    d2.a_out.connect(b.a_in)
    if meta["recurrent"]:
        rec = dense(arrays["R"], "dense_rec", "dense_rec")
        a.s_out.connect(rec.s_in)
        rec.a_out.connect(a.a_in)
    monitor = Monitor(name="monitor")
    for population in (a, b):
        monitor.probe(population.u, meta["T"])
        monitor.probe(population.v, meta["T"])
        monitor.probe(population.s_out, meta["T"])
    return source, monitor, {"a": a, "b": b}


def recorded(monitor: Monitor) -> dict[str, np.ndarray]:
    """Monitor data keyed like the trace arrays: a_u, a_v, a_s, b_u, ..."""
    data = monitor.get_data()
    return {f"{pop}_{key[0]}": data[f"lif_{pop}"][key]
            for pop in ("a", "b") for key in ("u", "v", "s_out")}
