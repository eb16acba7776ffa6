"""The benchmark's printed table: each model's pipelines side by side, with units."""

from __future__ import annotations


def _header(record: dict) -> list[str]:
    bench = record["benchmark"]
    return [
        f"{bench['dataset_title']} ρ={bench['imbalance_ratio']:g}: "
        f"{bench['train_images']:,} training images, batch {bench['batch_size']}, "
        f"SGD lr {bench['optimizer']['lr']:g}, best of {bench['rounds']} round(s) — "
        f"{record['device']}",
        f"{'model':<10} {'pipeline':<34} {'steps':>6} {'images/s':>12} {'s/epoch':>9}"
        f" {'trainer is':>12}",
    ]


def _model_rows(result: dict) -> list[str]:
    """One row per pipeline (trainer, conventional, the ceilings) and the ratios of a model."""
    speedup = f"{result['speedup_vs_conventional']:.2f} ×"
    efficiency = f"{100 * result['efficiency_vs_ceiling']:.1f} %"
    precision = result.get("precision", "fp32")
    rows = [("trainer", f"lt_lab trainer (train_epoch), {precision}", ""),
            ("conventional",
             f"conventional DataLoader (W={result['conventional']['workers']})", speedup),
            ("ceiling", f"ceiling (no data pipeline), {precision}", efficiency)]
    rows += [(name, f"ceiling, {name.removeprefix('ceiling_')}", "") for name in result
             if name.startswith("ceiling_") and isinstance(result[name], dict)]
    rows += [(name, f"packed K={name.removeprefix('packed_')} (all K), {precision}", "")
             for name in result if name.removeprefix("packed_").isdigit()]
    lines = []
    for name, label, ratio in rows:
        m = result[name]
        lines.append(f"{result['model']:<10} {label:<34} {m['steps']:>6} "
                     f"{m['images_per_s']:>12,.1f} {m['s_per_epoch']:>9.3f} {ratio:>12}")
    lines.append(f"{'':<10} speed-up trainer/conventional {speedup}, "
                 f"efficiency trainer/ceiling {efficiency}")
    if "ceiling_bf16_vs_fp32" in result:
        lines.append(f"{'':<10} ceiling bf16/fp32 {result['ceiling_bf16_vs_fp32']:.2f} ×")
    if "packed_vs_trainer" in result:
        ratios = ", ".join(f"K={k} {ratio:.2f} ×" for k, ratio in
                           result["packed_vs_trainer"].items())
        lines.append(f"{'':<10} packed (K runs' images/s) / trainer: {ratios}")
    if "flops" in result:
        lines.append(f"{'':<10} {_flop_line(result['flops'])}")
    return lines


def _flop_line(flops: dict) -> str:
    """Training GFLOP an image, and the trainer's and the best pipeline's TFLOP/s."""
    achieved = flops["achieved_tflops"]
    best = max(achieved, key=achieved.get)
    line = (f"{flops['train_gflop_per_image']:g} GFLOP/image (fwd+bwd); TFLOP/s: trainer "
            f"{achieved['trainer']:.3g}, best {best} {achieved[best]:.3g}")
    if flops.get("peak_tflops"):
        line += (f" = {100 * flops['of_peak'][best]:.1f} % of the {flops['peak_tflops']:g} "
                 "TFLOP/s peak")
    return line + ("" if flops.get("peak_tflops") else "; device peak unknown")


def format_table(record: dict) -> str:
    """The side-by-side table of a benchmark record, fixed width, with units."""
    title, columns = _header(record)
    rule = "-" * len(columns)
    lines = [title, rule, columns, rule]
    for result in record["results"]:
        lines += _model_rows(result) + [rule]
    return "\n".join(lines)
