"""The compiled kernel as LLVM IR, emitted from a traced `Plan` and compiled by llvmlite.

`kernel_ir(landscape, plan)` writes one function, ``run``, that steps blocks of starts: the
landscape's gradient (its libm form, `landscapes.autodiff.kernel_gradient_lines`) and each traced
update program, one coordinate after the other, in NumPy's order of operations, with the
divergence checks and records of `optimizers.compiled` (whose module docstring says what the
loop does). IEEE operations only: no fast-math flags, no FMA contraction; √ is `llvm.sqrt`
(correctly rounded), exp, log, sin, cos and pow LLVM's intrinsics and tan, tanh, sinh, cosh,
asin, acos, atan libm's functions, which the intrinsics also call: what Python's `math` and
numba call. Each block's state lives in stack arrays of `BLOCK` values, distinct to the
optimizer, so the loop over a block's starts vectorizes with no run-time overlap checks.

`compile_object(text)` optimizes at O3 for this CPU and returns its object code; `load_object`
links it into this process's JIT and returns a ctypes function (ctypes releases the GIL while it
runs, so threads step blocks in parallel). Writing IR instead of numba source: a kernel compiles
in ≈ 0.1–0.2 s where numba's typing and lowering took 1.5–6 s (README, Benchmarks).
"""

from __future__ import annotations

import ast
import ctypes
import threading
from contextlib import contextmanager
from functools import lru_cache

import llvmlite.binding as llvm
import llvmlite.ir as ir

from landscapes.autodiff import kernel_gradient_lines

BLOCK = 128  # starts per block: the ≈ 15 arrays a step touches take 15 kB, half of a 32 kB L1 (README)
LIMIT = 1e8
NON_FINITE, TOO_LARGE = 1, 2

F64, I64, I32, I1 = ir.DoubleType(), ir.IntType(64), ir.IntType(32), ir.IntType(1)
PF, PI = F64.as_pointer(), I64.as_pointer()

ARGUMENTS = [
    ("blocks", PI), ("nblocks", I64), ("t0", I64), ("t1", I64), ("steps", I64),
    ("constants", PF), ("base", PI), ("group_stride", PI), ("step_stride", PI), ("width", I64),
    ("variant_rows", PI), ("variant_width", I64), ("row_of_group", PI),
    ("init_table", PF), ("init_width", I64), ("init_variant", PI),
    ("noise", PF), ("noisy", I64), ("n", I64),
    ("S", PF), ("group_of", PI), ("diverged", PI), ("codes", PI), ("converged", PI),
    ("tol2", F64), ("points", PF), ("losses", PF), ("keep_path", I64), ("recorded", I64),
    ("every", I64), ("grads", PF), ("states", PF), ("keep_all", I64)]

INTRINSIC = {"exp": "llvm.exp.f64", "log": "llvm.log.f64", "sin": "llvm.sin.f64", "cos": "llvm.cos.f64",
             "sqrt": "llvm.sqrt.f64", "abs": "llvm.fabs.f64", "pow": "llvm.pow.f64"}
EXTERN = ("tan", "tanh", "sinh", "cosh", "asin", "acos", "atan")


def f(value: float) -> ir.Constant:
    return ir.Constant(F64, value)


def i(value: int) -> ir.Constant:
    return ir.Constant(I64, value)


def i32(value: int) -> ir.Constant:
    return ir.Constant(I32, value)


