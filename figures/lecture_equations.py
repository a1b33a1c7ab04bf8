r"""An optimizer's update equations with one step's numbers put in, for the Lecture page (KaTeX).

The lines come from the optimizer's record (`Optimizer.equations_for`); each symbol the
record uses — θ, ∇f, g, the state (b, v, m, G …, named by `Optimizer.state_labels`), the
bias-corrected moments, the hyperparameters (by `Hyperparameter.symbol`), t — becomes its value
at that step: a column vector (x over y) per coordinate, numbers to 4 significant digits.
Each line reads "symbol = expression with numbers = value". Step k is the update from θ_k
(t = k + 1). Operations on vectors are per coordinate.
"""

from __future__ import annotations

import math
import re

import numpy as np

from optimizers import Run, get_optimizer

from .lecture_data import StepVectors, bias_corrected, decayed_lrs, previous_state, second_correction, step_vectors

DIGITS = 4


def number(value: float) -> str:
    """`value` to 4 significant digits in LaTeX (1.5e-05 → 1.5\\times 10^{-5})."""
    value = float(value)
    if not math.isfinite(value):
        return r"\infty" if value > 0 else (r"-\infty" if value < 0 else r"\text{NaN}")
    text = f"{value:.{DIGITS}g}"
    if "e" in text:
        mantissa, exponent = text.split("e")
        return rf"{mantissa}\times 10^{{{int(exponent)}}}"
    return text


def vector(values) -> str:
    """A column vector (x over y) in LaTeX."""
    x, y = (number(v) for v in np.asarray(values, dtype=float))
    return rf"\begin{{pmatrix}}{x}\\ {y}\end{{pmatrix}}"


def matrix(rows) -> str:
    (a, b), (c, d) = ((number(v) for v in row) for row in np.asarray(rows, dtype=float))
    return rf"\begin{{pmatrix}}{a} & {b}\\ {c} & {d}\end{{pmatrix}}"


def symbol_values(run: Run, start: int, step: int, data: StepVectors | None = None) -> dict[str, str]:
    """LaTeX symbol → its value at step `step` (the update θ_step → θ_step+1) as LaTeX."""
    data = data or step_vectors(run)
    k, n, t = step, start, step + 1
    spec = get_optimizer(run.optimizer)
    values = run.hyperparameters
    table: dict[str, str] = {}
    for hyper in spec.hyperparameters:
        if not hyper.symbol or hyper.kind in ("bool", "choice", "milestones"):
            continue
        symbols = hyper.symbol.split(", ") if hyper.kind == "pair" else [hyper.symbol]
        given = values[hyper.name] if hyper.kind == "pair" else [values[hyper.name]]
        for symbol, value in zip(symbols, given, strict=True):
            table[symbol] = number(value)
    table[r"\eta"] = number(run.lrs[k])
    table[r"\eta_t"] = number(decayed_lrs(run)[k])
    if "betas" in values:
        for i in (1, 2):
            table[rf"\beta_{i}^t"] = rf"{number(values['betas'][i - 1])}^{{{t}}}"
    table["^t"] = f"^{{{t}}}"
    table["(t-1)"] = f"({t}-1)"
    table[r"t\psi"] = rf"{t}\psi"
    theta = data.points[n, k]
    gradient = vector(run.grads[n, k])
    table[r"\nabla f(\theta_{t-1} - \gamma v_{t-1})"] = gradient
    table[r"\nabla f(\theta_{t-1})"] = gradient
    table[r"\theta_{t-1}"] = vector(theta)
    table[r"\theta_t"] = vector(data.points[n, k + 1])
    table["g_t"] = vector(data.grads[n, k])
    if spec.needs_landscape:
        hxx, hxy, hyy = (float(np.asarray(v)) for v in run.landscape.hessian(np.float64(theta[0]),
                                                                              np.float64(theta[1])))
        table[r"\nabla^2 f(\theta_{t-1})"] = matrix([[hxx, hxy], [hxy, hyy]])
    labels = dict(spec.state_labels)
    if "max_second_moment" in run.states:
        labels["max_second_moment"] = r"v^{\max}"
    for name, label in labels.items():
        if name not in run.states:
            continue
        before = previous_state(run, name)[n, k]
        if "_{t-1}" in label:  # the label already names the previous value (g_{t-1})
            table[label] = vector(before)
            continue
        table[f"{label}_t"] = vector(run.states[name][n, k])
        table[f"{label}_{{t-1}}"] = vector(before)
    with np.errstate(all="ignore"):
        if "first_moment" in run.states and bias_corrected(run):
            table[r"\hat m_t"] = vector(run.states["first_moment"][n, k] / (1 - values["betas"][0] ** t))
        second = "max_second_moment" if "max_second_moment" in run.states else "second_moment"
        if second in run.states and bias_corrected(run):
            table[r"\hat v_t"] = vector(run.states[second][n, k] / second_correction(run)[k])
        if run.optimizer == "adadelta":
            table[r"\Delta_t"] = vector(-data.update[n, k] / run.lrs[k])
    return table


def _pattern(symbols) -> re.Pattern:
    ordered = sorted(symbols, key=len, reverse=True)
    alternatives = []
    for symbol in ordered:
        guard_before = r"(?<![A-Za-z\\])" if symbol[:1].isalpha() else ""
        guard_after = r"(?![A-Za-z_])" if symbol[-1:].isalnum() or symbol.endswith("}") else ""
        alternatives.append(guard_before + re.escape(symbol) + guard_after)
    return re.compile("|".join(alternatives))


