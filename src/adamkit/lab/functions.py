"""Classic optimization test functions with analytic gradients, known minima and plotting windows.

Every function works on a batch of points: ``value(P)`` takes ``P`` of shape ``(..., dim)`` and
returns shape ``(...)``; ``grad(P)`` returns the gradient with the shape of ``P`` (and writes into
``out=`` when given, which the engine uses to avoid an allocation per step).

The registry ``FUNCTIONS`` maps a name to a :class:`TestFunction`; :func:`get` looks a name up and
also accepts a user expression such as ``"x**2 + 10*sin(y)"`` (see :mod:`adamkit.lab.expression`).

Lab default learning rates (``TestFunction.lab_lr``) are one value per function and per optimizer
*family*: ``"sgd"`` (sgd, momentum, nesterov), ``"adaptive"`` (rmsprop, adam, adamw, amsgrad,
adamax, nadam), ``"adagrad"`` and ``"radam"`` (RAdam's first steps, while its variance estimate is
not yet rectifiable, are un-adapted momentum-SGD steps of size lr, so it needs a smaller lr where
gradients are large). They were chosen once, from an lr sweep, so that every member of a family is
stable in the default race and the race shows something; they are not tuned per optimizer.
``--tune`` does that, with a stated budget, and reports both.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from adamkit.errors import UsageError, choice

Array = np.ndarray


@dataclass(frozen=True)
class TestFunction:
    """A test function: value, analytic gradient, known minima and a plotting window.

    ``minima`` has shape (k, dim) (k = 0 when the function has no minimum, like the saddle);
    ``window`` is one (low, high) pair per coordinate; ``f_min`` is the value at the minima
    (None when unknown or unbounded); ``log_levels`` says whether contours look best log-spaced.
    """

    __test__ = False  # not a pytest test class, despite the name

    name: str
    formula: str
    dim: int
    value_fn: Callable[[Array], Array]
    grad_fn: Callable[[Array, Array], None]
    minima: Array
    window: tuple[tuple[float, float], ...]
    start: tuple[float, ...]
    f_min: float | None
    lab_lr: dict[str, float]
    steps: int = 500
    log_levels: bool = True
    description: str = ""
    extra: dict = field(default_factory=dict)

    def value(self, P) -> Array:
        """f(P) for points P of shape (..., dim)."""
        return self.value_fn(np.asarray(P, dtype=float))

    def grad(self, P, out: Array | None = None) -> Array:
        """∇f(P), same shape as P; written into ``out`` when given."""
        P = np.asarray(P, dtype=float)
        if out is None:
            out = np.empty_like(P)
        self.grad_fn(P, out)
        return out

    def nearest_minimum_distance(self, P) -> Array | None:
        """Euclidean distance from each point (..., dim) to the nearest known minimum, or None."""
        if len(self.minima) == 0:
            return None
        P = np.asarray(P, dtype=float)
        d = np.linalg.norm(P[..., None, :] - self.minima, axis=-1)
        return d.min(axis=-1)

    def default_lr(self, family: str) -> float:
        """The lab's default lr for an optimizer family on this function (see module doc)."""
        return self.lab_lr.get(family, self.lab_lr["adaptive"])


# --- the functions --------------------------------------------------------------------------------
# Each pair (value, grad) is written out by hand; tests compare every grad with central differences.


def _parabola(P):
    return (P[..., 0] - 2.0) ** 2


def _parabola_grad(P, out):
    out[..., 0] = 2.0 * (P[..., 0] - 2.0)


def _sphere(P):
    return P[..., 0] ** 2 + P[..., 1] ** 2


def _sphere_grad(P, out):
    np.multiply(P, 2.0, out=out)


_ILL_SCALE = 50.0  # condition number of the ill-conditioned quadratic


def _ill(P):
    return 0.5 * (P[..., 0] ** 2 + _ILL_SCALE * P[..., 1] ** 2)


def _ill_grad(P, out):
    out[..., 0] = P[..., 0]
    out[..., 1] = _ILL_SCALE * P[..., 1]


def _rosenbrock(P):
    x, y = P[..., 0], P[..., 1]
    return (1.0 - x) ** 2 + 100.0 * (y - x * x) ** 2


def _rosenbrock_grad(P, out):
    x, y = P[..., 0], P[..., 1]
    t = y - x * x
    out[..., 0] = -2.0 * (1.0 - x) - 400.0 * x * t
    out[..., 1] = 200.0 * t


def _himmelblau(P):
    x, y = P[..., 0], P[..., 1]
    return (x * x + y - 11.0) ** 2 + (x + y * y - 7.0) ** 2