class Emitter:
    def __init__(self, name: str) -> None:
        self.module = ir.Module(name=name)
        self.module.triple = llvm.get_process_triple()
        fnty = ir.FunctionType(ir.VoidType(), [t for _, t in ARGUMENTS])
        self.fn = ir.Function(self.module, fnty, name=name)
        self.a = {n: arg for (n, _), arg in zip(ARGUMENTS, self.fn.args, strict=True)}
        for (n, t), arg in zip(ARGUMENTS, self.fn.args, strict=True):
            arg.name = n
            if isinstance(t, ir.PointerType):
                arg.add_attribute("noalias")
        self.b = ir.IRBuilder(self.fn.append_basic_block("entry"))
        self.functions: dict[str, ir.Function] = {}

    # -- helpers
    def call(self, name: str, *args):
        fn = self.functions.get(name)
        if fn is None:
            symbol = INTRINSIC.get(name, name)
            fn = ir.Function(self.module, ir.FunctionType(F64, [F64] * len(args)), name=symbol)
            self.functions[name] = fn
        return self.b.call(fn, list(args))

    def at(self, pointer, index, kind=F64):
        return self.b.gep(pointer, [index], inbounds=True, source_etype=kind)

    def load(self, pointer, index, kind=F64):
        return self.b.load(self.at(pointer, index, kind), typ=kind)

    def store(self, value, pointer, index, kind=F64):
        self.b.store(value, self.at(pointer, index, kind))

    @contextmanager
    def loop(self, start, stop, name="j"):
        b = self.b
        pre = b.block
        cond = self.fn.append_basic_block(name + ".cond")
        body = self.fn.append_basic_block(name + ".body")
        end = self.fn.append_basic_block(name + ".end")
        b.branch(cond)
        b.position_at_end(cond)
        index = b.phi(I64, name=name)
        index.add_incoming(start, pre)
        b.cbranch(b.icmp_signed("<", index, stop), body, end)
        b.position_at_end(body)
        yield index
        index.add_incoming(b.add(index, i(1)), b.block)
        b.branch(cond)
        b.position_at_end(end)

    def truth(self, value):
        if value.type == I1:
            return value
        return self.b.fcmp_unordered("!=", value, f(0.0))

    def number(self, value):
        return self.b.uitofp(value, F64) if value.type == I1 else value

    def select(self, cond, a, b):
        return self.b.select(self.truth(cond), a, b)


def gradient_statements(expression):
    lines, outs = kernel_gradient_lines(expression)
    statements = [ast.parse(line).body[0] for line in lines]
    outputs = [ast.parse(o, mode="eval").body for o in outs]
    return statements, outputs


def emit_expression(e: Emitter, node, env):
    b = e.b
    if isinstance(node, ast.Name):
        return env[node.id]
    if isinstance(node, ast.Constant):
        return f(float(node.value))
    if isinstance(node, ast.UnaryOp):
        value = emit_expression(e, node.operand, env)
        if isinstance(node.op, ast.USub):
            return b.fneg(value)
        if isinstance(node.op, ast.UAdd):
            return value
    if isinstance(node, ast.BinOp):
        left, right = emit_expression(e, node.left, env), emit_expression(e, node.right, env)
        op = type(node.op)
        if op is ast.Add:
            return b.fadd(left, right)
        if op is ast.Sub:
            return b.fsub(left, right)
        if op is ast.Mult:
            return b.fmul(left, right)
        if op is ast.Div:
            return b.fdiv(left, right)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        args = [emit_expression(e, a, env) for a in node.args]
        name = node.func.id
        if name in INTRINSIC or name in EXTERN:
            return e.call(name, *args)
        if name == "cot":
            return b.fdiv(f(1.0), e.call("tan", *args))
        if name == "sign":  # value if value == 0 or value != value else copysign(1, value)
            v = args[0]
            keep = b.or_(b.fcmp_ordered("==", v, f(0.0)), b.fcmp_unordered("uno", v, v))
            one = b.select(b.fcmp_ordered("<", v, f(0.0)), f(-1.0), f(1.0))
            # copysign(1.0, v) for nonzero non-NaN v is the sign of v
            return b.select(keep, v, one)
    raise TypeError(f"no kernel form for {ast.unparse(node)}")  # the caller then runs NumPy


def emit_gradient(e: Emitter, statements, outputs, x, y, with_value):
    env = {"x": x, "y": y}
    for statement in statements:
        env[statement.targets[0].id] = emit_expression(e, statement.value, env)
    value, fx, fy = (emit_expression(e, o, env) for o in outputs)
    return (value if with_value else None), fx, fy


