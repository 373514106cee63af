// The page's state, its URL, and the requests: every number shown is computed by the server.
// One front end, two transports: mount(element, options) builds the UI into element and asks every
// question through options.transport(path, body), which answers like fetch (a Response). The page's
// transport is fetch to /api/<route>; the notebook widget's (adamkit.lab.widget) is a message to the
// kernel, answered by the same Python dispatcher as the server's routes (adamkit.web.dispatch).
"use strict";

let root = document; // the element mount() built the UI into: ids are looked up inside it
const $ = (id) => root.querySelector("#" + id);
const app = {
  meta: null, fn: null, surface: null, runs: [], sweep: null, t: 0, playing: false,
  state: { function: "rosenbrock", start: null, steps: 1000, optimizers: [], inspect: 0, sweepY: "beta1" },
  cards: [], latency: null,
  stepMode: false, update: null, // step through one update: the mode, and /api/step's last answer
};
const page = {
  transport: (path, body) => fetch(path, body === undefined ? {} : {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
  }),
  // the URL holds the whole state, so a link reproduces the picture
  save: (state) => history.replaceState(null, "", "#" + encodeURIComponent(JSON.stringify(state))),
  load: () => { try { return JSON.parse(decodeURIComponent(location.hash.slice(1))); } catch { return null; } },
};
let options = page;

async function api(path, body) {
  const response = await options.transport(path, body);
  if (!response.ok) {
    const message = (await response.json().catch(() => ({}))).error || `HTTP ${response.status}`;
    throw Object.assign(new Error(message), { status: response.status });
  }
  return response;
}

function showError(message) {
  $("error").hidden = !message;
  $("error").textContent = message || "";
}

// --- the state is kept where the transport keeps it: the page's URL, or the widget's model ---------
function saveState() { options.save(app.state); }
function loadState() { return options.load(); }

function defaults(name) {
  const info = app.meta.optimizers.find((o) => o.name === name);
  return { name, hp: { ...info.defaults, lr: app.fn.default_lr[name] } };
}

function body(extra) {
  return { function: app.state.function, start: app.state.start, steps: app.state.steps, ...extra };
}

// --- computing: only the optimizers that changed, in one request (or one per 12, the server's limit)
// (The server computes a request's optimizers one after another; one request per optimizer made
// them contend for its one Python interpreter: measured slower.)
async function recompute(indices, t0 = performance.now()) {
  saveState();
  const size = app.meta.limits.optimizers, chunks = [];
  for (let i = 0; i < indices.length; i += size) chunks.push(indices.slice(i, i + size));
  const ask = async (chunk) => {
    const at = chunk.indexOf(app.state.inspect);
    const optimizers = chunk.map((k) => ({ name: app.state.optimizers[k].name, hyperparameters: app.state.optimizers[k].hp }));
    return (await (await api("/api/run", body({ optimizers, internals: at >= 0 ? at : null }))).json()).runs;
  };
  let runs;
  try { runs = (await Promise.all(chunks.map(ask))).flat(); } catch (e) { showError(e.message); return; }
  showError(null);
  indices.forEach((k, i) => { app.runs[k] = decorate(runs[i], k); });
  if (!app.playing && !app.stepMode) app.t = app.state.steps;
  redraw();
  app.latency = performance.now() - t0;
  scheduleSweep();
  if (app.stepMode) showUpdate();
}

// --- step through one update: the inspected optimizer's update at step t, from /api/step ---------
let updateAsked = 0;
async function showUpdate() {
  const k = app.state.inspect, o = app.state.optimizers[k], run = app.runs[k];
  if (!o || !run) return;
  const last = run.path.length - 1; // a diverged path ends at its divergence step
  if (last < 1) { $("update-title").textContent = "no update to show: 0 steps"; $("update-body").replaceChildren(); return; }
  app.t = Math.min(Math.max(app.t, 1), last);
  const asked = ++updateAsked, t = app.t;
  $("update-title").textContent = `${k + 1}. ${o.name}: update ${t} of ${last}…`;
  let u;
  try {
    u = await (await api("/api/step", body({ optimizer: { name: o.name, hyperparameters: o.hp }, step: t }))).json();
  } catch (e) { if (asked === updateAsked) $("update-title").textContent = e.message; return; }
  if (asked !== updateAsked) return; // a newer step was asked for meanwhile
  app.update = u;
  $("update-title").textContent = `${k + 1}. ${o.name}: update ${t} of ${last}`;
  Controls.updateTable($("update-body"), u);
}

