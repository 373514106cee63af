// Drawing only: the contour map with paths, the loss chart, Adam's internals, the sensitivity map.
// Every number drawn comes from the server (adamkit.lab); nothing here computes an update.
"use strict";

const Draw = (() => {
  // map coordinates <-> canvas pixels for a window ((x0, x1), (y0, y1))
  function transform(canvas, window) {
    const [[x0, x1], [y0, y1]] = window;
    const W = canvas.width, H = canvas.height;
    return {
      px: (x) => ((x - x0) / (x1 - x0)) * W,
      py: (y) => H - ((y - y0) / (y1 - y0)) * H,
      x: (px) => x0 + (px / W) * (x1 - x0),
      y: (py) => y0 + ((H - py) / H) * (y1 - y0),
    };
  }

  // A font of `size` CSS pixels as the canvas is shown: a canvas scaled down to a phone's column
  // draws its labels larger in its own pixels, so they stay readable (never smaller than drawn).
  function font(canvas, size) {
    const shown = canvas.getBoundingClientRect().width;
    const k = shown > 0 ? Math.max(1, canvas.width / shown) : 1;
    return `${Math.round(size * k)}px sans-serif`;
  }

  // index of the band between contour levels that v falls in (binary search)
  function band(levels, v) {
    let lo = 0, hi = levels.length;
    while (lo < hi) { const mid = (lo + hi) >> 1; if (levels[mid] <= v) lo = mid + 1; else hi = mid; }
    return lo;
  }

  // The surface as grey bands between the server's contour levels (log-spaced where the lab uses
  // them), with a darker pixel where the band changes: contour lines without a contour library.
  function surfaceImage(surface) {
    const n = surface.n, f = surface.f, levels = surface.levels;
    const off = document.createElement("canvas");
    off.width = n; off.height = n;
    const ctx = off.getContext("2d");
    const img = ctx.createImageData(n, n);
    const idx = new Int32Array(n * n);
    for (let i = 0; i < n * n; i++) idx[i] = f[i] === null ? -1 : band(levels, f[i]);
    const top = levels.length || 1;
    for (let j = 0; j < n; j++) {
      for (let i = 0; i < n; i++) {
        const k = j * n + i, b = idx[k];
        const edge = (i + 1 < n && idx[k + 1] !== b) || (j + 1 < n && idx[k + n] !== b);
        let shade = b < 0 ? 215 : 252 - Math.round((80 * b) / top);
        if (edge) shade -= 30;
        const row = n - 1 - j;  // row j of the grid is y_j, growing upwards
        const p = 4 * (row * n + i);
        img.data[p] = shade; img.data[p + 1] = shade; img.data[p + 2] = Math.min(255, shade + 8);
        img.data[p + 3] = 255;
      }
    }
    ctx.putImageData(img, 0, 0);
    return off;
  }

  function star(ctx, x, y, r) {
    ctx.beginPath();
    for (let i = 0; i < 10; i++) {
      const a = (Math.PI / 5) * i - Math.PI / 2, rr = i % 2 ? r / 2.3 : r;
      ctx.lineTo(x + rr * Math.cos(a), y + rr * Math.sin(a));
    }
    ctx.closePath();
    ctx.fillStyle = "#F0E442"; ctx.fill();
    ctx.strokeStyle = "#000"; ctx.lineWidth = 1; ctx.stroke();
  }

  function cross(ctx, x, y, r, color) {
    ctx.strokeStyle = color; ctx.lineWidth = 3;
    ctx.beginPath(); ctx.moveTo(x - r, y - r); ctx.lineTo(x + r, y + r);
    ctx.moveTo(x + r, y - r); ctx.lineTo(x - r, y + r); ctx.stroke();
  }

  // an arrow from (x, y) by (dx, dy); its meaning goes in the map's key (labels at the tips
  // collided: Adam's step and −m̂ usually point the same way)
  function arrow(ctx, x, y, dx, dy, color) {
    const len = Math.hypot(dx, dy);
    if (!(len > 0.5)) return;
    ctx.strokeStyle = color; ctx.fillStyle = color; ctx.lineWidth = 2;
    ctx.beginPath(); ctx.moveTo(x, y); ctx.lineTo(x + dx, y + dy); ctx.stroke();
    const a = Math.atan2(dy, dx);
    ctx.beginPath(); ctx.moveTo(x + dx, y + dy);
    ctx.lineTo(x + dx - 9 * Math.cos(a - 0.4), y + dy - 9 * Math.sin(a - 0.4));
    ctx.lineTo(x + dx - 9 * Math.cos(a + 0.4), y + dy - 9 * Math.sin(a + 0.4));
    ctx.fill();
  }

  // a key line in the map's top-left corner on white: [text, colour] pieces side by side
  function mapKey(canvas, ctx, pieces) {
    ctx.font = font(canvas, 12);
    const size = parseInt(ctx.font, 10);
    const wide = pieces.reduce((w, [text]) => w + ctx.measureText(text).width, 0);
    ctx.fillStyle = "rgba(255,255,255,0.9)"; ctx.fillRect(4, 4, wide + 8, size + 6);
    let x = 8;
    for (const [text, color] of pieces) { ctx.fillStyle = color; ctx.fillText(text, x, size + 5); x += ctx.measureText(text).width; }
  }

  // The map: surface, minima, start, every path up to step t, heads, divergence marks, and for
  // the inspected Adam run its step arrow and momentum arrow at the head.
  function map(canvas, view) {
    const ctx = canvas.getContext("2d");
    const { fn, surface, runs, t, start, inspect } = view;
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    if (!fn || !surface) return;
    if (fn.dim === 1) return curve(canvas, view);
    const T = transform(canvas, fn.window);
    ctx.imageSmoothingEnabled = true;
    ctx.drawImage(surface.image, 0, 0, canvas.width, canvas.height);
    let arrows = null; // the inspected Adam run's arrows, named in the key
    runs.forEach((run, k) => {
      if (!run) return;
      const last = Math.min(t, run.path.length - 1);
      ctx.strokeStyle = run.color; ctx.lineWidth = 2; ctx.setLineDash(run.dash ? [6, 4] : []);
      ctx.beginPath();
      for (let s = 0; s <= last; s++) {
        const p = run.path[s];
        if (p[0] === null || p[1] === null) break;
        s === 0 ? ctx.moveTo(T.px(p[0]), T.py(p[1])) : ctx.lineTo(T.px(p[0]), T.py(p[1]));
      }
      ctx.stroke(); ctx.setLineDash([]);
      const head = run.path[last];
      if (run.diverged_step !== null && t >= run.diverged_step) {
        cross(ctx, T.px(head[0]), T.py(head[1]), 7, "#8B0000");
      } else {
        ctx.beginPath(); ctx.arc(T.px(head[0]), T.py(head[1]), 5, 0, 2 * Math.PI);
        ctx.fillStyle = run.color; ctx.fill(); ctx.strokeStyle = "#000"; ctx.lineWidth = 1; ctx.stroke();
      }
      const inner = run.internals;
      if (k === inspect && inner && inner.available && last > 0 && last <= inner.update.length) {
        const u = inner.update[last - 1], m = inner.m_hat[last - 1];
        // the real step is -update; it is scaled up to stay visible, as the label says
        const sx = T.px(head[0]) - T.px(head[0] - u[0]), sy = T.py(head[1]) - T.py(head[1] - u[1]);
        const grow = 40 / Math.max(Math.hypot(sx, sy), 1e-12);
        arrow(ctx, T.px(head[0]), T.py(head[1]), -sx * grow, -sy * grow, "#c00");
        arrows = `step ×${grow.toPrecision(2)}`;
        const mx = T.px(m[0]) - T.px(0), my = T.py(m[1]) - T.py(0);
        const mg = 30 / Math.max(Math.hypot(mx, my), 1e-12);
        arrow(ctx, T.px(head[0]), T.py(head[1]), -mx * mg, -my * mg, "#555");
      }
    });
    for (const m of fn.minima) star(ctx, T.px(m[0]), T.py(m[1]), 11);  // above the paths
    if (arrows) mapKey(canvas, ctx, [["→ ", "#c00"], [`Adam's step, drawn ${arrows.slice(5)} long`, "#333"], ["   → ", "#555"], ["−m̂ (direction)", "#333"]]);
    ctx.beginPath(); ctx.arc(T.px(start[0]), T.py(start[1]), 6, 0, 2 * Math.PI);
    ctx.fillStyle = "#000"; ctx.fill();
    const key = `x ∈ [${fn.window[0]}], y ∈ [${fn.window[1]}]; ★ minimum, ● start`;
    ctx.font = font(canvas, 12);
    const size = parseInt(ctx.font, 10), wide = ctx.measureText(key).width;
    ctx.fillStyle = "#fff"; ctx.fillRect(4, canvas.height - size - 10, wide + 8, size + 6);
    ctx.fillStyle = "#333";
    ctx.fillText(key, 8, canvas.height - 8);
  }

  // 1-D functions: the seeds' picture, f(x) with the iterates on the curve
  function curve(canvas, view) {
    const ctx = canvas.getContext("2d");
    const { fn, surface, runs, t } = view;
    const fs = surface.f.filter((v) => v !== null);
    const fmin = Math.min(...fs), fmax = Math.max(...fs);
    const T = transform(canvas, [fn.window[0], [fmin - 0.05 * (fmax - fmin), fmax]]);
    ctx.strokeStyle = "#555"; ctx.lineWidth = 2; ctx.beginPath();
    surface.x.forEach((x, i) => (i ? ctx.lineTo(T.px(x), T.py(surface.f[i])) : ctx.moveTo(T.px(x), T.py(surface.f[i]))));
    ctx.stroke();
    runs.forEach((run) => {
      if (!run) return;
      ctx.fillStyle = run.color;
      for (let s = 0; s <= Math.min(t, run.path.length - 1); s++) {
        if (run.path[s][0] === null) break;
        ctx.beginPath(); ctx.arc(T.px(run.path[s][0]), T.py(run.loss[s]), 3, 0, 2 * Math.PI); ctx.fill();
      }
    });
  }

  // Loss per step: log10(f - f*) where f* is known, else f; divergence marked with ×.
  function loss(canvas, view) {
    const ctx = canvas.getContext("2d");
    const { fn, runs, t, steps } = view;
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    if (!fn) return;
    const log = fn.f_min !== null;
    const y = (v) => (v === null ? null : log ? Math.log10(Math.max(v - fn.f_min, 1e-16)) : v);
    let lo = Infinity, hi = -Infinity;
    for (const run of runs) if (run) for (const v of run.loss) { const w = y(v); if (w !== null) { lo = Math.min(lo, w); hi = Math.max(hi, w); } }
    if (!isFinite(lo)) return;
    if (hi - lo < 1e-9) { hi += 0.5; lo -= 0.5; }
    const L = 46, B = 24, W = canvas.width - L - 6, H = canvas.height - B - 8;
    const px = (s) => L + (s / Math.max(steps, 1)) * W, py = (w) => 8 + H - ((w - lo) / (hi - lo)) * H;
    ctx.strokeStyle = "#999"; ctx.lineWidth = 1; ctx.strokeRect(L, 8, W, H);
    ctx.fillStyle = "#333"; ctx.font = font(canvas, 11);
    const ticks = log ? Math.max(1, Math.ceil((hi - lo) / 6)) : (hi - lo) / 5;
    for (let w = log ? Math.ceil(lo) : lo; w <= hi + 1e-9; w += ticks) {
      ctx.fillText(log ? `1e${Math.round(w)}` : w.toPrecision(3), 2, py(w) + 4);
      ctx.strokeStyle = "#eee"; ctx.beginPath(); ctx.moveTo(L, py(w)); ctx.lineTo(L + W, py(w)); ctx.stroke();
    }
    ctx.fillText(log ? "f − f* (log scale) per step" : "f per step", L + 4, 20);
    ctx.textAlign = "right"; ctx.fillText(`step ${steps}`, L + W, canvas.height - 6); ctx.textAlign = "left";
    for (const run of runs) {
      if (!run) continue;
      ctx.strokeStyle = run.color; ctx.lineWidth = 1.6; ctx.setLineDash(run.dash ? [6, 4] : []);
      ctx.beginPath();
      run.loss.forEach((v, s) => { const w = y(v); if (w !== null) (s ? ctx.lineTo(px(s), py(w)) : ctx.moveTo(px(s), py(w))); });
      ctx.stroke(); ctx.setLineDash([]);
      if (run.diverged_step !== null) {
        const s = run.loss.length - 1, w = y(run.loss[s]);
        cross(ctx, px(s), w === null ? 14 : py(w), 6, "#8B0000");
      }
    }
    ctx.strokeStyle = "#444"; ctx.setLineDash([3, 3]); ctx.beginPath();
    ctx.moveTo(px(t), 8); ctx.lineTo(px(t), 8 + H); ctx.stroke(); ctx.setLineDash([]);
  }

  // Adam's per-coordinate effective step lr/(sqrt(v̂)+ε) over the steps, log scale, cursor at t
  function internalsChart(canvas, run, t) {
    const ctx = canvas.getContext("2d");
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    const inner = run && run.internals;
    if (!inner || !inner.available || !inner.effective_lr.length) return;
    const series = inner.effective_lr, dim = series[0].length;
    let lo = Infinity, hi = -Infinity;
    for (const row of series) for (const v of row) if (v !== null && v > 0) { lo = Math.min(lo, Math.log10(v)); hi = Math.max(hi, Math.log10(v)); }
    if (!isFinite(lo)) return;
    if (hi - lo < 0.5) { hi += 0.25; lo -= 0.25; }
    const L = 40, W = canvas.width - L - 6, H = canvas.height - 30;
    const px = (s) => L + (s / series.length) * W, py = (w) => 18 + H - ((w - lo) / (hi - lo)) * H;
    ctx.fillStyle = "#333"; ctx.font = "11px sans-serif";
    ctx.fillText("effective step lr/(√v̂+ε) per coordinate (log)", L, 11);
    ctx.fillText(`1e${hi.toFixed(1)}`, 0, 24); ctx.fillText(`1e${lo.toFixed(1)}`, 0, 18 + H);
    ["#0072B2", "#D55E00"].slice(0, dim).forEach((c, d) => {
      ctx.strokeStyle = c; ctx.lineWidth = 1.5; ctx.beginPath();
      series.forEach((row, s) => { if (row[d] > 0) (s ? ctx.lineTo(px(s), py(Math.log10(row[d]))) : ctx.moveTo(px(s), py(Math.log10(row[d])))); });
      ctx.stroke(); ctx.fillStyle = c; ctx.fillText(d ? "y" : "x", L + W - 12 - 12 * d, 11);
    });
    ctx.strokeStyle = "#444"; ctx.setLineDash([3, 3]); ctx.beginPath();
    ctx.moveTo(px(t), 18); ctx.lineTo(px(t), 18 + H); ctx.stroke(); ctx.setLineDash([]);
  }

  // viridis, five stops, linearly blended
  const VIRIDIS = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];
  function viridis(u) {
    const x = Math.min(Math.max(u, 0), 1) * 4, i = Math.min(Math.floor(x), 3), f = x - i;
    const a = VIRIDIS[i], b = VIRIDIS[i + 1];
    return `rgb(${a.map((v, k) => Math.round(v + f * (b[k] - v))).join(",")})`;
  }

  // The sensitivity map: final f − f* (log colour) per cell; diverged cells dark red; the current
  // configuration circled, the best one starred.
  function sweep(canvas, data, current) {
    const ctx = canvas.getContext("2d");
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    if (!data) return;
    const nx = data.x.values.length, ny = data.y.values.length;
    const L = 44, B = 30, W = canvas.width - L - 4, H = canvas.height - B - 4;
    const shift = data.f_min === null ? 0 : data.f_min;
    const logs = data.final_loss.flat().filter((v) => v !== null).map((v) => Math.log10(Math.max(v - shift, 1e-16)));
    const lo = Math.min(...logs), hi = Math.max(...logs);
    const cw = W / nx, ch = H / ny;
    for (let j = 0; j < ny; j++) for (let i = 0; i < nx; i++) {
      const v = data.final_loss[j][i];
      ctx.fillStyle = v === null ? "#8B0000" : viridis((Math.log10(Math.max(v - shift, 1e-16)) - lo) / Math.max(hi - lo, 1e-9));
      ctx.fillRect(L + i * cw, 4 + H - (j + 1) * ch, Math.ceil(cw), Math.ceil(ch));
    }
    const cell = (name, values, v) => {
      let best = 0;
      values.forEach((w, k) => { if (Math.abs(w - v) < Math.abs(values[best] - v)) best = k; });
      return best;
    };
    if (current) {
      const i = cell("x", data.x.values, current.x), j = cell("y", data.y.values, current.y);
      ctx.strokeStyle = "#fff"; ctx.lineWidth = 2; ctx.beginPath();
      ctx.arc(L + (i + 0.5) * cw, 4 + H - (j + 0.5) * ch, Math.max(cw, 5), 0, 2 * Math.PI); ctx.stroke();
    }
    if (data.best) {
      const i = cell("x", data.x.values, data.best[data.x.name]), j = cell("y", data.y.values, data.best[data.y.name]);
      star(ctx, L + (i + 0.5) * cw, 4 + H - (j + 0.5) * ch, 7);
    }
    ctx.fillStyle = "#333"; ctx.font = "11px sans-serif";
    const fmt = (v) => Number(v).toPrecision(2);
    ctx.fillText(`${data.x.name} ${fmt(data.x.values[0])} … ${fmt(data.x.values[nx - 1])} (${data.x.scale})`, L, canvas.height - 16);
    ctx.fillText(`colour: log10 final f − f*, ${fmt(lo)} (dark) … ${fmt(hi)} (yellow); red: diverged`, L, canvas.height - 3);
    ctx.save(); ctx.translate(12, 4 + H); ctx.rotate(-Math.PI / 2);
    ctx.fillText(`${data.y.name} ${fmt(data.y.values[0])} … ${fmt(data.y.values[ny - 1])}`, 0, 0); ctx.restore();
    return { L, W, H, cw, ch };
  }

  return { transform, surfaceImage, map, loss, internalsChart, sweep };
})();
