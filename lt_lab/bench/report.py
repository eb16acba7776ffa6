"""The benchmark's printed table: each model's three pipelines side by side, with units."""

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
    lines = []
    for name, label, ratio in rows:
        m = result[name]
        lines.append(f"{result['model']:<10} {label:<34} {m['steps']:>6} "
                     f"{m['images_per_s']:>12,.1f} {m['s_per_epoch']:>9.3f} {ratio:>12}")
    lines.append(f"{'':<10} speed-up trainer/conventional {speedup}, "
                 f"efficiency trainer/ceiling {efficiency}")
    if "ceiling_bf16_vs_fp32" in result:
        lines.append(f"{'':<10} ceiling bf16/fp32 {result['ceiling_bf16_vs_fp32']:.2f} ×")
    return lines


def format_table(record: dict) -> str:
    """The side-by-side table of a benchmark record, fixed width, with units."""
    title, columns = _header(record)
    rule = "-" * len(columns)
    lines = [title, rule, columns, rule]
    for result in record["results"]:
        lines += _model_rows(result) + [rule]
    return "\n".join(lines)