def _init_slots(e: Emitter, group):
    """slot(k) -> init constant k of `group` (`init_table`'s row), each loaded once."""
    base, slots = e.b.mul(group, e.a["init_width"]), {}

    def slot(k):
        if k not in slots:
            slots[k] = e.load(e.a["init_table"], e.b.add(base, i(k)))
        return slots[k]
    return slot


def _slot_count(program) -> int:
    """How many constant slots a traced program reads."""
    return max((ref[1] for op in program[0] for ref in op[1:] if ref[0] == "c"), default=-1) + 1


def emit_program(e: Emitter, program, slot, names, env, part=slice(None), prefix="u", coordinate="x"):
    """Emit ops[part] of one coordinate: slot(k) -> the constant, names: input name -> value
    (a callable, loaded at first use), env: index -> value (shared across parts)."""
    b = e.b
    ops, outputs = program

    def value(ref):
        kind, v = ref
        if kind == "c":
            return slot(v)
        if kind == "v":
            return env[v]
        return names(v)

    for index in range(len(ops))[part]:
        kind, *operands = ops[index]
        args = [value(r) for r in operands]
        if kind in ("+", "-", "*", "/"):
            l, r = e.number(args[0]), e.number(args[1])
            out = {"+": b.fadd, "-": b.fsub, "*": b.fmul, "/": b.fdiv}[kind](l, r)
        elif kind in (">", "<", ">=", "<="):
            out = b.fcmp_ordered(kind, e.number(args[0]), e.number(args[1]))
        elif kind == "neg":
            out = b.fneg(e.number(args[0]))
        elif kind == "sqrt":
            out = e.call("sqrt", e.number(args[0]))
        elif kind == "abs":
            out = e.call("abs", e.number(args[0]))
        elif kind == "sign":
            v = e.number(args[0])
            out = b.select(b.fcmp_ordered(">", v, f(0.0)), f(1.0),
                           b.select(b.fcmp_ordered("<", v, f(0.0)), f(-1.0), v))
        elif kind == "maximum":
            a1, a2 = e.number(args[0]), e.number(args[1])
            nan = b.or_(b.fcmp_unordered("uno", a1, a1), b.fcmp_unordered("uno", a2, a2))
            out = b.select(nan, f(float("nan")), b.select(b.fcmp_ordered(">=", a1, a2), a1, a2))
        elif kind == "clip":
            v, lo, hi = (e.number(a) for a in args)
            inside = b.and_(b.fcmp_ordered("<=", lo, v), b.fcmp_ordered("<=", v, hi))
            out = b.select(inside, v, b.select(b.fcmp_ordered("<", v, lo), lo,
                                               b.select(b.fcmp_ordered(">", v, hi), hi, v)))
        elif kind == "where":
            out = e.select(args[0], e.number(args[1]), e.number(args[2]))
        elif kind == "fill":
            out = e.number(args[0])
        else:  # pragma: no cover - the tracer records only the kinds above
            raise TypeError(f"no kernel form for the operation {kind!r}")
        if kind != "fill" and isinstance(out, ir.Instruction):
            out.name = f"{prefix}{index}_{coordinate}"
        env[index] = out
    return {key: value(ref) for key, ref in outputs  # those this part has computed
            if key != "split" and not (ref[0] == "v" and ref[1] not in env)}


