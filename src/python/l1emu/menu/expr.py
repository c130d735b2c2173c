"""Cut expressions of menu seeds: tokenizer, recursive-descent parser, type checker, compiler for the C++ evaluator.

Never eval: the text is parsed into a small AST of frozen dataclasses. Grammar (lowest binding first):

    or    := and ('or' and)*            and  := not ('and' not)*       not := 'not' not | cmp
    cmp   := arith [cmpop arith]        arith := term (('+'|'-') term)*  term := unary (('*'|'/') unary)*
    unary := '-' unary | atom
    atom  := NUMBER | 'true' | 'false' | '(' or ')' | OBJ '[' INT ']' '.' ATTR | 'met' '.' ATTR
           | 'abs' '(' arith ')' | ('n' | 'ht') '(' OBJ (',' cond)* ')' | ATTR (inside a cond) | SEED

Several conds of n()/ht() must all hold (``ht(jet, pt >= 30, abs(eta) <= 2.4)`` as in DESIGN.md).
Semantics are uGT-like: an object that does not exist (index past the capacity, or pt == 0 in its slot)
is "no object"; arithmetic on it stays missing and any comparison involving it is False. MET always
exists. Values are compared exactly in float64 (stored float32 values lie on the hardware grid).
The evaluator is the C++ core's (menu/cuts.h), on a register program compiled here once per expression.
"""

from dataclasses import dataclass
import functools
import operator
import re

import numpy as np

from l1emu import _core
from l1emu.errors import L1emuError


class ExprError(L1emuError):
    """A cut expression that does not parse or type-check, or cannot be evaluated on a chunk."""


OBJECTS = {"jet": "jet", "eg": "egamma", "mu": "muon"}  # name -> record field (capacities 10, 4, 4)
ATTRS = {"pt": 0, "eta": 1, "phi": 2}
MET_ATTRS = {"pt": 0, "phi": 1}
KEYWORDS = {"and", "or", "not", "true", "false"}
FUNCTIONS = {"abs", "n", "ht"}
CMP = {">=": operator.ge, ">": operator.gt, "<=": operator.le, "<": operator.lt, "==": operator.eq, "!=": operator.ne}
ARITH = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv}


class Node:
    """Base of the AST nodes (frozen dataclasses, comparable and hashable)."""

    def walk(self):
        yield self
        for child in vars(self).values():
            if isinstance(child, Node):
                yield from child.walk()

    def seeds(self):
        """Names of the other seeds this expression refers to (for the caller's dependency checks)."""
        return frozenset(n.name for n in self.walk() if isinstance(n, Seed))

    def fields(self):
        """Event-record fields this expression reads."""
        return frozenset(OBJECTS.get(n.obj, "met") for n in self.walk() if isinstance(n, (Attr, Call)))


@dataclass(frozen=True)
class Num(Node):
    value: float


@dataclass(frozen=True)
class Bool(Node):
    value: bool


@dataclass(frozen=True)
class Seed(Node):
    name: str


@dataclass(frozen=True)
class Attr(Node):
    obj: str  # jet, eg, mu or met
    index: int | None  # None for met
    attr: str


@dataclass(frozen=True)
class Each(Node):
    attr: str  # a bare attribute inside n()/ht(): the attribute of each object


@dataclass(frozen=True)
class Call(Node):
    func: str  # n or ht
    obj: str
    cond: Node | None  # None: all existing objects


@dataclass(frozen=True)
class Unary(Node):
    op: str  # -, abs, not
    arg: Node


@dataclass(frozen=True)
class Binary(Node):
    op: str  # arithmetic, comparison, and, or
    left: Node
    right: Node


def kind(node):
    """'bool' or 'num': the type checker's only two types."""
    if isinstance(node, (Bool, Seed)) or getattr(node, "op", None) in ("not", "and", "or", *CMP):
        return "bool"
    return "num"


# ---------------------------------------------------------------- tokenizer
_TOKEN = re.compile(r"(?P<num>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)|(?P<name>[A-Za-z_][A-Za-z0-9_]*)"
                    r"|(?P<op>>=|<=|==|!=|&&|\|\||\*\*|[-+*/<>()\[\],.=&|!])|(?P<bad>\S)", re.ASCII)
_REFUSED = {"=": "use '==' to compare", "&&": "use 'and'", "||": "use 'or'", "&": "use 'and'",
            "|": "use 'or'", "!": "use 'not'", "**": "powers are not supported"}


def _show(kind_, text):
    return "end of expression" if kind_ == "end" else repr(text)


