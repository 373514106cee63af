"""Pictures: every function draws with title, labels, legend and the paths inside the axes."""

import numpy as np
import pytest

from adamkit.lab import functions as F
from adamkit.lab import plots
from adamkit.lab.animate import frame_steps
from adamkit.lab.engine import run


def race(name, steps=25):
    return [run(name, o, steps=steps) for o in ("adam", "sgd", "momentum")]


@pytest.mark.parametrize("name", F.names())
def test_race_and_loss_figures_are_labelled(name):
    results = race(name)
    fig = plots.plot_race(results)
    ax = fig.axes[0]
    assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel()
    legend = fig.legends[0] if fig.legends else ax.get_legend()
    labels = [t.get_text() for t in legend.get_texts()]
    assert any(label.startswith("adam (lr=") for label in labels)
    # the window is shown whole, and the finite parts of every path lie inside the axes
    (x0, x1) = ax.get_xlim()
    assert x0 <= results[0].function.window[0][0] and x1 >= results[0].function.window[0][1]
    if results[0].function.dim == 2:
        y0, y1 = ax.get_ylim()
        w = results[0].function.window
        for r in results:
            p = r.path[0][np.isfinite(r.path[0]).all(axis=1)]
            inside = (p[:, 0] >= x0) & (p[:, 0] <= x1) & (p[:, 1] >= y0) & (p[:, 1] <= y1)
            far = (p[:, 0] < w[0][0] - 0.25 * (w[0][1] - w[0][0])) | (
                p[:, 1] > w[1][1] + 0.25 * (w[1][1] - w[1][0]))
            assert (inside | far).all()
    plots.plt.close(fig)
    fig = plots.plot_loss(results)
    ax = fig.axes[0]
    assert ax.get_yscale() == ("log" if results[0].function.f_min is not None else "symlog")
    assert ax.get_legend() is not None and ax.get_xlabel() == "step"
    plots.plt.close(fig)


def test_pngs_are_written(tmp_path):
    results = race("himmelblau")
    for draw, name in [(plots.plot_race, "race.png"), (plots.plot_loss, "loss.png"),
                       (plots.plot_surface, "surface.png")]:
        path = draw(results, tmp_path / name)
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_view_window_widens_for_paths_but_is_capped():
    results = [run("saddle", "sgd", steps=100, lr=0.05)]  # escapes far beyond the window
    (x0, x1), (y0, y1) = plots.view_window(results)
    assert (x0, x1) == (-2.0, 2.0)  # x heads for 0 and stays in the window
    assert (y0, y1) == (-2.0, 3.0)  # y runs off to +inf: shown up to a quarter width beyond
    small = [run("quadratic", "adam", steps=5)]
    assert plots.view_window(small) == F.get("quadratic").window


def test_phase_diagram_marks_diverged_cells(tmp_path):
    lr = np.logspace(-4, -1, 5)
    mom = np.array([0.0, 0.5, 0.9])
    L, M = np.meshgrid(lr, mom)
    r = run("rosenbrock", "sgd", steps=100, lr=L.ravel(), momentum=M.ravel())
    assert r.diverged.any() and not r.diverged.all()
    fig = plots.plot_phase("lr", lr, "momentum", mom, r.final_loss().reshape(L.shape),
                           r.diverged.reshape(L.shape), function=r.function, optimizer="sgd",
                           steps=100)
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert "diverged" in labels and any(label.startswith("best:") for label in labels)
    plots.plt.close(fig)


def test_cell_edges():
    np.testing.assert_allclose(plots._edges(np.array([1.0, 2.0, 3.0]), False), [0.5, 1.5, 2.5, 3.5])
    np.testing.assert_allclose(plots._edges(np.array([1e-2, 1e-1, 1.0]), True),
                               10.0 ** np.array([-2.5, -1.5, -0.5, 0.5]))