def substitute(latex: str, table: dict[str, str]) -> str:
    """`latex` with every symbol of `table` replaced by its value (longest symbols first)."""
    last_end = -1

    def value(match: re.Match) -> str:
        nonlocal last_end
        # Two symbols side by side (ηλ) are a product: numbers side by side need a dot.
        text = (r"\cdot " if match.start() == last_end else "") + table[match.group(0)]
        last_end = match.end()
        return text

    return _pattern(table).sub(value, latex)


def _parts(line: str) -> list[str]:
    return [part.strip() for part in re.split(r",\s*\\quad", line)]


def _initial_condition(lhs: str) -> bool:
    """b_1, k_0, Δ_0: a part that states a starting value, not this step's arithmetic."""
    return re.search(r"_\{?\d\}?$", lhs.strip()) is not None


def equations_at(run: Run, start: int, step: int, *, data: StepVectors | None = None) -> list[str]:
    r"""The optimizer's update lines for these settings (`equations_for(run.hyperparameters)`) with
    step `step`'s numbers: "symbol = expression with numbers = value", one string per line, and
    a last line with the effective step per coordinate. KaTeX-compatible.

    >>> from optimizers import simulate
    >>> run = simulate("quadratic", "sgd", [(-4.0, 2.0)], 3, lr=0.1)
    >>> print(equations_at(run, 0, 0)[1].replace(r"\end{pmatrix}", ")").replace(r"\begin{pmatrix}", "("))
    \theta_t = (-4\\ 2) - 0.1\, (-0.8\\ 8) = (-3.92\\ 1.2)
    """
    if run.grads is None:
        raise ValueError("equations_at needs a run simulated with record='full'")
    if not 0 <= step < run.steps:
        raise ValueError(f"step must be in [0, {run.steps - 1}] (the update from θ_step), got {step}")
    data = data or step_vectors(run)
    table = symbol_values(run, start, step, data)
    spec = get_optimizer(run.optimizer)
    lines = []
    values = run.hyperparameters
    for line in spec.equations_for(values):
        pieces = []
        for part in _parts(line):
            match = re.match(r"(.*?)\s*(=|\\leftarrow)\s*(.*)$", part)
            if match is None:
                pieces.append(substitute(part, table))
                continue
            lhs, sign, rhs = match.groups()
            if _initial_condition(lhs) and step > 0:
                continue
            if sign == r"\leftarrow" and lhs == r"\theta_{t-1}":  # decoupled decay: θ shrinks first
                decayed = data.points[start, step] * (1 - run.lrs[step] * values["weight_decay"])
                pieces.append(f"{lhs} \\leftarrow {substitute(rhs, table)} = {vector(decayed)}")
                table[r"\theta_{t-1}"] = vector(decayed)
                continue
            result = table.get(lhs.strip())
            if r"\begin{cases}" in rhs:  # a case distinction: its outcome is what the numbers say
                pieces.append(f"{lhs} = {result}" if result else part)
                continue
            text = f"{lhs} {sign} {substitute(rhs, table)}"
            pieces.append(f"{text} = {result}" if result and result != substitute(rhs, table) else text)
        if pieces:
            lines.append(r", \quad ".join(pieces))
    if spec.needs_landscape:
        lines[:0] = newton_lines(run, start, step)
    lines.append(r"\text{effective step } -\Delta\theta_t / g_t = " + vector(data.effective_step[start, step]))
    return lines


def newton_parts(run: Run, start: int, step: int) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """At θ_step: the exact Hessian H (2, 2), its eigenvalues (2,) ascending, and the Newton step
    d = −(H + δI)⁻¹∇f (2,) before the learning rate (None where H + δI is singular)."""
    theta = run.points[start, step]
    hxx, hxy, hyy = (float(np.asarray(v)) for v in run.landscape.hessian(np.float64(theta[0]),
                                                                          np.float64(theta[1])))
    hessian = np.array([[hxx, hxy], [hxy, hyy]])
    damped = hessian + float(run.hyperparameters.get("damping", 0.0)) * np.eye(2)
    try:
        newton = -np.linalg.solve(damped, run.grads[start, step])
    except np.linalg.LinAlgError:
        newton = None
    return hessian, np.linalg.eigvalsh(hessian), newton


def newton_lines(run: Run, start: int, step: int) -> list[str]:
    """Newton's step taken apart at step `step`: H and its eigenvalues (a negative one: −H⁻¹∇f
    need not go downhill; damping δ shifts them all by δ), and d = −(H + δI)⁻¹∇f, the step before η."""
    hessian, eigenvalues, newton = newton_parts(run, start, step)
    damping = float(run.hyperparameters.get("damping", 0.0))
    shown = eigenvalues + damping
    kind = (r"\text{ (positive definite)}" if shown[0] > 0
            else r"\text{ (not positive definite: } d \text{ need not go downhill)}")
    spectrum = rf"\lambda(H) = {number(eigenvalues[0])},\ {number(eigenvalues[1])}"
    if damping:
        spectrum += rf", \quad \lambda(H + \delta I) = {number(shown[0])},\ {number(shown[1])}"
    lines = [rf"H = \nabla^2 f(\theta_{{t-1}}) = {matrix(hessian)}", spectrum + kind]
    inverse = r"(H + \delta I)^{-1}" if damping else r"H^{-1}"
    if newton is None:
        lines.append(r"H + \delta I \text{ is singular: no Newton step}" if damping
                     else r"H \text{ is singular: no Newton step}")
    else:
        lines.append(rf"d_t = -{inverse} \nabla f(\theta_{{t-1}}) = {vector(newton)}")
    return lines


def equations_by_step(run: Run, start: int = 0) -> list[list[str]]:
    """`equations_at` for every step 0 … T−1, computed once (the page sends them to the browser)."""
    data = step_vectors(run)
    return [equations_at(run, start, k, data=data) for k in range(run.steps)]