def _tokenize(text, fail):
    """-> [(kind, text, 1-based column)] ending with an 'end' token; whitespace is skipped by finditer."""
    tokens = []
    for m in _TOKEN.finditer(text):
        tok = (m.lastgroup, m.group(), m.start() + 1)
        if tok[0] == "bad":
            fail(f"unexpected character {tok[1]!r}", tok[2])
        if tok[0] == "op" and tok[1] in _REFUSED:
            fail(f"{tok[1]!r} is not allowed: {_REFUSED[tok[1]]}", tok[2])
        tokens.append(tok)
    return tokens + [("end", "", len(text) + 1)]


# ---------------------------------------------------------------- parser + type checker
class _Parser:
    def __init__(self, text, where):
        self.text, self.where, self.pos, self.each = text, where, 0, None  # each: object of the enclosing n/ht
        self.toks = _tokenize(text, self.fail)

    def fail(self, message, col):
        raise ExprError(f"{self.where + ': ' if self.where else ''}{message} at column {col}: {self.text!r}")

    def peek(self):
        return self.toks[min(self.pos, len(self.toks) - 1)]

    def next(self):
        tok = self.peek()
        self.pos += 1
        return tok

    def at(self, *texts):
        k, t, _ = self.peek()
        return k in ("op", "name") and t in texts

    def expect(self, text, what):
        k, t, col = self.next()
        if t != text or k not in ("op", "name"):
            self.fail(f"expected {text!r} {what}, found {_show(k, t)}", col)

    def need(self, node, want, what, col):
        if kind(node) != want:
            self.fail(f"{what} needs {'a condition' if want == 'bool' else 'a number'}, "
                      f"got {'a condition' if kind(node) == 'bool' else 'a number'}", col)
        return node

    def parse(self):
        if self.peek()[0] == "end":
            self.fail("empty expression", 1)
        node = self.need(self.or_(), "bool", "a seed", 1)
        k, t, col = self.peek()
        if k != "end":
            self.fail(f"unexpected {t!r} (unbalanced ')'?)" if t == ")" else f"unexpected {t!r}", col)
        return node

    def chain(self, ops, sub, want):
        """Left-associative binary operators ``ops`` over operands parsed by ``sub``, all of type ``want``."""
        left = sub()
        while self.at(*ops):
            _, op, col = self.next()
            left = Binary(op, self.need(left, want, repr(op), col), self.need(sub(), want, repr(op), col))
        return left

    def or_(self):
        return self.chain(("or",), self.and_, "bool")

    def and_(self):
        return self.chain(("and",), self.not_, "bool")

    def not_(self):
        if self.at("not"):
            col = self.next()[2]
            return Unary("not", self.need(self.not_(), "bool", "'not'", col))
        return self.cmp()

    def cmp(self):
        left = self.arith()
        if not self.at(*CMP):
            return left
        _, op, col = self.next()
        right = self.arith()
        if self.at(*CMP):
            self.fail("comparisons cannot be chained: use 'and'", self.peek()[2])
        return Binary(op, self.need(left, "num", repr(op), col), self.need(right, "num", repr(op), col))

    def arith(self):
        return self.chain("+-", self.term, "num")

    def term(self):
        return self.chain("*/", self.unary, "num")

    def unary(self):
        if self.at("-"):
            col = self.next()[2]
            return Unary("-", self.need(self.unary(), "num", "'-'", col))
        return self.atom()

    def atom(self):
        k, t, col = self.next()
        if k == "num":
            if not np.isfinite(float(t)):
                self.fail(f"number {t} is too large", col)
            return Num(float(t))
        if k == "end":
            self.fail("unexpected end of expression", col)
        if t == "(":
            node = self.or_()
            if not self.at(")"):
                k2, t2, c2 = self.peek()
                self.fail(f"expected ')' to close the '(' of column {col}, found {_show(k2, t2)}", c2)
            self.next()
            return node
        if k != "name":
            self.fail(f"unexpected {t!r}", col)
        if t in ("true", "false"):
            return Bool(t == "true")
        if t in OBJECTS:
            return self.indexed(t, col)
        if t == "met":
            return Attr("met", None, self.attr(MET_ATTRS, "met"))
        if t in ATTRS:
            if self.each is None:
                self.fail(f"bare attribute {t!r} is only allowed inside n() or ht(); write e.g. jet[0].{t}", col)
            return Each(t)
        if t in FUNCTIONS:
            return self.call(t, col)
        if t in KEYWORDS:
            self.fail(f"unexpected keyword {t!r}", col)
        if self.at("("):
            self.fail(f"unknown function {t!r} (functions: abs, n, ht)", col)
        if self.at("[", "."):
            self.fail(f"unknown object {t!r} (objects: jet, eg, mu, met)", col)
        return Seed(t)

    def indexed(self, obj, col):
        if not self.at("["):
            self.fail(f"object {obj!r} needs an index, e.g. {obj}[0].pt", self.peek()[2])
        self.next()
        k, t, c = self.next()
        if k != "num" or not t.isdigit():
            self.fail(f"index of {obj!r} must be a non-negative integer, found {_show(k, t)}", c)
        self.expect("]", f"after the index of {obj!r}")
        return Attr(obj, int(t), self.attr(ATTRS, obj))

    def attr(self, names, obj):
        self.expect(".", f"after {obj!r} (e.g. {obj}{'' if obj == 'met' else '[0]'}.pt)")
        k, t, col = self.next()
        if t not in names or k != "name":
            self.fail(f"unknown attribute {_show(k, t)} of {obj!r} (attributes: {', '.join(names)})", col)
        return t

    def call(self, func, col):
        self.expect("(", f"after {func!r}")
        if func == "abs":
            arg = self.arith()
            self.expect(")", "to close abs(")
            return Unary("abs", self.need(arg, "num", "abs()", col))
        k, obj, c = self.next()
        if obj not in OBJECTS or k != "name":
            self.fail(f"{func}() needs an object list (jet, eg, mu) as first argument, found {_show(k, obj)}", c)
        cond, outer, self.each = None, self.each, obj
        while self.at(","):
            c = self.next()[2]
            if self.at(")"):
                self.fail(f"missing condition after ',' in {func}()", c)
            part = self.need(self.or_(), "bool", f"{func}()", self.peek()[2])
            cond = part if cond is None else Binary("and", cond, part)
        self.each = outer
        self.expect(")", f"to close {func}( (arguments: object, conditions)")
        return Call(func, obj, cond)


