"""User test functions from an expression like ``"x**2 + 10*sin(y)"``, differentiated symbolically.

Safety: the text is parsed with :func:`ast.parse` and every node is checked against a whitelist
(numbers, the variables ``x`` and ``y``, the constants ``pi`` and ``e``, ``+ - * / **``, unary
``+ -``, and calls of the one-argument functions in ``ALLOWED_FUNCTIONS``). The text is never
passed to ``eval``/``exec``/``sympify``: a sympy expression is built node by node from the
validated tree, sympy differentiates it, and a small NumPy tree-walker evaluates value and gradient.
A rejected expression raises :class:`ExpressionError` (a UsageError) on one line naming the
offending token and its 1-based column.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import sympy

from adamkit.errors import UsageError

MAX_LENGTH = 300
MAX_DEPTH = 40  # nesting of the syntax tree
MAX_EXPONENT = 100  # |p| in x**p for a constant p; keeps sympy away from giant integers

X, Y = sympy.symbols("x y", real=True)
VARIABLES = {"x": X, "y": Y}
CONSTANTS = {"pi": sympy.pi, "e": sympy.E}
ALLOWED_FUNCTIONS: dict[str, Callable] = {
    "sin": sympy.sin, "cos": sympy.cos, "tan": sympy.tan,
    "sinh": sympy.sinh, "cosh": sympy.cosh, "tanh": sympy.tanh,
    "asin": sympy.asin, "acos": sympy.acos, "atan": sympy.atan, "arctan": sympy.atan,
    "exp": sympy.exp, "log": sympy.log, "sqrt": sympy.sqrt, "abs": sympy.Abs,
}
_BINARY = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**"}
_UNARY = {ast.UAdd: "+", ast.USub: "-"}
_HINTS = {ast.BitXor: "use ** for powers", ast.MatMult: "use * for products"}

ALLOWED_SUMMARY = (
    "allowed: numbers, x, y, pi, e, + - * / **, and "
    + ", ".join(sorted(ALLOWED_FUNCTIONS))
    + "(...)"
)


class ExpressionError(UsageError):
    """A rejected expression: names the offending token and its column (1-based)."""


def _fail(text: str, col: int, token: str, why: str) -> ExpressionError:
    return ExpressionError(
        f"bad expression {text!r} at column {col + 1} ({token!r}): {why}; {ALLOWED_SUMMARY}"
    )


def _token(text: str, node: ast.AST) -> str:
    segment = ast.get_source_segment(text, node) or type(node).__name__
    return segment if len(segment) <= 20 else segment[:17] + "..."


def parse(text: str) -> sympy.Expr:
    """Validate ``text`` against the whitelist and return the sympy expression it denotes."""
    if not isinstance(text, str):
        raise UsageError(f"expression must be a string, got {type(text).__name__}")
    if len(text) > MAX_LENGTH:
        raise ExpressionError(
            f"bad expression: {len(text)} characters is too long (at most {MAX_LENGTH})"
        )
    if not text.strip():
        raise ExpressionError("bad expression: empty; e.g. 'x**2 + 10*sin(y)'")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        raise _syntax_error(text.strip(), exc) from None
    except (RecursionError, MemoryError, ValueError):
        raise ExpressionError("bad expression: too deeply nested or not parseable") from None
    text = text.strip()
    depth = _depth(tree.body)
    if depth > MAX_DEPTH:
        raise ExpressionError(f"bad expression: nested {depth} deep (at most {MAX_DEPTH})")
    expr = _build(text, tree.body)
    if expr.has(sympy.zoo, sympy.nan, sympy.oo, -sympy.oo):
        raise ExpressionError(f"bad expression {text!r}: undefined (division by zero?)")
    if not expr.free_symbols:
        raise ExpressionError(f"bad expression {text!r}: it uses neither x nor y")
    return expr


def _depth(node: ast.AST) -> int:
    """Depth of the tree, iteratively (a recursive walk could itself overflow the stack)."""
    deepest, todo = 0, [(node, 1)]
    while todo:
        node, d = todo.pop()
        deepest = max(deepest, d)
        todo.extend((child, d + 1) for child in ast.iter_child_nodes(node))
    return deepest


def _syntax_error(text: str, exc: SyntaxError) -> ExpressionError:
    col = max((exc.offset or 1) - 1, 0)
    token = text[col : col + 1] if col < len(text) else "end of input"
    try:  # a statement (import, assignment, ...) parses in exec mode but not as an expression
        ast.parse(text, mode="exec")
        why = "statements (import, assignment, ...) are not allowed, give one expression"
        col, token = 0, text.split()[0] if text.split() else text
    except SyntaxError:
        why = f"syntax error ({exc.msg})"
    return _fail(text, col, token, why)


def _build(text: str, node: ast.AST) -> sympy.Expr:
    """Turn one validated node into sympy, rejecting anything outside the whitelist."""
    if isinstance(node, ast.Constant):
        value = node.value
        if isinstance(value, bool) or not isinstance(value, int | float):
            return _raise(text, node, f"constant of type {type(value).__name__} is not allowed")
        if not math.isfinite(float(value)):
            return _raise(text, node, "number too large")
        return sympy.Integer(value) if isinstance(value, int) else sympy.Float(value)
    if isinstance(node, ast.Name):
        if node.id.startswith("__"):
            return _raise(text, node, "dunder names are not allowed")
        if node.id in VARIABLES:
            return VARIABLES[node.id]
        if node.id in CONSTANTS:
            return CONSTANTS[node.id]
        if node.id in ALLOWED_FUNCTIONS:
            return _raise(text, node, f"function {node.id} must be called, e.g. {node.id}(x)")
        return _raise(text, node, "unknown name (variables are x and y)")
    if isinstance(node, ast.BinOp):
        if type(node.op) not in _BINARY:
            hint = _HINTS.get(type(node.op), "operator not allowed")
            left_end = node.left.end_col_offset or node.left.col_offset  # ast.parse sets it
            gap = text[left_end : node.right.col_offset]
            col = left_end + len(gap) - len(gap.lstrip())
            return _raise(text, node, hint, col=col, token=gap.strip() or "?")
        left, right = _build(text, node.left), _build(text, node.right)
        return _binary(text, node, left, right)
    if isinstance(node, ast.UnaryOp):
        if type(node.op) not in _UNARY:
            return _raise(text, node, "operator not allowed")
        operand = _build(text, node.operand)
        return -operand if isinstance(node.op, ast.USub) else operand
    if isinstance(node, ast.Call):
        func = node.func
        if not isinstance(func, ast.Name):
            return _raise(text, func, "only calls of the allowed function names are allowed")
        if func.id.startswith("__"):
            return _raise(text, func, "dunder names are not allowed")
        if func.id not in ALLOWED_FUNCTIONS:
            return _raise(text, func, "unknown function")
        if node.keywords or len(node.args) != 1 or isinstance(node.args[0], ast.Starred):
            return _raise(text, node, f"{func.id}() takes exactly one argument")
        return ALLOWED_FUNCTIONS[func.id](_build(text, node.args[0]))
    if isinstance(node, ast.Attribute):
        col = text.find(".", node.value.end_col_offset or node.col_offset)
        return _raise(text, node, "attribute access is not allowed", col=col, token=".")
    if isinstance(node, ast.Lambda):
        return _raise(text, node, "lambda is not allowed", token="lambda")
    if isinstance(node, ast.Compare | ast.BoolOp):
        return _raise(text, node, "comparisons and boolean operators are not allowed")
    return _raise(text, node, f"{type(node).__name__} is not allowed")


def _binary(text, node, left, right):
    op = type(node.op)
    if op is ast.Add:
        return left + right
    if op is ast.Sub:
        return left - right
    if op is ast.Mult:
        return left * right
    if op is ast.Div:
        if right == 0:
            return _raise(text, node.right, "division by zero")
        return left / right
    # Pow: keep exponents small, and fold constant**constant in floating point so that
    # sympy never builds a giant exact integer (9**9**9).
    if right.is_number and abs(float(right)) > MAX_EXPONENT:
        return _raise(text, node.right, f"exponent too large (|p| <= {MAX_EXPONENT})")
    if not right.is_number and left.is_number:
        return left**right
    if left.is_number and right.is_number:
        try:
            value = math.pow(float(left), float(right))
        except (OverflowError, ValueError, ZeroDivisionError):
            return _raise(text, node, "constant power out of range")
        return sympy.Float(value)
    return left**right


def _raise(text, node, why, *, col=None, token=None):
    col = node.col_offset if col is None else col
    raise _fail(text, col, token or _token(text, node), why)


# --- NumPy evaluation of a sympy tree ----------------------------------------------------

_NUMPY_FUNCTIONS = {
    sympy.sin: np.sin, sympy.cos: np.cos, sympy.tan: np.tan,
    sympy.sinh: np.sinh, sympy.cosh: np.cosh, sympy.tanh: np.tanh,
    sympy.asin: np.arcsin, sympy.acos: np.arccos, sympy.atan: np.arctan,
    sympy.exp: np.exp, sympy.log: np.log, sympy.Abs: np.abs, sympy.sign: np.sign,
}


# a compiled (sub)expression: env (symbol -> array of coordinates) -> its values (a float if constant)
Evaluator = Callable[[dict], "np.ndarray | float"]


def compile_numpy(expr: sympy.Expr) -> Evaluator:
    """A function ``env -> array`` evaluating ``expr`` with NumPy (``env``: symbol -> array).

    Walks the sympy tree once and returns nested closures (no code generation, no exec).
    """
    if expr.is_Symbol:
        return lambda env: env[expr]
    if expr.is_Number or isinstance(expr, sympy.NumberSymbol) or expr.is_number:
        value = float(expr)
        return lambda env: value
    if expr.is_Add:
        parts = [compile_numpy(a) for a in expr.args]
        return lambda env: sum(p(env) for p in parts)
    if expr.is_Mul:
        parts = [compile_numpy(a) for a in expr.args]

        def product(env):
            out = parts[0](env)
            for p in parts[1:]:
                out = out * p(env)
            return out

        return product
    if expr.is_Pow:
        base, exponent = expr.args
        b = compile_numpy(base)
        if exponent == sympy.Rational(1, 2):
            return lambda env: np.sqrt(b(env))
        if exponent == -1:
            return lambda env: 1.0 / b(env)
        if exponent.is_Integer:
            n = int(exponent)
            return lambda env: b(env) ** n
        e = compile_numpy(exponent)
        return lambda env: np.power(b(env), e(env))
    func = expr.func
    if func in _NUMPY_FUNCTIONS:
        np_func = _NUMPY_FUNCTIONS[func]
        (arg,) = expr.args
        a = compile_numpy(arg)
        return lambda env: np_func(a(env))
    raise TypeError(f"cannot evaluate sympy node {func.__name__} with NumPy")


@dataclass(frozen=True)
class CompiledExpression:
    """A validated expression, its symbolic gradient, and NumPy value and gradient functions.

    ``value_fn(P)`` and ``grad_fn(P, out)`` follow :class:`~adamkit.lab.functions.TestFunction`'s
    conventions: points ``P`` of shape ``(..., dim)``, the gradient written into ``out``.
    """

    expr: sympy.Expr
    gradient: list[sympy.Expr]
    dim: int
    value_fn: Callable[[np.ndarray], np.ndarray]
    grad_fn: Callable[[np.ndarray, np.ndarray], None]


def compile_expression(text: str) -> CompiledExpression:
    """Parse ``text`` and differentiate it: one variable ``x`` gives dim 1, ``y`` makes it 2."""
    expr = parse(text)
    symbols = [X, Y] if Y in expr.free_symbols else [X]
    f = compile_numpy(expr)
    gradient = [sympy.diff(expr, s) for s in symbols]
    grads = [compile_numpy(g) for g in gradient]

    def value_fn(P):
        env = {s: P[..., i] for i, s in enumerate(symbols)}
        return np.broadcast_to(f(env), P.shape[:-1]).astype(float)

    def grad_fn(P, out):
        env = {s: P[..., i] for i, s in enumerate(symbols)}
        for i, g in enumerate(grads):
            out[..., i] = g(env)

    return CompiledExpression(expr, gradient, len(symbols), value_fn, grad_fn)
