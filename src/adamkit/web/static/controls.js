// Sliders and pickers, built from the hyperparameter declarations the server sends (/api/meta):
// ranges, scales and choices are adamkit.rules.hyperparameters', never retyped here.
"use strict";

const Controls = (() => {
  const STEPS = 1000; // slider resolution

  // A slider's value <-> position map on the declaration's scale, over its search interval
  // widened to hold the value it starts at (Adagrad's eps 1e-10, a function's small lab lr).
  function scale(decl, start) {
    let [lo, hi] = decl.search;
    const zeroAtLeft = decl.scale === "log" && lo > 0 && (start === 0 || decl.low === 0);
    if (start > 0 || decl.scale !== "log") { lo = Math.min(lo, start); hi = Math.max(hi, start); }
    if (decl.scale === "log") {
      const a = Math.log10(lo), b = Math.log10(hi);
      // with a default of 0 (weight decay) the leftmost notch means "off"
      return {
        toValue: (p) => (zeroAtLeft && p === 0 ? 0 : 10 ** (a + ((b - a) * p) / STEPS)),
        toPos: (v) => (v <= 0 ? 0 : Math.round(((Math.log10(v) - a) / (b - a)) * STEPS)),
      };
    }
    if (decl.scale === "one_minus_log" && hi < 1) {
      const a = Math.log10(1 - lo), b = Math.log10(1 - hi);  // dense near 1
      return {
        toValue: (p) => 1 - 10 ** (a + ((b - a) * p) / STEPS),
        toPos: (v) => Math.round(((Math.log10(Math.max(1 - v, 1e-12)) - a) / (b - a)) * STEPS),
      };
    }
    return { toValue: (p) => lo + ((hi - lo) * p) / STEPS, toPos: (v) => Math.round(((v - lo) / (hi - lo)) * STEPS) };
  }

  const show = (v) => (typeof v === "number" ? (v === 0 ? "0" : Number(v.toPrecision(3)).toString()) : v);

  // One optimizer's card: its name in its colour, a slider or picker per hyperparameter, a result line.
  function card(meta, entry, onChange, onRemove) {
    const info = meta.optimizers.find((o) => o.name === entry.name);
    const el = document.createElement("div");
    el.className = "card";
    el.style.borderLeftColor = info.color;
    el.innerHTML = `<header><span class="name" style="color:${info.color}">${info.name}</span>` +
      `<span class="muted">${info.doc}</span><button class="remove" title="remove">✕</button></header>`;
    el.querySelector(".remove").onclick = onRemove;
    for (const key of info.sliders) {
      const decl = meta.hyperparameters[key];
      const row = document.createElement("label");
      row.className = "slider";
      row.title = decl.doc;
      row.innerHTML = `<span>${key}</span>`;
      if (decl.kind === "choice") {
        const select = document.createElement("select");
        select.name = key;
        const choices = (info.choices && info.choices[key]) || decl.choices;  // the rule's own, if narrowed
        for (const c of choices) select.add(new Option(c, c, false, c === entry.hp[key]));
        select.onchange = () => { entry.hp[key] = select.value; onChange(); };
        row.append(select, document.createElement("span"));
      } else {
        const input = document.createElement("input");
        input.type = "range"; input.min = 0; input.max = STEPS; input.name = key;
        const map = scale(decl, entry.hp[key]);
        input.value = map.toPos(entry.hp[key]);
        const out = document.createElement("output");
        out.textContent = show(entry.hp[key]);
        input.oninput = () => {
          entry.hp[key] = Number(map.toValue(Number(input.value)).toPrecision(6));
          out.textContent = show(entry.hp[key]);
          onChange();
        };
        row.append(input, out);
      }
      el.append(row);
    }
    const result = document.createElement("div");
    result.className = "result";
    el.append(result);
    return { el, result };
  }

  function result(node, run) {
    if (!run) { node.textContent = "…"; return; }
    const last = run.loss[run.loss.length - 1];
    node.classList.toggle("diverged", run.diverged_step !== null);
    node.textContent = run.diverged_step !== null
      ? `diverged at step ${run.diverged_step}`
      : `final f = ${last === null ? "n/a" : last.toPrecision(4)} at (${run.path[run.path.length - 1].map((v) => v.toPrecision(4)).join(", ")})`;
  }

  // Adam's internals at step t, per coordinate: the seeds' "adaptive learning rates", made real
  function internalsTable(node, run, t) {
    const inner = run && run.internals;
    if (!inner) { node.innerHTML = `<span class="muted">pick an optimizer</span>`; return; }
    if (!inner.available) { node.innerHTML = `<span class="muted">${inner.why}</span>`; return; }
    const s = Math.min(Math.max(t, 1), inner.m_hat.length) - 1;
    if (s < 0) { node.innerHTML = ""; return; }
    const coords = inner.m_hat[s].map((_, d) => "xy"[d]);
    const rows = [["m̂ (momentum)", inner.m_hat], ["v̂ (squared grad.)", inner.v_hat],
      ["lr/(√v̂+ε)", inner.effective_lr], ["step −lr·m̂/(√v̂+ε)", inner.update.map((r) => r.map((v) => (v === null ? null : -v)))],
      ["ε share of divisor", inner.eps_share]];
    node.innerHTML = `<table><tr><th>after step ${s + 1}</th>${coords.map((c) => `<th>${c}</th>`).join("")}</tr>` +
      rows.map(([name, a]) => `<tr><td>${name}</td>${a[s].map((v) => `<td>${v === null ? "–" : v.toExponential(2)}</td>`).join("")}</tr>`).join("") +
      `</table>`;
  }

  return { card, result, internalsTable, scale, show };
})();
