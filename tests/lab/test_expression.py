"""User expressions: whitelist parsing, symbolic gradients, one-line errors with a column."""

import numpy as np
import pytest

from adamkit.lab import functions as F
from adamkit.lab.expression import MAX_LENGTH, ExpressionError, parse


def test_expression_value_and_symbolic_gradient():
    fn = F.get("x**2 + 10*sin(y)")
    assert fn.dim == 2
    P = np.array([[1.0, 2.0], [-0.5, 0.3]])
    x, y = P[:, 0], P[:, 1]
    assert np.allclose(fn.value(P), x**2 + 10 * np.sin(y))
    assert np.allclose(fn.grad(P), np.stack([2 * x, 10 * np.cos(y)], axis=-1))


def test_one_variable_gives_a_1d_function():
    fn = F.from_expression("(x - 2)**2")
    assert fn.dim == 1 and fn.window == ((-5.0, 5.0),)
    assert np.allclose(fn.grad(np.array([[8.0]])), [[12.0]])


@pytest.mark.parametrize(
    "text",
    [
        "sqrt(x**2 + y**2 + 1) + exp(-x) * cos(pi*y)",
        "abs(x - 1) + tanh(y)**2 + log(1 + x**2)",
        "atan(x*y) + 1/(1 + x**2) - y**3/3 + e**(0.1*x)",
        "sinh(x/3) + cosh(y/4) + tan(0.2*x) + asin(0.1*y) + acos(0.1*x)",
        "x**-2 + y**0.5",
    ],
)
def test_expression_gradients_match_finite_differences(text):
    fn = F.get(text)
    rng = np.random.default_rng(1)
    P = rng.uniform(0.3, 2.0, size=(50, fn.dim))  # away from kinks and poles
    h = 1e-6
    for i in range(fn.dim):
        e = np.zeros(fn.dim)
        e[i] = h
        numeric = (fn.value(P + e) - fn.value(P - e)) / (2 * h)
        assert np.allclose(fn.grad(P)[:, i], numeric, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    ("text", "column", "token", "why"),
    [
        ("x.__class__", 2, ".", "attribute access"),
        ("(x).real + y", 4, ".", "attribute access"),
        ("__import__('os')", 1, "__import__", "dunder"),
        ("x + __builtins__", 5, "__builtins__", "dunder"),
        ("import os", 1, "import", "statements"),
        ("lambda: x", 1, "lambda", "lambda"),
        ("x ^ 2", 3, "^", "use \\*\\* for powers"),
        ("foo(x) + y", 1, "foo", "unknown function"),
        ("x + z", 5, "z", "unknown name"),
        ("sin(x, y)", 1, "sin(x, y)", "exactly one argument"),
        ("'a' + x", 1, "'a'", "constant of type str"),
        ("x[0]", 1, "x[0]", "Subscript"),
        ("x +* 2", 4, "*", "syntax error"),
        ("x**1000", 4, "1000", "exponent too large"),
        ("x + 9**9**9", 8, "9**9", "exponent too large"),
        ("x / 0", 5, "0", "division by zero"),
        ("x if y else 1", 1, "x if y else 1", "IfExp"),
        ("[x for x in y]", 1, "[x for x in y]", "ListComp"),
        ("x < y", 1, "x < y", "comparisons"),
        ("getattr(x, 'a')", 1, "getattr", "unknown function"),
        ("True + x", 1, "True", "constant of type bool"),
    ],
)
def test_rejected_expressions_name_token_and_column(text, column, token, why):
    with pytest.raises(ExpressionError, match=why) as info:
        parse(text)
    message = str(info.value)
    assert "\n" not in message
    assert f"at column {column} ({token!r})" in message


def test_overlong_and_empty_and_constant_input():
    with pytest.raises(ExpressionError, match="too long"):
        parse("x+" * MAX_LENGTH + "y")
    with pytest.raises(ExpressionError, match="empty"):
        parse("   ")
    with pytest.raises(ExpressionError, match="neither x nor y"):
        parse("1 + 2")


def test_deep_nesting_is_an_error_not_a_crash():
    with pytest.raises(ExpressionError, match="nested"):
        parse("sin(" * 45 + "x" + ")" * 45)
    assert parse("(" * 140 + "x" + ")" * 140) is not None  # parentheses alone add no depth
    with pytest.raises(ExpressionError, match="nested"):
        parse("-" * 200 + "x")


def test_no_eval_of_user_text(monkeypatch):
    import builtins

    def forbidden(*args, **kwargs):
        raise AssertionError("eval/exec must not be called")

    monkeypatch.setattr(builtins, "eval", forbidden)
    monkeypatch.setattr(builtins, "exec", forbidden)
    fn = F.get("x**2 + 10*sin(y)")
    assert np.isfinite(fn.grad(np.ones((3, 2)))).all()