def kernel_ir(land, plan, name: str = "run", mixed: bool = False) -> str:
    """The module (LLVM IR text) of `run` for this landscape and plan.

    `mixed`: a block may hold starts of several settings (a sweep's one start per setting) that
    share their variants (`Plan.variant_rows`, `init_variant`): every step, each constant slot
    is gathered into a block row from the start's own group (`group_of`), and the step reads it
    from there. Otherwise a block holds one setting and reads each slot once per step."""
    e = Emitter(name)
    b, a = e.b, e.a
    keys = plan.state_keys
    row = {"x": 0, "y": 1, "px": 2, "py": 3, "loss": 4}
    for k, key in enumerate(keys):
        row[f"s:{key}:x"], row[f"s:{key}:y"] = 5 + 2 * k, 6 + 2 * k
    rows = 5 + 2 * len(keys)
    statements, outputs = gradient_statements(land.expression)

    def scratch(kind, label):
        array = b.alloca(kind, size=i(BLOCK), name=label)
        array.align = 64  # a cache line: the vector loads and stores never straddle two
        return array

    L = [scratch(F64, f"L{k}") for k in range(rows)]
    GX, GY, UX, UY, NX, NY = (scratch(F64, n) for n in ("GX", "GY", "UX", "UY", "NX", "NY"))
    # The step at which a start diverged (−1 while it moves: a start is held still once it is not) and
    # why, 32 bits wide in the block (steps ≤ 100,000): half the bytes of the arrays the step touches.
    D, C = scratch(I32, "D"), scratch(I32, "C")
    V = scratch(I64, "V")
    if mixed:
        G = scratch(I64, "G")
        K = [scratch(F64, f"K{k}") for k in range(max(map(_slot_count, plan.programs), default=0))]
    with e.loop(i(0), i(BLOCK)) as j:
        e.store(f(-0.0), NX, j)
        e.store(f(-0.0), NY, j)
    n = a["n"]
    converges = b.fcmp_ordered(">=", a["tol2"], f(0.0))
    noisy = b.icmp_signed("!=", a["noisy"], i(0))
    keep_path = b.icmp_signed("!=", a["keep_path"], i(0))
    keep_all = b.icmp_signed("!=", a["keep_all"], i(0))
    ints = ((D, "diverged", I32), (C, "codes", I32), (V, "converged", I64))
    with e.loop(i(0), a["nblocks"], "blk") as block:
        at3 = b.mul(block, i(3))
        lo = e.load(a["blocks"], at3, I64)
        hi = e.load(a["blocks"], b.add(at3, i(1)), I64)
        g = e.load(a["blocks"], b.add(at3, i(2)), I64)
        m = b.sub(hi, lo)
        vrow = b.mul(e.load(a["row_of_group"], g, I64), a["variant_width"])
        with e.loop(i(0), m) as j:
            lj = b.add(lo, j)
            for k in range(rows):
                e.store(e.load(a["S"], b.add(b.mul(i(k), n), lj)), L[k], j)
            for local, arg, kind in ints:
                value = e.load(a[arg], lj, I64)
                e.store(value if kind == I64 else b.trunc(value, kind), local, j, kind)
            if mixed:
                e.store(e.load(a["group_of"], lj, I64), G, j, I64)
        with b.if_then(b.icmp_signed("==", a["t0"], i(0))):
            iv = e.load(a["init_variant"], g, I64)
            for v, program in enumerate(plan.init_programs):
                with b.if_then(b.icmp_signed("==", iv, i(v))):
                    if not mixed:
                        slot = _init_slots(e, g)
                        for k in range(_slot_count(program)):
                            slot(k)
                    with e.loop(i(0), m) as j:
                        if mixed:  # this start's own group's row of the table
                            slot = _init_slots(e, e.load(G, j, I64))
                        e.store(e.load(L[0], j), L[2], j)
                        e.store(e.load(L[1], j), L[3], j)
                        e.store(f(float("nan")), L[4], j)
                        for c, p in (("x", 0), ("y", 1)):
                            def param(name, p=p, j=j):
                                return e.load(L[p], j)
                            outs = emit_program(e, program, slot, param, {}, prefix="n", coordinate=c)
                            for key, value in outs.items():
                                e.store(value, L[row[f"{key}:{c}"] if key.startswith("s:") else row[f"s:{key}:{c}"]], j)
        with e.loop(a["t0"], a["t1"], "t") as t:
            var = e.load(a["variant_rows"], b.add(vrow, t), I64)
            moving = b.icmp_signed("<", t, a["steps"])
            rem = b.srem(t, a["every"])
            on_row = b.icmp_signed("==", rem, i(0))
            record = b.or_(on_row, b.icmp_signed("==", t, a["steps"]))
            r = b.select(on_row, b.sdiv(t, a["every"]), b.sub(a["recorded"], i(1)))
            with b.if_then(noisy):
                offset = b.mul(b.sub(t, a["t0"]), b.mul(i(2), n))
                with e.loop(i(0), m) as j:
                    lj = b.add(lo, j)
                    e.store(e.load(a["noise"], b.add(offset, lj)), NX, j)
                    e.store(e.load(a["noise"], b.add(b.add(offset, n), lj)), NY, j)
            for v, program in enumerate(plan.programs):
                with b.if_then(b.icmp_signed("==", var, i(v))):
                    consts = []
                    for k in range(_slot_count(program)):
                        w = b.add(b.mul(i(v), a["width"]), i(k))
                        at_step = b.add(e.load(a["base"], w, I64), b.mul(t, e.load(a["step_stride"], w, I64)))
                        stride = e.load(a["group_stride"], w, I64)
                        if mixed:
                            with e.loop(i(0), m) as j:
                                index = b.add(at_step, b.mul(e.load(G, j, I64), stride))
                                e.store(e.load(a["constants"], index), K[k], j)
                            consts.append(K[k])
                        else:
                            consts.append(e.load(a["constants"], b.add(at_step, b.mul(g, stride))))
                    _emit_step(e, plan, program, consts, L, row, keys, statements, outputs, m, t, moving,
                               GX, GY, UX, UY, NX, NY, D, C)
            with b.if_then(b.and_(keep_path, record)):
                R = a["recorded"]
                with e.loop(i(0), m) as j:
                    at = b.add(b.mul(b.add(lo, j), R), r)
                    e.store(e.load(L[2], j), a["points"], b.mul(at, i(2)))
                    e.store(e.load(L[3], j), a["points"], b.add(b.mul(at, i(2)), i(1)))
                    e.store(e.load(L[4], j), a["losses"], at)
            with b.if_then(converges):
                with e.loop(i(0), m) as j:
                    gx, gy = e.load(GX, j), e.load(GY, j)
                    small = b.fcmp_ordered("<=", b.fadd(b.fmul(gx, gx), b.fmul(gy, gy)), a["tol2"])
                    old = e.load(V, j, I64)
                    e.store(b.select(b.and_(small, b.icmp_signed("<", old, i(0))), t, old), V, j, I64)
            with b.if_then(b.and_(keep_all, moving)):
                steps = a["steps"]
                with e.loop(i(0), m) as j:
                    lj = b.add(lo, j)
                    at = b.mul(b.add(b.mul(lj, steps), t), i(2))
                    if plan.has_lookahead:
                        ux, uy = e.load(UX, j), e.load(UY, j)
                    else:
                        ux = b.fadd(e.load(GX, j), e.load(NX, j))
                        uy = b.fadd(e.load(GY, j), e.load(NY, j))
                    e.store(ux, a["grads"], at)
                    e.store(uy, a["grads"], b.add(at, i(1)))
                    for k, key in enumerate(keys):
                        sat = b.mul(b.add(b.mul(b.add(b.mul(i(k), n), lj), steps), t), i(2))
                        e.store(e.load(L[row[f"s:{key}:x"]], j), a["states"], sat)
                        e.store(e.load(L[row[f"s:{key}:y"]], j), a["states"], b.add(sat, i(1)))
        with e.loop(i(0), m) as j:
            lj = b.add(lo, j)
            for k in range(rows):
                e.store(e.load(L[k], j), a["S"], b.add(b.mul(i(k), n), lj))
            for local, arg, kind in ints:
                value = e.load(local, j, kind)
                e.store(value if kind == I64 else b.sext(value, I64), a[arg], lj, I64)
    b.ret_void()
    return str(e.module)