function setStepMode(on) {
  app.stepMode = on;
  $("step-mode").setAttribute("aria-pressed", String(on));
  $("update").hidden = !on;
  if (!on) return;
  app.playing = false; $("play").textContent = "▶ play";
  app.t = 1; redraw(); showUpdate();
}

function stepBy(d) {
  app.playing = false; $("play").textContent = "▶ play";
  app.t = Math.min(Math.max(app.t + d, app.stepMode ? 1 : 0), app.state.steps);
  redraw();
  if (app.stepMode) showUpdate();
}

function decorate(run, k) {
  const info = app.meta.optimizers.find((o) => o.name === run.name);
  const earlier = app.state.optimizers.slice(0, k).filter((o) => o.name === run.name).length;
  return { ...run, color: info.color, dash: earlier > 0 };
}

let sweepTimer = null;
function scheduleSweep() {
  clearTimeout(sweepTimer);
  sweepTimer = setTimeout(computeSweep, 150);
}

async function computeSweep() {
  const o = app.state.optimizers[app.state.inspect];
  if (!o || app.fn.dim !== 2) { app.sweep = null; Draw.sweep($("sweep"), null); return; }
  const axes = app.meta.sweep_axes.filter((a) => a !== "lr" && app.meta.optimizers.find((m) => m.name === o.name).sliders.includes(a));
  const ySelect = $("sweep-y");
  ySelect.replaceChildren(...axes.map((a) => new Option(a, a, false, a === app.state.sweepY)));
  if (!axes.includes(app.state.sweepY)) app.state.sweepY = axes[0];
  if (!app.state.sweepY) { $("sweep-info").textContent = `${o.name} has only lr to sweep`; return; }
  const hp = { ...o.hp }; delete hp.lr; delete hp[app.state.sweepY];
  const t0 = performance.now();
  try {
    app.sweep = await (await api("/api/sweep", body({
      optimizer: { name: o.name, hyperparameters: hp },
      x: { name: "lr", n: 64 }, y: { name: app.state.sweepY, n: 64 },
    }))).json();
  } catch (e) { $("sweep-info").textContent = e.message; return; }
  drawSweep();
  $("sweep-info").textContent = `${app.sweep.configurations} runs × ${app.sweep.steps} steps of ${o.name} in ` +
    `${(app.sweep.seconds * 1000).toFixed(0)} ms (${app.sweep.engine} path); round trip ${(performance.now() - t0).toFixed(0)} ms`;
}

function drawSweep() {
  const o = app.state.optimizers[app.state.inspect];
  app.sweepLayout = Draw.sweep($("sweep"), app.sweep, o && { x: o.hp.lr, y: o.hp[app.state.sweepY] });
}

// --- drawing ---------------------------------------------------------------------------------------
function redraw() {
  const view = { fn: app.fn, surface: app.surface, runs: app.runs, t: app.t, start: app.state.start,
    steps: app.state.steps, inspect: app.state.inspect };
  Draw.map($("map"), view);
  Draw.loss($("loss"), view);
  const inspected = app.runs[app.state.inspect];
  Controls.internalsTable($("internals"), inspected, app.t);
  Draw.internalsChart($("internals-chart"), inspected, app.t);
  app.cards.forEach((c, k) => Controls.result(c.result, app.runs[k]));
  $("frame").max = app.state.steps; $("frame").value = app.t;
  $("frame-label").textContent = `step ${app.t} of ${app.state.steps}`;
  $("legend").replaceChildren(...app.runs.filter(Boolean).map((r) => {
    const s = document.createElement("span"); s.style.setProperty("--c", r.color);
    s.textContent = `${r.name} lr=${Controls.show(r.hyperparameters.lr)}${r.diverged_step !== null ? ` ✕ diverged at ${r.diverged_step}` : ""}`;
    return s;
  }));
  drawSweep();
}