def parse(text, where=""):
    """Parse and type-check a seed's cut expression; it must be a condition (boolean)."""
    if not isinstance(text, str):
        raise ExprError(f"{where + ': ' if where else ''}expression must be a string, got {type(text).__name__}")
    return _Parser(text, where).parse()


# ---------------------------------------------------------------- evaluator
# A cut compiles once (per object capacities) into a register program that the C++ core runs on blocks
# of events (menu/cuts.h):
# registers hold one value per event, or one per object slot inside n()/ht(); numbers are (value, exists)
# pairs, conditions booleans. The semantics are the module docstring's.
_OPS = {name: i for i, name in enumerate(
    ("Num", "Bool", "Seed", "Attr", "Each", "Cmp", "Arith", "And", "Or", "Not", "Neg", "Abs", "Count", "Ht"))}
_CMP_CODE = {op: i for i, op in enumerate((">=", ">", "<=", "<", "==", "!="))}
_ARITH_CODE = {op: i for i, op in enumerate("+-*/")}


@dataclass(frozen=True)
class Program:
    code: np.ndarray  # (k, 5) int64: op, dst, a, b, c
    constants: np.ndarray
    reg_width: np.ndarray
    results: np.ndarray  # the result register of each cut
    fields: tuple  # record field names, as the program indexes them
    seeds: tuple  # seed names, likewise


@functools.lru_cache(maxsize=4096)
def program(nodes, capacities):
    """The register program of the cuts ``nodes`` (a tuple) for object lists of ``capacities`` ((field, slots),
    ...). Equal subexpressions, within a cut and across cuts, are computed once."""
    capacity = dict(capacities)
    code, constants, widths, fields, seeds = [], [], [], [], []
    done = {}  # (node, each) -> its register

    def index(lst, item):
        if item not in lst:
            lst.append(item)
        return lst.index(item)

    def emit(op, width, a=0, b=0, c=0):
        widths.append(width)
        code.append((_OPS[op], len(widths) - 1, a, b, c))
        return len(widths) - 1

    def go(n, each):  # each: (field, capacity) of the innermost n()/ht(), or None
        key = (n, each)  # inside n()/ht() the same text means the slots of that list
        if key not in done:
            done[key] = compile_node(n, each)
        return done[key]

    def compile_node(n, each):
        t = type(n)
        if t is Num:
            return emit("Num", 1, index(constants, float(n.value)))
        if t is Bool:
            return emit("Bool", 1, int(n.value))
        if t is Seed:
            return emit("Seed", 1, index(seeds, n.name))
        if t is Each:
            return emit("Each", each[1], index(fields, each[0]), 0, ATTRS[n.attr])
        if t is Attr:
            name = OBJECTS.get(n.obj, "met")
            if name == "met":
                return emit("Attr", 1, index(fields, name), 0, MET_ATTRS[n.attr])
            return emit("Attr", 1, index(fields, name), n.index, ATTRS[n.attr])
        if t is Call:
            name = OBJECTS[n.obj]
            cond = -1 if n.cond is None else go(n.cond, (name, capacity[name]))
            return emit("Count" if n.func == "n" else "Ht", 1, index(fields, name), cond)
        if t is Unary:
            arg = go(n.arg, each)
            return emit({"not": "Not", "-": "Neg", "abs": "Abs"}[n.op], widths[arg], arg)
        left, right = go(n.left, each), go(n.right, each)
        width = max(widths[left], widths[right])
        if n.op in ("and", "or"):
            return emit("And" if n.op == "and" else "Or", width, left, right)
        if n.op in CMP:
            return emit("Cmp", width, left, right, _CMP_CODE[n.op])
        return emit("Arith", width, left, right, _ARITH_CODE[n.op])

    results = []
    for node in nodes:
        result = go(node, None)
        if kind(node) != "bool" or widths[result] != 1:
            raise ExprError("expression is a number, not a condition")
        results.append(result)
    return Program(np.array(code, np.int64).reshape(-1, 5), np.array(constants, np.float64),
                   np.array(widths, np.int64), np.array(results, np.int64), tuple(fields), tuple(seeds))


