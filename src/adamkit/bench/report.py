"""The text table of a bench result."""

from __future__ import annotations


def table(result: dict) -> str:
    """One line per contender: time, ratio to torch fused, GB/s, state bytes/param, path."""
    head = (f"{result['preset']}: {result['description']} | {result['params']:,} params in "
            f"{result['tensors']} tensors | {result['device']}, {result['torch_threads']} threads | "
            f"median of {result['rounds']} rounds after {result['warmup']} warm-up")
    lines = [head]
    cols = f"{'contender':<15} {'median ms':>10} {'x fused':>8} {'GB/s':>7} {'state B/p':>10}  path"
    lines += [cols, "-" * len(cols)]
    for r in result["results"]:
        gbps = f"{r['gbps']:7.1f}" if r["gbps"] is not None else f"{'-':>7}"
        lines.append(f"{r['name']:<15} {r['median_ms']:10.3f} {r['ratio_to_torch_fused']:8.3f} "
                     f"{gbps} {r['state_bytes_per_param']:10.3f}  {r['path']}")
    lines.append(f"{'copy (ref.)':<15} {result['copy_ms']:10.3f} {'':>8} "
                 f"{result['copy_gbps']:7.1f}  streaming copy of a buffer as large as the params")
    pressure = result.get("cpu_pressure_pct") or [None, None]
    if None not in pressure:
        lines.append(f"cpu pressure (other load, Linux PSI avg10): {pressure[0]:.0f}% before, "
                     f"{pressure[1]:.0f}% after")
    return "\n".join(lines)