function buildCards() {
  const box = $("optimizers");
  box.replaceChildren();
  app.cards = app.state.optimizers.map((entry, k) => {
    const c = Controls.card(app.meta, entry, () => recompute([k]), () => {
      app.state.optimizers.splice(k, 1); app.runs.splice(k, 1);
      app.state.inspect = Math.min(app.state.inspect, Math.max(app.state.optimizers.length - 1, 0));
      buildCards(); recompute([...app.state.optimizers.keys()]);
    });
    box.append(c.el);
    return c;
  });
  $("inspect").replaceChildren(...app.state.optimizers.map((o, k) => new Option(`${k + 1}. ${o.name}`, k, false, k === app.state.inspect)));
}

// --- the function: a registered one, or an expression checked by the server's safe parser ---------
async function setFunction(spec, keepStart) {
  let fn;
  try { fn = await (await api("/api/function", { function: spec })).json(); } catch (e) {
    $("expression-error").hidden = false; $("expression-error").textContent = e.message; return false;
  }
  $("expression-error").hidden = true;
  app.fn = fn; app.state.function = spec;
  $("formula").textContent = `f = ${fn.formula}   (${fn.description})`;
  if (!keepStart || !app.state.start || app.state.start.length !== fn.dim) app.state.start = [...fn.start];
  const s = await (await api("/api/surface", { function: spec, n: 200 })).json();
  if (fn.dim === 2) s.image = Draw.surfaceImage(s);
  app.surface = s;
  return true;
}

async function start() {
  app.meta = await (await api("/api/meta")).json();
  const saved = loadState();
  for (const f of app.meta.functions) $("function").add(new Option(`${f.name}: ${f.formula}`, f.name));
  $("function").add(new Option("(expression typed below)", ""));
  for (const o of app.meta.optimizers) $("add-name").add(new Option(o.name, o.name));
  for (const o of app.meta.elsewhere || []) {  // optimizers of matrices: one line each, why not here
    const line = document.createElement("li");
    line.textContent = o.note;
    $("elsewhere").append(line);
  }
  Object.assign(app.state, saved || {});
  if (!(await setFunction(app.state.function, true))) await setFunction("rosenbrock", false);
  const known = app.meta.functions.some((f) => f.name === app.state.function);
  $("function").value = known ? app.state.function : "";
  if (!known) $("expression").value = app.state.function;
  $("steps").value = app.state.steps;
  if (!app.state.optimizers.length) app.state.optimizers = ["adam", "sgd", "momentum", "rmsprop"].map(defaults);
  buildCards();
  wire();
  await recompute([...app.state.optimizers.keys()]);
}

