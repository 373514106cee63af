"""The text table of a bench result."""

from __future__ import annotations


def table(result: dict) -> str:
    """One line per contender: time, ratio to torch's fused step of the same optimizer, GB/s and
    its fraction of the streaming copy's, state bytes/param, path; then the copy reference, the
    8-bit state against its target, the CPU pressure."""
    device = result["device"] + (f" ({result['device_name']})" if result.get("device_name") else "")
    head = (f"{result['preset']}: {result['description']} | {result['params']:,} params in "
            f"{result['tensors']} tensors | {device}, {result['torch_threads']} threads | "
            f"median of {result['rounds']} rounds after {result['warmup']} warm-up")
    lines = [head]
    width = max([len(r["name"]) for r in result["results"]] + [len("copy (ref.)")])
    cols = (f"{'contender':<{width}} {'median ms':>10} {'x fused':>8} {'GB/s':>7} {'x copy':>7} "
            f"{'state B/p':>10}  path")
    lines += [cols, "-" * len(cols)]
    for r in result["results"]:
        gbps = f"{r['gbps']:7.1f}" if r.get("gbps") is not None else f"{'-':>7}"
        frac = (f"{r['copy_fraction']:7.2f}" if r.get("copy_fraction") is not None
                else f"{'-':>7}")
        lines.append(f"{r['name']:<{width}} {r['median_ms']:10.3f} "
                     f"{r.get('ratio_to_anchor', r['ratio_to_torch_fused']):8.3f} {gbps} {frac} "
                     f"{r['state_bytes_per_param']:10.3f}  {r['path']}")
    lines.append(f"{'copy (ref.)':<{width}} {result['copy_ms']:10.3f} {'':>8} "
                 f"{result['copy_gbps']:7.1f} {1:7.2f} {'':>10}  streaming copy of a buffer as "
                 f"large as the params (read + write)")
    anchors = result.get("anchors") or {"adam": "torch-fused"}
    lines.append("x fused: over torch's fused step of the same optimizer in the same rounds ("
                 + ", ".join(anchors.values()) + ")")
    if result["kind"] == "step":
        lines.append("GB/s: bytes the step must move (param r+w, grad r, state r+w) / median; "
                     "x copy: over the copy's GB/s")
    target = result.get("state_target")
    if target:
        verdict = "met" if target["met"] else "missed"
        line = (f"{target['name']} state: {target['bytes_per_param']:.3f} B/param (target "
                f"<= {target['target']}: {verdict})")
        if target["small_tensor_share"] > 0:
            line += (f"; {target['small_tensor_share']:.1%} of the params are in tensors under "
                     f"4,096 elements, which keep fp32 states")
        lines.append(line)
    pressure = result.get("cpu_pressure_pct") or [None, None]
    if None not in pressure:
        lines.append(f"cpu pressure (other load, Linux PSI avg10): {pressure[0]:.0f}% before, "
                     f"{pressure[1]:.0f}% after")
    return "\n".join(lines)