def _himmelblau_grad(P, out):
    x, y = P[..., 0], P[..., 1]
    a = x * x + y - 11.0
    b = x + y * y - 7.0
    out[..., 0] = 4.0 * x * a + 2.0 * b
    out[..., 1] = 2.0 * a + 4.0 * y * b


def _beale(P):
    x, y = P[..., 0], P[..., 1]
    return (
        (1.5 - x + x * y) ** 2 + (2.25 - x + x * y**2) ** 2 + (2.625 - x + x * y**3) ** 2
    )


def _beale_grad(P, out):
    x, y = P[..., 0], P[..., 1]
    a = 1.5 - x + x * y
    b = 2.25 - x + x * y**2
    c = 2.625 - x + x * y**3
    out[..., 0] = 2.0 * (a * (y - 1.0) + b * (y**2 - 1.0) + c * (y**3 - 1.0))
    out[..., 1] = 2.0 * x * (a + 2.0 * b * y + 3.0 * c * y**2)


def _rastrigin(P):
    return 10.0 * P.shape[-1] + np.sum(P * P - 10.0 * np.cos(2.0 * np.pi * P), axis=-1)


def _rastrigin_grad(P, out):
    out[...] = 2.0 * P + 20.0 * np.pi * np.sin(2.0 * np.pi * P)


def _ackley(P):
    x, y = P[..., 0], P[..., 1]
    r = np.sqrt(0.5 * (x * x + y * y))
    return (
        -20.0 * np.exp(-0.2 * r)
        - np.exp(0.5 * (np.cos(2 * np.pi * x) + np.cos(2 * np.pi * y)))
        + np.e
        + 20.0
    )


def _ackley_grad(P, out):
    # d/dx of -20 exp(-0.2 r), r = sqrt((x²+y²)/2): 4 exp(-0.2 r) * x / (2 r); 0 at r = 0
    # (the function has a cone tip there; 0 is the subgradient an optimizer can live with).
    x, y = P[..., 0], P[..., 1]
    r = np.sqrt(0.5 * (x * x + y * y))
    safe_r = np.where(r > 0, r, 1.0)
    cone = np.where(r > 0, 2.0 * np.exp(-0.2 * r) / safe_r, 0.0)
    wave = np.pi * np.exp(0.5 * (np.cos(2 * np.pi * x) + np.cos(2 * np.pi * y)))
    out[..., 0] = cone * x + wave * np.sin(2 * np.pi * x)
    out[..., 1] = cone * y + wave * np.sin(2 * np.pi * y)


def _booth(P):
    x, y = P[..., 0], P[..., 1]
    return (x + 2.0 * y - 7.0) ** 2 + (2.0 * x + y - 5.0) ** 2


def _booth_grad(P, out):
    x, y = P[..., 0], P[..., 1]
    a = x + 2.0 * y - 7.0
    b = 2.0 * x + y - 5.0
    out[..., 0] = 2.0 * a + 4.0 * b
    out[..., 1] = 4.0 * a + 2.0 * b


def _styblinski_tang(P):
    return 0.5 * np.sum(P**4 - 16.0 * P**2 + 5.0 * P, axis=-1)


def _styblinski_tang_grad(P, out):
    out[...] = 0.5 * (4.0 * P**3 - 32.0 * P + 5.0)


def _saddle(P):
    return P[..., 0] ** 2 - P[..., 1] ** 2


def _saddle_grad(P, out):
    out[..., 0] = 2.0 * P[..., 0]
    out[..., 1] = -2.0 * P[..., 1]


_ST_MIN = -2.903534027771177  # root of 4x³ - 32x + 5 = 0 nearest -2.9