def _emit_step(e, plan, program, consts, L, row, keys, statements, outputs, m, t, moving,
               GX, GY, UX, UY, NX, NY, D, C):
    b = e.b
    with e.loop(i(0), m) as j:
        x, y = e.load(L[0], j), e.load(L[1], j)
        fval, gx, gy = emit_gradient(e, statements, outputs, x, y, True)
        last_x, last_y, last_f = e.load(L[2], j), e.load(L[3], j), e.load(L[4], j)
        was_diverged, was_code = e.load(D, j, I32), e.load(C, j, I32)
        held = b.icmp_signed("!=", was_diverged, i32(-1))
        newly = b.and_(b.not_(held), b.fcmp_unordered("!=", b.fsub(fval, fval), f(0.0)))
        x = b.select(newly, last_x, x)
        y = b.select(newly, last_y, y)
        fval = b.select(b.or_(held, b.and_(newly, b.icmp_signed(">", t, i(0)))), last_f, fval)
        step = b.trunc(t, I32)
        was_diverged = b.select(newly, step, was_diverged)
        was_code = b.select(newly, i32(NON_FINITE), was_code)
        held = b.or_(held, newly)
        e.store(fval, L[4], j)
        e.store(gx, GX, j)
        e.store(gy, GY, j)
        loaded = {}

        def names_for(c, param, grad=None):
            def names(name):
                if name == "param":
                    return param
                if name == "grad":
                    return grad
                key = f"{name}:{c}"
                if key not in loaded:
                    loaded[key] = e.load(L[row[key]], j)
                return loaded[key]
            return names

        rows_read = {}

        def slot(k):  # a number, or (mixed blocks) this start's value in the slot's block row
            if consts[k].type == F64:
                return consts[k]
            if k not in rows_read:
                rows_read[k] = e.load(consts[k], j)
            return rows_read[k]

        refs = dict(program[1])
        split = refs["split"][1] if "split" in refs else 0
        envs = {"x": {}, "y": {}}
        if split or "lookahead" in refs:
            look = {}
            for c, p in (("x", x), ("y", y)):
                outs = emit_program(e, program, slot, names_for(c, p), envs[c], slice(0, split), coordinate=c)
                look[c] = outs["lookahead"]
            _, gx, gy = emit_gradient(e, statements, outputs, look["x"], look["y"], False)
        gx = b.fadd(gx, e.load(NX, j))
        gy = b.fadd(gy, e.load(NY, j))
        if plan.has_lookahead:
            e.store(gx, UX, j)
            e.store(gy, UY, j)
        new, stores = {}, []
        for c, p, grad in (("x", x, gx), ("y", y, gy)):
            outs = emit_program(e, program, slot, names_for(c, p, grad), envs[c], slice(split, None), coordinate=c)
            new[c] = outs["param"]
            stores += [(f"{key}:{c}", value) for key, value in outs.items() if key.startswith("s:")]
        nx, ny = e.number(new["x"]), e.number(new["y"])
        for key, value in stores:
            e.store(e.number(value), L[row[key]], j)
        inside = b.and_(b.fcmp_ordered("<=", e.call("abs", nx), f(LIMIT)),
                        b.fcmp_ordered("<=", e.call("abs", ny), f(LIMIT)))
        escaped = b.and_(b.and_(moving, b.not_(held)), b.not_(inside))
        finite = b.and_(b.fcmp_ordered("==", b.fsub(nx, nx), f(0.0)), b.fcmp_ordered("==", b.fsub(ny, ny), f(0.0)))
        e.store(b.select(escaped, b.add(step, i32(1)), was_diverged), D, j, I32)
        e.store(b.select(escaped, b.select(finite, i32(TOO_LARGE), i32(NON_FINITE)), was_code), C, j, I32)
        stay = b.or_(b.or_(held, escaped), b.not_(moving))
        e.store(b.select(stay, x, nx), L[0], j)
        e.store(b.select(stay, y, ny), L[1], j)
        e.store(x, L[2], j)
        e.store(y, L[3], j)