function wire() {
  const all = () => [...app.state.optimizers.keys()];
  $("function").onchange = async () => {
    if (!$("function").value) { $("expression").focus(); return; }
    $("expression").value = "";
    await setFunction($("function").value, false);
    app.state.optimizers.forEach((o) => { o.hp.lr = app.fn.default_lr[o.name]; });
    buildCards(); recompute(all());
  };
  $("expression").onchange = async () => {
    if (await setFunction($("expression").value.trim(), false)) {
      $("function").value = "";
      app.state.optimizers.forEach((o) => { o.hp.lr = app.fn.default_lr[o.name]; });
      buildCards(); recompute(all());
    }
  };
  $("steps").onchange = () => {
    const n = Math.round(Number($("steps").value));
    if (!(n >= 1 && n <= app.meta.limits.steps)) { showError(`steps ${$("steps").value} must be in [1, ${app.meta.limits.steps}]`); return; }
    app.state.steps = n; recompute(all());
  };
  // click or drag on the map: the start point follows the pointer, paths recompute as it moves
  let dragging = false;
  const place = (e) => {
    const canvas = $("map"), r = canvas.getBoundingClientRect();
    const T = Draw.transform(canvas, app.fn.dim === 2 ? app.fn.window : [app.fn.window[0], [0, 1]]);
    const px = ((e.clientX - r.left) * canvas.width) / r.width, py = ((e.clientY - r.top) * canvas.height) / r.height;
    app.state.start = app.fn.dim === 2 ? [Number(T.x(px).toPrecision(4)), Number(T.y(py).toPrecision(4))] : [Number(T.x(px).toPrecision(4))];
    recompute(all());
  };
  $("map").onpointerdown = (e) => { dragging = true; place(e); };
  $("map").onpointermove = (e) => { if (dragging) place(e); };
  window.addEventListener("pointerup", () => { dragging = false; });
  $("add").onclick = () => {
    app.state.optimizers.push(defaults($("add-name").value));
    buildCards(); recompute([app.state.optimizers.length - 1]);
  };
  $("inspect").onchange = () => { app.state.inspect = Number($("inspect").value); recompute([app.state.inspect]); };
  $("sweep-y").onchange = () => { app.state.sweepY = $("sweep-y").value; saveState(); computeSweep(); };
  $("sweep").onclick = (e) => {
    if (!app.sweep || !app.sweepLayout) return;
    const { L, H, cw, ch } = app.sweepLayout, canvas = $("sweep"), r = canvas.getBoundingClientRect();
    const px = ((e.clientX - r.left) * canvas.width) / r.width, py = ((e.clientY - r.top) * canvas.height) / r.height;
    const i = Math.floor((px - L) / cw), j = Math.floor((4 + H - py) / ch);
    if (i < 0 || j < 0 || i >= app.sweep.x.values.length || j >= app.sweep.y.values.length) return;
    const o = app.state.optimizers[app.state.inspect];
    o.hp.lr = app.sweep.x.values[i]; o.hp[app.sweep.y.name] = app.sweep.y.values[j];
    buildCards(); recompute([app.state.inspect]);
  };
  $("tune").onclick = async () => {
    $("tune").disabled = true; $("tune").textContent = "tuning…";
    try {
      const r = await (await api("/api/tune", body({ optimizers: app.state.optimizers.map((o) => ({ name: o.name })) }))).json();
      r.tuned.forEach((t, k) => Object.assign(app.state.optimizers[k].hp, t.hyperparameters));
      buildCards(); await recompute(all());
    } catch (e) { showError(e.message); }
    $("tune").disabled = false; $("tune").textContent = "tune fairly";
  };
  // playback: the paths grow step by step; speed is steps per animation frame
  const tick = () => {
    if (!app.playing) return;
    app.t = Math.min(app.t + Number($("speed").value), app.state.steps);
    redraw();
    if (app.t >= app.state.steps) { app.playing = false; $("play").textContent = "▶ play"; return; }
    requestAnimationFrame(tick);
  };
  $("play").onclick = () => {
    if (app.stepMode) setStepMode(false);
    app.playing = !app.playing;
    $("play").textContent = app.playing ? "❚❚ pause" : "▶ play";
    if (app.playing) { if (app.t >= app.state.steps) app.t = 0; requestAnimationFrame(tick); }
  };
  $("step").onclick = () => stepBy(1);
  $("step-mode").onclick = () => setStepMode(!app.stepMode);
  $("update-next").onclick = () => stepBy(1);
  $("update-back").onclick = () => stepBy(-1);
  $("frame").oninput = () => { app.t = Number($("frame").value); redraw(); if (app.stepMode) showUpdate(); };
  const payload = () => body({ optimizers: app.state.optimizers.map((o) => ({ name: o.name, hyperparameters: o.hp })) });
  for (const b of root.querySelectorAll("button[data-format]")) {
    b.onclick = async () => {
      b.disabled = true;
      try {
        const blob = await (await api("/api/export", { ...payload(), format: b.dataset.format })).blob();
        const a = $("download"); a.href = URL.createObjectURL(blob); a.download = `race.${b.dataset.format}`; a.click();
      } catch (e) { showError(e.message); }
      b.disabled = false;
    };
  }
  $("command-button").onclick = async () => {
    try { $("command").textContent = (await (await api("/api/run", payload())).json()).command; } catch (e) { showError(e.message); }
  };
}

// mount(element, {markup, transport, save, load}): the UI built into element (from markup, the page's
// HTML, when given; the page's own body already holds it) and started. Returns the app: the browser
// tests read its drawn runs and measured latency (also as element.adamkitApp).
function mount(element, given = {}) {
  root = element;
  options = { ...page, ...given };
  if (options.markup !== undefined) element.innerHTML = options.markup;
  element.adamkitApp = app;
  start().catch((e) => showError(e.message));
  return app;
}