FUNCTIONS: dict[str, TestFunction] = {
    f.name: f
    for f in [
        TestFunction(
            "parabola", "(x - 2)^2", 1, _parabola, _parabola_grad,
            np.array([[2.0]]), ((-2.0, 8.0),), (8.0,), 0.0,
            {"sgd": 0.1, "adaptive": 0.1, "adagrad": 1.0, "radam": 0.1}, steps=50,
            description="the seeds' 1-D example: (x-2)^2 from x = 8 with lr 0.1 for 50 steps",
        ),
        TestFunction(
            "quadratic", "x^2 + y^2", 2, _sphere, _sphere_grad,
            np.array([[0.0, 0.0]]), ((-4.0, 4.0), (-4.0, 4.0)), (3.0, 1.5), 0.0,
            {"sgd": 0.1, "adaptive": 0.1, "adagrad": 1.0, "radam": 0.1}, steps=100,
            description="isotropic quadratic (the seeds' x^2 + y^2)",
        ),
        TestFunction(
            "ill_conditioned", "(x^2 + 50 y^2) / 2", 2, _ill, _ill_grad,
            np.array([[0.0, 0.0]]), ((-10.0, 10.0), (-3.0, 3.0)), (-8.0, 2.0), 0.0,
            {"sgd": 0.02, "adaptive": 0.1, "adagrad": 1.0, "radam": 0.05}, steps=200,
            description="quadratic with condition number 50: SGD zig-zags, Adam rescales",
        ),
        TestFunction(
            "rosenbrock", "(1 - x)^2 + 100 (y - x^2)^2", 2, _rosenbrock, _rosenbrock_grad,
            np.array([[1.0, 1.0]]), ((-2.0, 2.0), (-1.0, 3.0)), (-1.5, 2.5), 0.0,
            {"sgd": 0.001, "adaptive": 0.05, "adagrad": 0.1, "radam": 0.002}, steps=1000,
            description="curved narrow valley; the seeds' race from (-1.5, 2.5)",
        ),
        TestFunction(
            "himmelblau", "(x^2 + y - 11)^2 + (x + y^2 - 7)^2", 2, _himmelblau, _himmelblau_grad,
            np.array([[3.0, 2.0], [-2.805118086952745, 3.131312518250573],
                      [-3.779310253377747, -3.283185991286170],
                      [3.584428340330492, -1.848126526964404]]),
            ((-5.0, 5.0), (-5.0, 5.0)), (-4.0, 4.0), 0.0,
            {"sgd": 0.005, "adaptive": 0.01, "adagrad": 0.5, "radam": 0.01}, steps=500,
            description="four global minima; the seeds' animation from (-4, 4) with lr 0.01",
        ),
        TestFunction(
            "beale", "(1.5 - x + xy)^2 + (2.25 - x + xy^2)^2 + (2.625 - x + xy^3)^2", 2,
            _beale, _beale_grad, np.array([[3.0, 0.5]]), ((-4.5, 4.5), (-4.5, 4.5)),
            (1.0, 1.5), 0.0, {"sgd": 0.001, "adaptive": 0.05, "adagrad": 0.1, "radam": 0.01}, steps=1000,
            description="flat plateaus and steep walls",
        ),
        TestFunction(
            "rastrigin", "20 + sum(x_i^2 - 10 cos(2 pi x_i))", 2, _rastrigin, _rastrigin_grad,
            np.array([[0.0, 0.0]]), ((-5.12, 5.12), (-5.12, 5.12)), (3.2, -2.3), 0.0,
            {"sgd": 0.002, "adaptive": 0.05, "adagrad": 0.5, "radam": 0.05}, steps=500, log_levels=False,
            description="many regular local minima around a global one at the origin",
        ),
        TestFunction(
            "ackley", "-20 exp(-0.2 sqrt((x^2+y^2)/2)) - exp((cos 2pi x + cos 2pi y)/2) + e + 20",
            2, _ackley, _ackley_grad, np.array([[0.0, 0.0]]), ((-5.0, 5.0), (-5.0, 5.0)),
            (-3.5, 3.0), 0.0, {"sgd": 0.01, "adaptive": 0.1, "adagrad": 0.5, "radam": 0.1}, steps=500,
            log_levels=False, description="nearly flat outer region with many local minima",
        ),
        TestFunction(
            "booth", "(x + 2y - 7)^2 + (2x + y - 5)^2", 2, _booth, _booth_grad,
            np.array([[1.0, 3.0]]), ((-10.0, 10.0), (-10.0, 10.0)), (-8.0, -7.0), 0.0,
            {"sgd": 0.01, "adaptive": 0.5, "adagrad": 1.0, "radam": 0.05}, steps=300,
            description="a plain convex quadratic with correlated coordinates",
        ),
        TestFunction(
            "styblinski_tang", "sum(x_i^4 - 16 x_i^2 + 5 x_i) / 2", 2, _styblinski_tang,
            _styblinski_tang_grad, np.array([[_ST_MIN, _ST_MIN]]), ((-5.0, 5.0), (-5.0, 5.0)),
            (-0.5, 4.5), 2 * _styblinski_tang(np.array([_ST_MIN])),
            {"sgd": 0.005, "adaptive": 0.05, "adagrad": 0.5, "radam": 0.02}, steps=300, log_levels=False,
            description="one global and three local minima (only the global one is listed)",
        ),
        TestFunction(
            "saddle", "x^2 - y^2", 2, _saddle, _saddle_grad, np.zeros((0, 2)),
            ((-2.0, 2.0), (-2.0, 2.0)), (-1.5, 0.05), None,
            {"sgd": 0.05, "adaptive": 0.05, "adagrad": 0.5, "radam": 0.05}, steps=100, log_levels=False,
            description="unbounded below: paths that escape the saddle leave the window",
        ),
    ]
}