def _field(chunk, name, n_events):
    if name not in chunk:
        raise ExprError(f"event chunk has no field {name!r}")
    arr = np.asarray(chunk[name])
    if arr.shape[:1] != (n_events,) or arr.shape[1:] != ((2,) if name == "met" else arr.shape[1:2] + (3,)):
        raise ExprError(f"event chunk field {name!r} has shape {arr.shape}, expected ({n_events}, "
                        f"{'2' if name == 'met' else 'slots, 3'})")
    return arr


def evaluate(node, chunk, seeds=None):
    """Decision of ``node`` on every event of ``chunk`` -> bool array (n_events,)."""
    return evaluate_all((node,), chunk, seeds)[0]


def evaluate_all(nodes, chunk, seeds=None):
    """Decisions of several cuts ``nodes`` on every event of ``chunk``, in one pass over the events that
    shares their loads and common subexpressions -> bool array (len(nodes), n_events)."""
    arrays = list(chunk.values()) + list((seeds or {}).values())
    if not arrays:
        raise ExprError("cannot tell the number of events: empty chunk and no seeds")
    n = len(arrays[0])
    nodes = tuple(nodes)
    arrays = {name: _field(chunk, name, n) for name in sorted(set().union(*(node.fields() for node in nodes)))}
    prog = program(nodes, tuple((k, a.shape[1]) for k, a in arrays.items() if k != "met"))
    decisions = []
    for name in prog.seeds:
        if seeds is None or name not in seeds:
            raise ExprError(f"seed {name!r} is referenced but not (yet) evaluated")
        value = np.asarray(seeds[name], bool)
        if value.shape != (n,):
            raise ExprError(f"seed {name!r}: decisions of shape {value.shape}, expected ({n},)")
        decisions.append(value)
    fields = [arrays[name] for name in prog.fields]
    return _core.eval_cuts(prog.code, prog.constants, prog.reg_width, prog.results, fields, decisions, n)


# ---------------------------------------------------------------- unparse
_PREC = {"or": 1, "and": 2, "not": 3, **dict.fromkeys(CMP, 4), "+": 5, "-": 5, "*": 6, "/": 6}


def unparse(node):
    """Canonical text of ``node`` (parses back to an equal node)."""
    return _unparse(node)[0]


def _unparse(node):  # -> (text, precedence); atoms bind tightest (8)
    t = type(node)
    if t is Num:
        v = node.value
        return (str(int(v)) if v.is_integer() and abs(v) < 1e15 else repr(v)), 8
    if t is Bool:
        return ("true" if node.value else "false"), 8
    if t in (Seed, Each):
        return getattr(node, "name", None) or node.attr, 8
    if t is Attr:
        return (f"met.{node.attr}" if node.obj == "met" else f"{node.obj}[{node.index}].{node.attr}"), 8
    if t is Call:
        return f"{node.func}({node.obj}{', ' + unparse(node.cond) if node.cond is not None else ''})", 8
    if t is Unary:
        if node.op == "abs":
            return f"abs({unparse(node.arg)})", 8
        prec = 3 if node.op == "not" else 7
        return f"{'not ' if node.op == 'not' else '-'}{_wrap(node.arg, prec)}", prec
    prec = _PREC[node.op]
    # left-associative: the left operand may share the precedence, the right one may not
    return f"{_wrap(node.left, prec)} {node.op} {_wrap(node.right, prec + 1)}", prec


def _wrap(node, prec):  # parenthesized when it binds looser than its place needs
    text, p = _unparse(node)
    return text if p >= prec else f"({text})"
