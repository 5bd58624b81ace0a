"""The open firmware path: da4ml trace → pipelined Verilog → Verilator check → Yosys synthesis.

``build_rtl`` traces a quantized model (kerasjet.rtl.trace), pipelines it at a latency cutoff,
writes the Verilog project, and checks on the test jets, integer for integer, that
the reference == da4ml's emulation == the Verilator simulation of the RTL (and == the hls4ml C
simulation when its outputs are given). The reference is the model's exact fixed-point logits
where QKeras' float32 rounds them (a 16-bit dense tagger, kerasjet.hls.convert.fixed_point_reference),
else Keras. Yosys then synthesises the design for an UltraScale+ part.
``run_rtl`` does all of it from a deployment YAML's ``rtl:`` section and writes rtl_report.json.
"""

import os
import time

import numpy as np

from kerasjet.files import write_json

TOP = "kerasjet_rtl"


def da4ml_inputs(model, inputs):
    """(da4ml input rows, Keras logits, the exact fixed-point logits or None, the firmware view of
    the model) for a quantized model on {'pmu', 'mask'} (or {'words', 'mask'}) inputs
    (kerasjet.hls.convert.firmware_view, fixed_point_reference)."""
    from kerasjet.hls.convert import firmware_view, fixed_point_logits, fixed_point_reference, quantized_features

    view, arrays, _, keras = firmware_view(model, inputs)
    if len(arrays) > 1:  # two inputs, one vector: nanoPELICAN's momenta (on the input type's grid) or any model's words, then the mask
        return np.concatenate(arrays, axis=1), keras, fixed_point_reference(model, arrays), view
    rows = quantized_features(view, arrays[0])
    return rows, keras, fixed_point_logits(view, rows), view


def trace(model, view):
    """(input, output, CombLogic) for a quantized nanoPELICAN or dense tagger; view: the model's
    firmware view (a dense tagger is traced from its features on, a peer of trigger words from its words)."""
    from kerasjet.models import input_format_of
    from kerasjet.rtl.trace import trace_dense, trace_nanopelican, trace_word_dense

    if any(layer.name == "lorentz_dot" for layer in model.layers):
        return trace_nanopelican(model)
    if input_format_of(model) is not None:  # a constituent peer of trigger words: its features traced too
        return trace_word_dense(model)
    return trace_dense(view)


def build_rtl(model, inputs, output_dir, clock_period=5.0, latency_cutoff=5.0, part="xcvu13p-flga2577-2-e", family="xcup",
              verilator=True, synthesis=True, csim=None, verbose=True):
    """Trace, pipeline, write, check and synthesise; returns the report dict."""
    from kerasjet.extras import import_extra

    VerilogModel = import_extra("da4ml.codegen", "rtl", "the RTL flow (convert --rtl)").VerilogModel
    to_pipeline = import_extra("da4ml.trace", "rtl", "the RTL flow (convert --rtl)").to_pipeline

    say = print if verbose else (lambda *a, **k: None)
    timings = {}
    data, keras, exact, view = da4ml_inputs(model, inputs)
    if exact is not None and np.array_equal(exact, keras):
        exact = None  # Keras computes the fixed point exactly: it stays the reference, independent of the trace
    say(f"RTL: tracing the model with da4ml and pipelining at {clock_period} ns ...", flush=True)
    start = time.perf_counter()
    _, _, comb = trace(model, view)
    pipeline = to_pipeline(comb, latency_cutoff, verbose=False)
    timings["trace_and_pipeline_s"] = time.perf_counter() - start
    emulation = comb.predict(data)[:, 0]
    report = {"jets": len(keras), "pipeline_stages": len(pipeline.solutions), "clock_period_ns": clock_period,
              "latency_cutoff": latency_cutoff, "estimated_luts_da4ml": float(comb.cost), "register_bits": int(pipeline.reg_bits),
              "reference": "Keras" if exact is None else "exact fixed point",
              "keras_vs_emulation_mismatches": int(np.sum(emulation != keras)),
              "keras_vs_emulation_max_abs_diff": float(np.max(np.abs(emulation - keras)))}
    if exact is not None:  # Keras' float32 rounding is then reported, the exact logits are checked
        report["exact_vs_emulation_mismatches"] = int(np.sum(emulation != exact))
    # the top registers its inputs, then every stage ends in a register: stages + 1 clock edges
    # from an input to the output
    report["latency_cycles"] = report["pipeline_stages"] + 1
    report["latency_ns"] = report["latency_cycles"] * clock_period
    rtl = VerilogModel(pipeline, TOP, output_dir, part_name=part, clock_period=clock_period)
    rtl.write()
    say(f"RTL: {report['pipeline_stages']} pipeline stages + the input register = {report['latency_cycles']} cycles at "
        f"{clock_period} ns ({report['latency_ns']:.0f} ns), project {output_dir}")
    if verilator:
        from kerasjet.rtl.verilator import verilator_environment_applied

        say("RTL: building the Verilator simulation (about a minute) ...", flush=True)
        start = time.perf_counter()
        with verilator_environment_applied():
            rtl.compile(openmp=False)
        timings["verilator_compile_s"] = time.perf_counter() - start
        simulated = np.asarray(rtl.predict(data.astype(np.float64)), np.float64)[:, 0]
        report["verilator_vs_emulation_mismatches"] = int(np.sum(simulated != emulation))
    if csim is not None:
        report["csim_vs_emulation_mismatches"] = int(np.sum(np.asarray(csim).reshape(-1) != emulation))
    if synthesis:
        from kerasjet.rtl.yosys import HEARTBEAT_S, synthesize

        say(f"RTL: synthesising with Yosys for {family} (minutes; N = 32 designs take up to half an hour; a line every "
            f"{HEARTBEAT_S:.0f} s) ...", flush=True)
        start = time.perf_counter()
        report["resources"] = synthesize(output_dir, TOP, family=family, progress=say if verbose else None)
        timings["yosys_s"] = time.perf_counter() - start
    report["timings"] = timings
    reference = "keras_vs_emulation_mismatches" if exact is None else "exact_vs_emulation_mismatches"
    report["bit_exact"] = all(report.get(k, 0) == 0 for k in
                              (reference, "verilator_vs_emulation_mismatches", "csim_vs_emulation_mismatches"))
    write_json(report, os.path.join(output_dir, "rtl_report.json"))
    return report