ALIASES = {"sphere": "quadratic", "ill": "ill_conditioned", "styblinski": "styblinski_tang",
           "st": "styblinski_tang", "quadratic_1d": "parabola"}


def _normalise(name: str) -> str:
    return name.strip().lower().replace("-", "_")


def names() -> list[str]:
    return list(FUNCTIONS)


def get(spec, *, window=None) -> TestFunction:
    """A TestFunction by name (``"rosenbrock"``), or from an expression (``"x**2 + 10*sin(y)"``).

    Anything that is not a registered name and contains an operator, a parenthesis or a digit is
    parsed as an expression; otherwise an unknown name raises a UsageError listing the valid ones.
    ``window`` overrides the plotting window (one (low, high) pair per coordinate).
    """
    if isinstance(spec, TestFunction):
        fn = spec
    else:
        key = _normalise(str(spec))
        key = ALIASES.get(key, key)
        if key in FUNCTIONS:
            fn = FUNCTIONS[key]
        elif key.isidentifier() and key not in ("x", "y"):
            raise choice("function", spec, FUNCTIONS)
        else:
            fn = from_expression(str(spec))
    if window is not None:
        window = tuple((float(lo), float(hi)) for lo, hi in window)
        if len(window) != fn.dim or any(not lo < hi for lo, hi in window):
            raise UsageError(
                f"window {window} must give {fn.dim} increasing (low, high) pairs for {fn.name}"
            )
        fn = _replace(fn, window=window)
    return fn


def from_expression(text: str, *, window=None) -> TestFunction:
    """A TestFunction for a user expression such as ``"x**2 + 10*sin(y)"``.

    One variable ``x`` gives a 1-D function; ``y`` makes it 2-D. Known minima are not computed
    (``minima`` is empty, ``f_min`` None), so races report no distance to a minimum.
    Default window [-5, 5] per coordinate; lab default lrs: sgd 0.01, adaptive 0.05, adagrad 0.5, radam 0.02.
    """
    from adamkit.lab.expression import compile_expression  # sympy loads only when an expression is used

    compiled = compile_expression(text)
    dim = compiled.dim
    if window is None:
        window = ((-5.0, 5.0),) * dim
    (lo, hi) = window[0]
    start = (lo + 0.85 * (hi - lo),) if dim == 1 else (
        lo + 0.15 * (hi - lo), window[1][0] + 0.85 * (window[1][1] - window[1][0])
    )
    return TestFunction(
        name=text.strip(), formula=str(compiled.expr), dim=dim, value_fn=compiled.value_fn,
        grad_fn=compiled.grad_fn, minima=np.zeros((0, dim)), window=tuple(window), start=start,
        f_min=None, lab_lr={"sgd": 0.01, "adaptive": 0.05, "adagrad": 0.5, "radam": 0.02}, steps=300,
        log_levels=False, description="user expression; gradient derived symbolically",
        extra={"expression": compiled.expr, "gradient": compiled.gradient},
    )


def contour_levels(fn: TestFunction, Z: Array) -> tuple[Array, bool]:
    """(levels, log) of f over a grid Z, as the page and the animations draw them: log-spaced
    levels of f - f* where f* is known and the function is steep, else 30 even levels of f."""
    finite = Z[np.isfinite(Z)]
    log = bool(fn.log_levels and fn.f_min is not None and finite.size)
    if log:
        shifted = finite - fn.f_min
        lo = max(float(np.percentile(shifted, 0.5)), 1e-3)
        return np.logspace(np.log10(lo), np.log10(max(shifted.max(), lo * 10)), 25) + fn.f_min, log
    if finite.size:
        return np.linspace(finite.min(), finite.max(), 30), log
    return np.array([]), log


def _replace(fn: TestFunction, **changes) -> TestFunction:
    from dataclasses import replace

    return replace(fn, **changes)


class GradientNoise:
    """Gaussian noise added to the gradient, to mimic mini-batch gradients: g̃ = ∇f + σ·ξ.

    ξ ~ N(0, I) drawn from ``numpy.random.default_rng(seed)``, independently for every
    configuration, coordinate and step, so a run with a given seed is reproducible.
    """

    def __init__(self, scale: float, seed: int | None = 0):
        if not np.isfinite(scale) or scale < 0:
            raise UsageError(f"noise scale {scale!r} must be a finite number >= 0")
        self.scale = float(scale)
        self.rng = np.random.default_rng(seed)

    def __call__(self, grad: Array) -> Array:
        if self.scale:
            grad += self.scale * self.rng.standard_normal(grad.shape)
        return grad