# -- compiling and running ----------------------------------------------------------------------

_LOCK = threading.Lock()
_JIT: dict[str, object] = {}


def _machine():
    """This CPU's target machine and one MCJIT engine for every kernel of the process."""
    with _LOCK:
        if not _JIT:
            llvm.initialize_native_target()
            llvm.initialize_native_asmprinter()
            target = llvm.Target.from_default_triple()
            machine = target.create_target_machine(cpu=llvm.get_host_cpu_name(),
                                                   features=llvm.get_host_cpu_features().flatten(), opt=3,
                                                   jit=True)
            _JIT["machine"] = machine
            _JIT["engine"] = llvm.create_mcjit_compiler(llvm.parse_assembly(""), machine)
        return _JIT["machine"], _JIT["engine"]


@lru_cache(maxsize=1)
def target_name() -> str:
    """The CPU the object code is made for (part of a cached kernel's key)."""
    return f"{llvm.get_process_triple()} {llvm.get_host_cpu_name()} {llvm.get_host_cpu_features().flatten()}"


def compile_object(text: str) -> bytes:
    """Object code of the module `text`, optimized at O3 (loop and SLP vectorizers on)."""
    machine, _ = _machine()
    module = llvm.parse_assembly(text)
    module.triple = llvm.get_process_triple()
    module.data_layout = str(machine.target_data)
    module.verify()
    tuning = llvm.create_pipeline_tuning_options(speed_level=3)
    tuning.loop_vectorization = True
    tuning.slp_vectorization = True
    builder = llvm.create_pass_builder(machine, tuning)
    builder.getModulePassManager().run(module, builder)
    return machine.emit_object(module)


