"""One colour per optimizer, whatever its place in a race (the page reads the same table)."""

from adamkit import rules
from adamkit.lab import plots
from adamkit.lab.style import OPTIMIZER_STYLES, optimizer_style


def test_every_optimizer_has_its_own_colour_and_marker():
    assert set(OPTIMIZER_STYLES) == set(rules.VARIANTS)
    colours = [s["color"] for s in OPTIMIZER_STYLES.values()]
    markers = [s["marker"] for s in OPTIMIZER_STYLES.values()]
    assert len(set(colours)) == len(colours) and len(set(markers)) == len(markers)


def test_colour_follows_the_name_not_the_position():
    from adamkit.lab import run

    first = [run("quadratic", n, steps=3) for n in ("adam", "sgd")]
    second = [run("quadratic", n, steps=3) for n in ("sgd", "adam")]
    fig_a, fig_b = plots.plot_race(first), plots.plot_race(second)
    colour = {line.get_label().split()[0]: line.get_color()
              for fig in (fig_a, fig_b) for line in fig.axes[0].lines if "lr=" in line.get_label()}
    assert colour["adam"] == optimizer_style("adam")["color"] == "#0072B2"
    assert colour["sgd"] == optimizer_style("sgd")["color"]
    plots.plt.close("all")
