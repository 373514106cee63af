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
      `<span class="muted">${info.doc}</span><button class="remove" title="remove" aria-label="remove ${info.name}">✕</button></header>`;
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
        select.setAttribute("aria-label", `${info.name} ${key}`);
        const choices = (info.choices && info.choices[key]) || decl.choices;  // the rule's own, if narrowed
        for (const c of choices) select.add(new Option(c, c, false, c === entry.hp[key]));
        select.onchange = () => { entry.hp[key] = select.value; onChange(); };
        row.append(select, document.createElement("span"));
      } else {
        const input = document.createElement("input");
        input.type = "range"; input.min = 0; input.max = STEPS; input.name = key;
        const map = scale(decl, entry.hp[key]);
        input.value = map.toPos(entry.hp[key]);
        // a screen reader names the slider and reads the hyperparameter's value, not the position
        input.setAttribute("aria-label", `${info.name} ${key}`);
        input.setAttribute("aria-valuetext", show(entry.hp[key]));
        const out = document.createElement("output");
        out.textContent = show(entry.hp[key]);
        input.oninput = () => {
          entry.hp[key] = Number(map.toValue(Number(input.value)).toPrecision(6));
          out.textContent = show(entry.hp[key]);
          input.setAttribute("aria-valuetext", out.textContent);
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

  // --- step through one update (data from /api/step) ---------------------------------------------
  // Numbers to five significant digits (exponent form below 1e-3 and from 1e5); the exact values
  // stay in app.update, and each cell carries its quantity's name and coordinate (data-key, data-i).
  const num = (v) => {
    if (v === null || v === undefined) return "–";
    const p = Number(v.toPrecision(5));
    return p !== 0 && (Math.abs(p) < 1e-3 || Math.abs(p) >= 1e5) ? p.toExponential() : String(p);
  };
  const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);

  // One row: the quantity, how it is made (with this step's numbers), a cell per coordinate, or
  // one cell across them for a scalar (a bias correction, NAdam's mu_product).
  function row(name, what, values, dim, key, cls = () => "") {
    const cells = values === null ? `<td class="num" colspan="${dim}">–</td>`
      : values.length === 1 && dim > 1 ? `<td class="num scalar" colspan="${dim}" data-key="${key}" data-i="0">${num(values[0])}</td>`
        : values.map((v, i) => `<td class="num ${cls(i)}" data-key="${key}" data-i="${i}">${num(v)}</td>`).join("");
    return `<tr><th scope="row">${name}<span class="what">${esc(what)}</span></th>${cells}</tr>`;
  }

  // The update at step t. The Adam family's as the source documents write it, in their order and
  // notation: gₜ, then mₜ and vₜ, then m̂ₜ and v̂ₜ, then θₜ = θₜ₋₁ − α·m̂ₜ/(√v̂ₜ + ε). Other rules:
  // their formula (the rule module's own), each state array before and after, and the move.
  function updateTable(node, u) {
    const dim = u.dim, coords = ["x", "y"].slice(0, dim), t = u.step;
    const head = `<tr><th></th>${coords.map((c) => `<th scope="col" class="num">${c}</th>`).join("")}</tr>`;
    const lines = [row("θₜ₋₁", `the point before step t = ${t}`, u.point, dim, "point"),
      row("f(θₜ₋₁)", "the function there", [u.value], dim, "value"),
      row("gₜ", "∇f(θₜ₋₁), the gradient", u.gradient, dim, "gradient")];
    let note = "", intro = "";
    const a = u.adam;
    if (a) {
      intro = `<p class="note">${esc(u.optimizer)}'s update as the source documents write it: the gradient, ` +
        "the two moving averages, their bias corrections, then the step; α is lr.</p>";
      if (!a.gradient_used.every((v, i) => v === u.gradient[i])) {
        lines.push(row("gₜ", "as used: maximize's sign, L2 weight decay", a.gradient_used, dim, "gradient_used"));
      }
      const b1 = num(a.beta1), b2 = num(a.beta2);
      lines.push(row("mₜ₋₁", "first moment before", a.m_prev, dim, "m_prev"),
        row("mₜ", `β₁·mₜ₋₁ + (1 − β₁)·gₜ = ${b1}·mₜ₋₁ + ${num(1 - a.beta1)}·gₜ`, a.m, dim, "m"),
        row("vₜ₋₁", "second moment before", a.v_prev, dim, "v_prev"),
        row("vₜ", `β₂·vₜ₋₁ + (1 − β₂)·gₜ² = ${b2}·vₜ₋₁ + ${num(1 - a.beta2)}·gₜ²`, a.v, dim, "v"));
      if (a.v_max) lines.push(row("max vₜ", "max(max vₜ₋₁, vₜ): AMSGrad divides by it", a.v_max, dim, "v_max"));
      lines.push(row("1 − β₁ᵗ", `1 − ${b1}^${t}`, [a.bias_correction1], dim, "bias_correction1"),
        row("1 − β₂ᵗ", `1 − ${b2}^${t}`, [a.bias_correction2], dim, "bias_correction2"),
        row("m̂ₜ", `mₜ / (1 − β₁ᵗ)`, a.m_hat, dim, "m_hat"),
        row("v̂ₜ", `${a.v_max ? "max vₜ" : "vₜ"} / (1 − β₂ᵗ)`, a.v_hat, dim, "v_hat"),
        row("divisor", `${a.denominator_formula}, ε = ${num(a.eps)}`, a.denominator, dim, "denominator"));
      const mattered = (i) => (a.eps_share[i] !== null && a.eps_share[i] >= 0.01 ? "eps" : "");
      lines.push(row("ε share", "ε's part of the divisor", a.eps_share, dim, "eps_share", mattered),
        row("α / divisor", `each coordinate's step size, α = ${num(a.lr)}`, a.effective_lr, dim, "effective_lr"),
        row("step", "−α·m̂ₜ / divisor", a.update, dim, "update"));
      const where = coords.filter((c, i) => mattered(i));
      const ruled = coords.filter((c, i) => a.eps_dominates[i]);
      note = where.length
        ? `ε mattered at ${where.join(", ")}: it is at least 1% of the divisor there` +
          (ruled.length ? `, over half at ${ruled.join(", ")} (Adam moves like momentum SGD with step α/ε there)` : "") + "."
        : "ε made no difference here: under 1% of the divisor at every coordinate.";
    } else {
      intro = `<p class="note">${esc(u.optimizer)} (rule ${esc(u.rule)}) updates as its rule writes it:</p>` +
        (u.formula ? `<pre>${esc(u.formula)}</pre>` : "");
      for (const key of u.state_keys) {
        const before = u.state_before[key], after = u.state_after[key];
        lines.push(row(`${key}ₜ₋₁`, "state before", before === undefined ? null : before, dim, `before.${key}`),
          row(`${key}ₜ`, "state after", after === undefined ? null : after, dim, `after.${key}`));
      }
      if (!u.state_keys.length) note = `${u.optimizer} keeps no state with these settings.`;
    }
    lines.push(row("θₜ − θₜ₋₁", "the move (weight decay included)", u.change, dim, "change"),
      row("θₜ", `the point after step ${t}`, u.next_point, dim, "next_point"),
      row("f(θₜ)", "the function there", [u.next_value], dim, "next_value"));
    node.innerHTML = intro + `<table>${head}${lines.join("")}</table>` + (note ? `<p class="note">${esc(note)}</p>` : "");
  }

  return { card, result, internalsTable, updateTable, scale, show, num };
})();