def test_frame_steps():
    assert frame_steps(10, 60).tolist() == list(range(11))
    shown = frame_steps(1000, 60)
    assert shown[0] == 0 and shown[-1] == 1000 and len(shown) <= 60
    assert np.all(np.diff(shown) > 0)


def _near(pixels: np.ndarray, hex_colour: str, tol: int = 40) -> int:
    rgb = np.array([int(hex_colour[i:i + 2], 16) for i in (1, 3, 5)])
    return int((np.abs(pixels.astype(int) - rgb).sum(axis=-1) < tol).sum())


@pytest.mark.parametrize("name", ["rosenbrock", "parabola"])
def test_gif_has_the_map_and_a_loss_panel_beside_it(tmp_path, name):
    from PIL import Image

    from adamkit.lab.animate import animate
    from adamkit.lab.style import optimizer_style

    results = [run(name, o, steps=200) for o in ("adam", "sgd")]
    written = animate(results, tmp_path / "race.gif")
    with Image.open(written[0]) as gif:
        assert gif.n_frames == len(frame_steps(200, 60)) and gif.size == (800, 384)  # two panels side by side
        gif.seek(gif.n_frames - 1)
        last = np.asarray(gif.convert("RGB"))
    body = last[30:300]  # below the title, above the legend
    left, right = body[:, :400], body[:, 450:]
    for opt in ("adam", "sgd"):
        colour = optimizer_style(opt)["color"]
        assert _near(left, colour) > 20 and _near(right, colour) > 20, opt  # path and loss line
    legend = last[340:]  # the legend sits under both panels, not on the map
    assert _near(legend, optimizer_style("adam")["color"]) > 5


def test_arrows_draw_momentum_and_step_for_the_adam_family_only():
    from matplotlib.quiver import Quiver

    results = [run("rosenbrock", o, steps=200, internals=True) for o in ("adam", "nadam", "sgd")]
    fig = plots.plot_race(results, arrows=True)
    quivers = [a for a in fig.axes[0].collections if isinstance(a, Quiver)]
    assert len(quivers) == 4  # -m̂ and the step, for adam and nadam; none for sgd
    assert all(q.N == 6 for q in quivers)
    # the step arrows point along the step taken, from the iterate it starts at
    step = quivers[1]
    p = results[0].path[0]
    t = np.flatnonzero((p[:-1, 0] == step.X[1]) & (p[:-1, 1] == step.Y[1]))
    assert len(t) == 1
    taken = p[t[0] + 1] - p[t[0]]
    drawn = np.array([step.U[1], step.V[1]])
    assert np.allclose(drawn / np.linalg.norm(drawn), taken / np.linalg.norm(taken))
    labels = fig.legends[0].get_texts()
    assert any("m̂" in t.get_text() for t in labels)
    plots.plt.close(fig)
    plain = plots.plot_race(results)
    assert not [a for a in plain.axes[0].collections if isinstance(a, Quiver)]
    plots.plt.close(plain)


def test_race_arrows_option(tmp_path):
    from adamkit.cli import main

    out = tmp_path / "a"
    assert main(["race", "--optimizers", "adam,sgd", "--steps", "50", "--arrows", "--out",
                 str(out), "--quiet"]) == 0
    assert (out / "race.png").stat().st_size > 1000


def test_surface_has_log_height_and_the_paths_on_top():
    results = race("rosenbrock", steps=200)
    fig = plots.plot_surface(results)
    ax = fig.axes[0]
    assert ax.name == "3d" and "log10" in ax.get_zlabel()
    lines = {ln.get_label(): ln for ln in ax.get_lines()}
    adam = lines[plots.label(results[0])]
    xs, ys, zs = adam.get_data_3d()
    expected = np.log10(1 + results[0].loss[0] - 0.0)
    assert np.all(zs >= expected - 1e-12)  # lifted, never under the surface
    assert "start" in lines and "global minimum" in lines
    plots.plt.close(fig)