_PROTOTYPE = ctypes.CFUNCTYPE(None, *[ctypes.c_double if t == F64 else (ctypes.c_int64 if t == I64 else ctypes.c_void_p)
                                      for _, t in ARGUMENTS])


def load_object(data: bytes, name: str):
    """The function `name` of this object code, linked into the process: called like
    `optimizers.compiled.run_kernel` calls a kernel (NumPy arrays, C-contiguous)."""
    _, engine = _machine()
    with _LOCK:
        engine.add_object_file(llvm.ObjectFileRef.from_data(data))
        engine.finalize_object()
        function = _PROTOTYPE(engine.get_function_address(name))

    def kernel(blocks, t0, t1, steps, constants, base, group_stride, step_stride, variant_rows, row_of_group,
               init_table, init_variant, noise, S, group_of, diverged, codes, converged, tol2, points, losses,
               every, grads, states):
        arrays = (blocks, constants, base, group_stride, step_stride, variant_rows, row_of_group, init_table,
                  init_variant, noise, S, group_of, diverged, codes, converged, points, losses, grads, states)
        if not all(array.flags.c_contiguous for array in arrays):  # the kernel reads raw C-order memory
            raise ValueError("the kernel's arrays must be C-contiguous")
        function(blocks.ctypes.data, blocks.shape[0], t0, t1, steps, constants.ctypes.data, base.ctypes.data,
                 group_stride.ctypes.data, step_stride.ctypes.data, base.shape[1], variant_rows.ctypes.data,
                 variant_rows.shape[1], row_of_group.ctypes.data, init_table.ctypes.data, init_table.shape[1],
                 init_variant.ctypes.data, noise.ctypes.data, int(noise.shape[0] > 0), S.shape[1], S.ctypes.data,
                 group_of.ctypes.data, diverged.ctypes.data, codes.ctypes.data, converged.ctypes.data, tol2,
                 points.ctypes.data, losses.ctypes.data, int(points.shape[0] > 0), points.shape[1], every,
                 grads.ctypes.data, states.ctypes.data, int(grads.shape[0] > 0))

    kernel.function = function  # keeps the ctypes function alive with the wrapper
    return kernel
