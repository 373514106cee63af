"""The Numba kernels of :mod:`adamkit.lab.fused` (imported only where Numba is installed).

Module-level functions, so Numba's on-disk cache finds them again (closures are recompiled in
every process: ~3 s before the first map). See :mod:`adamkit.lab.fused` for what they spell.
"""

import numba
import numpy as np

njit = numba.njit(cache=True)


@njit
def value_and_grad(fid, x, y):
    # Each branch is the NumPy function's formula (lab/functions.py), term for term.
    if fid == 0:
        return x * x + y * y, 2.0 * x, 2.0 * y
    if fid == 1:
        return 0.5 * (x * x + 50.0 * y * y), x, 50.0 * y
    if fid == 2:
        t = y - x * x
        return (1.0 - x) ** 2 + 100.0 * t**2, -2.0 * (1.0 - x) - 400.0 * x * t, 200.0 * t
    if fid == 3:
        a = x * x + y - 11.0
        b = x + y * y - 7.0
        return a**2 + b**2, 4.0 * x * a + 2.0 * b, 2.0 * a + 4.0 * y * b
    if fid == 4:
        a = 1.5 - x + x * y
        b = 2.25 - x + x * y**2
        c = 2.625 - x + x * y**3
        gx = 2.0 * (a * (y - 1.0) + b * (y**2 - 1.0) + c * (y**3 - 1.0))
        return a**2 + b**2 + c**2, gx, 2.0 * x * (a + 2.0 * b * y + 3.0 * c * y**2)
    if fid == 5:
        w = 2.0 * np.pi
        f = 20.0 + (x * x - 10.0 * np.cos(w * x)) + (y * y - 10.0 * np.cos(w * y))
        return f, 2.0 * x + 20.0 * np.pi * np.sin(w * x), 2.0 * y + 20.0 * np.pi * np.sin(w * y)
    if fid == 6:
        r = np.sqrt(0.5 * (x * x + y * y))
        e = np.exp(0.5 * (np.cos(2 * np.pi * x) + np.cos(2 * np.pi * y)))
        f = -20.0 * np.exp(-0.2 * r) - e + np.e + 20.0
        cone = 2.0 * np.exp(-0.2 * r) / r if r > 0 else 0.0
        wave = np.pi * e
        return f, cone * x + wave * np.sin(2 * np.pi * x), cone * y + wave * np.sin(2 * np.pi * y)
    if fid == 7:
        a = x + 2.0 * y - 7.0
        b = 2.0 * x + y - 5.0
        return a**2 + b**2, 2.0 * a + 4.0 * b, 4.0 * a + 2.0 * b
    if fid == 8:
        f = 0.5 * ((x**4 - 16.0 * x**2 + 5.0 * x) + (y**4 - 16.0 * y**2 + 5.0 * y))
        return f, 0.5 * (4.0 * x**3 - 32.0 * x + 5.0), 0.5 * (4.0 * y**3 - 32.0 * y + 5.0)
    return x * x - y * y, 2.0 * x, -2.0 * y

@njit
def outside(x, y, f, lo_far, hi_far):
    # written so that NaN counts as outside, as the engine's comparisons do
    return not (np.isfinite(f) and x >= lo_far[0] and x <= hi_far[0]
                and y >= lo_far[1] and y <= hi_far[1])

@njit
def denominator(v, bc2, eps, eps_mode):
    # the rule's Denominator, term for term: paper, hat, root
    if eps_mode == 0:
        return np.sqrt(v) / bc2**0.5 + eps
    if eps_mode == 1:
        return (np.sqrt(v) + eps) / bc2**0.5
    return np.sqrt(v / bc2 + eps)

@numba.njit(cache=True, parallel=True)
def adam_final_losses(fid, x0, y0, lr, b1, b2, eps, l2s, decays, eps_mode, amsgrad, steps,
                      lo_far, hi_far, final, diverged_step):
    for c in numba.prange(lr.size):
        x, y = x0, y0
        mx = my = vx = vy = vmx = vmy = 0.0
        f, gx, gy = value_and_grad(fid, x, y)
        diverged_step[c] = 0 if outside(x, y, f, lo_far, hi_far) else -1
        l2, decay = l2s[c], decays[c]  # the rule's weight_decay_terms, computed by the caller
        for t in range(1, steps + 1):
            if diverged_step[c] >= 0:
                break
            if l2 != 0.0:
                gx = gx + l2 * x
                gy = gy + l2 * y
            if decay != 1.0:
                x = x * decay
                y = y * decay
            bc1 = 1.0 - b1[c] ** t
            bc2 = 1.0 - b2[c] ** t
            mx = mx + (1 - b1[c]) * (gx - mx)
            my = my + (1 - b1[c]) * (gy - my)
            vx = vx * b2[c] + (1 - b2[c]) * gx * gx
            vy = vy * b2[c] + (1 - b2[c]) * gy * gy
            ux, uy = vx, vy
            if amsgrad:
                vmx = max(vmx, vx)
                vmy = max(vmy, vy)
                ux, uy = vmx, vmy
            step_size = lr[c] / bc1
            x = x + (-step_size * mx) / denominator(ux, bc2, eps[c], eps_mode)
            y = y + (-step_size * my) / denominator(uy, bc2, eps[c], eps_mode)
            f, gx, gy = value_and_grad(fid, x, y)
            if outside(x, y, f, lo_far, hi_far):
                diverged_step[c] = t
        final[c] = f if diverged_step[c] < 0 else np.nan