def quick_estimate(model, inputs, jets=16):
    """(da4ml's LUT-equivalent cost estimate of the fully parallel logic, seconds it took), or
    (None, why) when there is none: a float model, or no da4ml (the rtl extra). Traced on the
    first ``jets`` of the {'pmu', 'mask'} ``inputs`` (the firmware view needs a few). Seconds:
    a few for nanoPELICAN at N = 16. An estimate before synthesis — Yosys' count (convert --rtl)
    is the resource figure; docs/guide/rtl.md relates the two."""
    if not any(layer.__class__.__name__.startswith("Q") for layer in model.layers):
        return None, "float model: no fixed-point logic to estimate"
    from kerasjet.extras import has_extra

    if not has_extra("rtl"):
        return None, "needs the rtl extra: pip install 'kerasjet[rtl]'"
    start = time.perf_counter()
    _, _, _, view = da4ml_inputs(model, {key: value[:jets] for key, value in inputs.items()})
    _, _, comb = trace(model, view)
    return float(comb.cost), time.perf_counter() - start


def estimate_line(model, inputs):
    """The line convert prints before its long steps: da4ml's quick resource estimate, labelled."""
    try:
        cost, detail = quick_estimate(model, inputs)
    except Exception as err:  # an estimate must never stop a conversion
        return f"resource estimate: none ({type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''})"
    if cost is None:
        return f"resource estimate: none ({detail})"
    return (f"resource estimate (da4ml's cost model, before any synthesis; not a synthesis count): about {cost:,.0f} LUT-equivalents "
            f"at reuse factor 1 (traced in {detail:.0f} s; Yosys' LUT count from --rtl is the resource figure, docs/guide/rtl.md)")


def csim_outputs(hls_model, model, inputs):
    """The hls4ml C simulation's logits on {'pmu', 'mask'} inputs."""
    from kerasjet.hls.convert import firmware_view

    _, arrays, names, _ = firmware_view(model, inputs)
    by_name = dict(zip(names, arrays))
    order = [v.name for v in hls_model.get_input_variables()]
    return np.asarray(hls_model.predict([by_name[n] for n in order] if len(arrays) > 1 else arrays[0])).reshape(-1)


def run_rtl(config, hls_model=None, synthesis=None):
    """The rtl: section of a validated deployment config → RTL project and report; with the
    converted ``hls_model`` its C simulation joins the comparison; ``synthesis`` (True/False)
    overrides the section's ``synthesis`` key. Returns an exit status: 0 when the reference
    (build_rtl), da4ml, Verilator (and csim) agree bit for bit."""
    from kerasjet.data.pipeline import load_inputs
    from kerasjet.hls.config import resolve
    from kerasjet.models import input_spec_of, load_model

    rtl = config["rtl"]  # validated, defaults filled (kerasjet.rtl.config)
    model = load_model(config["model"])
    inputs, _ = load_inputs(config["test_data"]["file"], input_spec_of(model), 0, rtl["jets"])
    output_dir = resolve(rtl.get("output_dir", config["output_dir"] + "_rtl"))
    csim = csim_outputs(hls_model, model, inputs) if hls_model is not None else None
    report = build_rtl(model, inputs, output_dir, rtl["clock_period"], rtl["latency_cutoff"], rtl["part"], rtl["family"],
                       synthesis=rtl["synthesis"] if synthesis is None else synthesis, csim=csim)
    print(format_rtl_report(report))
    return 0 if report["bit_exact"] else 1


def format_rtl_report(report):
    resources = report.get("resources") or {}
    checks = ", ".join(f"{k.replace('_mismatches', '').replace('_vs_', ' vs ')}: {v} mismatches" for k, v in report.items()
                       if k.endswith("_mismatches"))
    return (f"RTL on {report['jets']} jets — {checks} (reference: {report.get('reference', 'Keras')}); {report['latency_cycles']} cycles = {report['latency_ns']:.0f} ns; "
            + (f"Yosys: {resources['LUT']} LUT, {resources['FF']} FF, {resources['CARRY']} CARRY, {resources['DSP']} DSP, "
               f"{resources['BRAM']} BRAM" if resources else "no synthesis"))
