"""l1emu.menu.expr: seed cut expressions against an independent per-event pure-Python computation.

Random chunks are pt-ordered with a random number of empty slots and values exactly on the thresholds
and one 0.5 GeV LSB either side; every example must both fire and not fire on them, so a wrong
comparison, a lost missing-object rule or a broken sum fails. Then every error case, by message."""

import builtins
import inspect
import math
import re
import warnings

import numpy as np
import pytest

from l1emu.errors import L1emuError
from l1emu.menu import expr
from l1emu.menu.expr import ExprError, evaluate, evaluate_all, parse, program, unparse

N = 6000
CAPACITY = {"jet": 10, "egamma": 4, "muon": 4}
THRESHOLDS = (7, 15, 20, 22, 30, 40, 60, 90, 100, 120, 150, 180, 300)
ETA_LSB = 0.0435
SEEDS = ("L1_SingleMu22", "L1_DoubleMu_15_7", "L1_X", "a", "b", "c")


def _pts(rng, k):
    """k pt values, descending: thresholds +-1 LSB, multiples of 30 (so HT sums hit 360), random grid."""
    special = [t + d for t in THRESHOLDS for d in (-0.5, 0.0, 0.5)]
    pick = rng.integers(0, 3, k)
    values = np.where(pick == 0, rng.choice(special, k),
                      np.where(pick == 1, 30.0 * rng.integers(1, 7, k), 0.5 * rng.integers(1, 600, k)))
    return np.sort(values)[::-1]


def _etas(rng, k):
    special = np.float32([2.4, -2.4, 2.5, -2.5, 55 * ETA_LSB, 56 * ETA_LSB, -57 * ETA_LSB, 58 * ETA_LSB])
    grid = (rng.integers(-90, 91, k) * ETA_LSB).astype(np.float32)
    return np.where(rng.random(k) < 0.3, rng.choice(special, k), grid)


def make_chunk(n, seed):
    rng = np.random.default_rng(seed)
    chunk = {}
    for field, cap in CAPACITY.items():
        arr = np.zeros((n, cap, 3), np.float32)
        for i, k in enumerate(rng.integers(0, cap + 1, n)):  # building the test data may loop
            arr[i, :k, 0] = _pts(rng, k)
            arr[i, :k, 1] = _etas(rng, k)
            arr[i, :k, 2] = rng.integers(-72, 72, k) * (2 * math.pi / 144)
        chunk[field] = arr
    met = np.where(rng.random(n) < 0.3, rng.choice([99.5, 100.0, 100.5], n), 0.5 * rng.integers(0, 400, n))
    chunk["met"] = np.stack([met, rng.uniform(-math.pi, math.pi, n)], -1).astype(np.float32)
    # a few hand-made events: HT exactly 360 from jets on the pt >= 30 and |eta| <= 2.4 boundaries
    chunk["jet"][0] = 0
    chunk["jet"][0, :5] = [[180, 0.5, 0], [150, -1, 1], [30, 55 * ETA_LSB, 0], [30, 2.5, 0], [29.5, 0, 0]]
    chunk["jet"][1] = 0
    chunk["jet"][1, :3] = [[180, 0.5, 0], [150, 0.4, 1], [30, -56 * ETA_LSB, 0]]
    seeds = {name: rng.random(n) < 0.5 for name in SEEDS}
    return chunk, seeds


@pytest.fixture(scope="module")
def data():
    return make_chunk(N, seed=2024)


# ---------------------------------------------------------------- the independent reference
def obj(ev, field, i):
    """(pt, eta, phi) as Python floats, or None when there is no such object."""
    arr = ev[field]
    if i >= len(arr) or arr[i][0] == 0:
        return None
    return tuple(float(x) for x in arr[i])


def objs(ev, field):
    return [o for o in (obj(ev, field, i) for i in range(len(ev[field]))) if o is not None]


def pt(ev, field, i):
    o = obj(ev, field, i)
    return None if o is None else o[0]


def both(a, b, test):
    return a is not None and b is not None and test(a, b)


EXAMPLES = {
    "jet[0].pt >= 180": lambda e, s: both(pt(e, "jet", 0), 180, lambda a, b: a >= b),
    "ht(jet, pt >= 30 and abs(eta) <= 2.4) >= 360":
        lambda e, s: sum(j[0] for j in objs(e, "jet") if j[0] >= 30 and abs(j[1]) <= 2.4) >= 360,
    "ht(jet, pt >= 30, abs(eta) <= 2.4) >= 360":  # DESIGN.md's spelling: several conditions, all hold
        lambda e, s: sum(j[0] for j in objs(e, "jet") if j[0] >= 30 and abs(j[1]) <= 2.4) >= 360,
    "mu[0].pt >= 15 and mu[1].pt >= 7":
        lambda e, s: both(pt(e, "muon", 0), 15, lambda a, b: a >= b) and both(pt(e, "muon", 1), 7, lambda a, b: a >= b),
    "n(jet, pt >= 40 and abs(eta) < 2.5) >= 4":
        lambda e, s: len([j for j in objs(e, "jet") if j[0] >= 40 and abs(j[1]) < 2.5]) >= 4,
    "met.pt >= 100": lambda e, s: float(e["met"][0]) >= 100,
    "eg[0].pt >= 20 and abs(eg[0].eta) <= 2.5":
        lambda e, s: obj(e, "egamma", 0) is not None and obj(e, "egamma", 0)[0] >= 20
        and abs(obj(e, "egamma", 0)[1]) <= 2.5,
    "L1_SingleMu22 or L1_DoubleMu_15_7": lambda e, s: s["L1_SingleMu22"] or s["L1_DoubleMu_15_7"],
    "not L1_X": lambda e, s: not s["L1_X"],
    "(a or b) and c": lambda e, s: (s["a"] or s["b"]) and s["c"],
    "a or b and c": lambda e, s: s["a"] or (s["b"] and s["c"]),
    "jet[0].pt + jet[1].pt >= 300": lambda e, s: both(pt(e, "jet", 0), pt(e, "jet", 1), lambda a, b: a + b >= 300),
    "jet[0].pt >= 1.5 * jet[1].pt": lambda e, s: both(pt(e, "jet", 0), pt(e, "jet", 1), lambda a, b: a >= 1.5 * b),
    "not (jet[3].pt >= 30)": lambda e, s: not both(pt(e, "jet", 3), 30, lambda a, b: a >= b),
    "jet[2].pt == 30": lambda e, s: pt(e, "jet", 2) == 30,
    "jet[2].pt != 30": lambda e, s: both(pt(e, "jet", 2), 30, lambda a, b: a != b),
    "jet[0].pt - jet[1].pt > 60 or mu[0].pt < 7.5":
        lambda e, s: both(pt(e, "jet", 0), pt(e, "jet", 1), lambda a, b: a - b > 60)
        or both(pt(e, "muon", 0), 7.5, lambda a, b: a < b),
    "jet[0].pt / jet[1].pt >= 2": lambda e, s: both(pt(e, "jet", 0), pt(e, "jet", 1), lambda a, b: a / b >= 2),
    "-jet[0].eta > 1.2": lambda e, s: obj(e, "jet", 0) is not None and -obj(e, "jet", 0)[1] > 1.2,
    "n(jet) >= 6": lambda e, s: len(objs(e, "jet")) >= 6,
    "ht(eg) > 80": lambda e, s: sum(g[0] for g in objs(e, "egamma")) > 80,
    "n(mu, pt >= 7) >= 2 and not L1_X":
        lambda e, s: len([m for m in objs(e, "muon") if m[0] >= 7]) >= 2 and not s["L1_X"],
    "n(jet, pt >= jet[0].pt / 2) >= 3":
        lambda e, s: pt(e, "jet", 0) is not None and len([j for j in objs(e, "jet") if j[0] >= pt(e, "jet", 0) / 2]) >= 3,
    "n(jet, pt > 30 and n(mu) >= 2) >= 2":
        lambda e, s: len(objs(e, "muon")) >= 2 and len([j for j in objs(e, "jet") if j[0] > 30]) >= 2,
    "n(eg, phi > 0 or eta < -1) == 2": lambda e, s: len([g for g in objs(e, "egamma") if g[2] > 0 or g[1] < -1]) == 2,
    "met.phi > 0 and met.pt < 1e2": lambda e, s: float(e["met"][1]) > 0 and float(e["met"][0]) < 100,
    "not not (mu[3].pt > 0)": lambda e, s: obj(e, "muon", 3) is not None,
}
CONSTANT = {"true": True, "false": False, "jet[12].pt >= 0": False, "not (eg[4].pt < 1)": True,
            "jet[0].pt / (jet[1].pt - jet[1].pt) >= 0": False, "not (jet[0].pt / 0 < 1)": True,
            "n(jet, pt < 0) == 0": True, "ht(mu, false) <= 0 and 2 * 3 - 1 == 5": True}


def reference(text, fn, chunk, seeds):
    events = [{k: v[i] for k, v in chunk.items()} for i in range(len(chunk["met"]))]
    return np.array([bool(fn(ev, {k: bool(v[i]) for k, v in seeds.items()})) for i, ev in enumerate(events)])


@pytest.mark.parametrize("text", list(EXAMPLES))
def test_example_matches_reference(data, text):
    chunk, seeds = data
    got = evaluate(parse(text, "t"), chunk, seeds)
    want = reference(text, EXAMPLES[text], chunk, seeds)
    assert got.dtype == bool and got.shape == (N,)
    assert 0 < want.sum() < N, "the test data must both fire and not fire this seed"
    mismatches = np.flatnonzero(got != want)
    assert mismatches.size == 0, f"{text}: {mismatches.size} mismatches, first events {mismatches[:5]}"


@pytest.mark.parametrize("text", list(CONSTANT))
def test_constant_outcomes(data, text):
    chunk, seeds = data
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # division by zero: missing, no RuntimeWarning
        got = evaluate(parse(text), chunk, seeds)
    assert got.shape == (N,) and got.dtype == bool and (got == CONSTANT[text]).all()


def test_thresholds_are_hit_exactly(data):
    """The data holds pt == 180.0 and 180 +- 0.5; '>=' fires at equality, '>' does not."""
    chunk, _ = data
    lead = chunk["jet"][:, 0, 0]
    for value, ge, gt in ((179.5, False, False), (180.0, True, False), (180.5, True, True)):
        at = lead == value
        assert at.sum() > 0
        assert (evaluate(parse("jet[0].pt >= 180"), chunk)[at] == ge).all()
        assert (evaluate(parse("jet[0].pt > 180"), chunk)[at] == gt).all()
    # event 0: 180 + 150 + 30 (|eta| = 2.3925) = 360, the 30 at |eta| 2.5 and the 29.5 left out;
    # event 1: its 30 sits at |eta| = 2.436 > 2.4, so 330 with the eta cut and 360 without
    ht = lambda t: evaluate(parse(t), chunk)[:2].tolist()
    assert ht("ht(jet, pt >= 30 and abs(eta) <= 2.4) >= 360") == [True, False]
    assert ht("ht(jet, pt >= 30 and abs(eta) <= 2.4) > 360") == [False, False]
    assert ht("ht(jet, pt >= 30) >= 360") == [True, True]
    assert ht("ht(jet, pt > 30) >= 360") == [False, False]


def test_missing_objects():
    jets = np.zeros((3, 10, 3), np.float32)
    jets[1, 0] = [50, 0.1, 0.2]
    jets[2, :4] = [[50, 0, 0], [40, 0, 0], [35, 0, 0], [31, 3.0, 0]]
    chunk = {"jet": jets}
    run = lambda t: evaluate(parse(t), chunk).tolist()
    assert run("jet[3].pt >= 30") == [False, False, True]
    assert run("not (jet[3].pt >= 30)") == [True, True, False]
    assert run("jet[3].pt < 30") == [False, False, False]  # no object: every comparison is False
    assert run("jet[0].pt + jet[1].pt >= 0") == [False, False, True]  # missing + anything is missing
    assert run("abs(jet[0].eta) >= 0") == [False, True, True]  # abs of missing is missing
    assert run("-jet[0].pt <= 0") == [False, True, True]
    assert run("n(jet) == 0") == [True, False, False]  # n counts existing objects only
    assert run("n(jet, eta == 0) == 3") == [False, False, True]  # empty slots (eta 0) do not count
    assert run("ht(jet, abs(eta) < 2.5) == 125") == [False, False, True]


def test_result_shapes_and_errors(data):
    chunk, seeds = data
    assert evaluate(parse("true"), chunk).shape == (N,)
    assert evaluate(parse("a"), {}, {"a": np.array([True, False])}).tolist() == [True, False]
    with pytest.raises(ExprError, match="L1_Missing"):
        evaluate(parse("jet[0].pt > 1 and L1_Missing"), chunk, seeds)
    with pytest.raises(ExprError, match="L1_Missing"):
        evaluate(parse("L1_Missing"), chunk)
    with pytest.raises(ExprError, match="muon"):
        evaluate(parse("mu[0].pt > 1"), {"jet": chunk["jet"]})
    with pytest.raises(ExprError, match="shape"):
        evaluate(parse("a"), chunk, {"a": np.ones(3, bool)})


def test_object_lists_of_any_capacity():
    """The program follows the chunk's slots: 12 jets reach jet[11]; 2 muons leave mu[2] missing."""
    jets = np.zeros((2, 12, 3), np.float32)
    jets[1, :12, 0] = np.arange(12, 0, -1) * 10.0
    mus = np.zeros((2, 2, 3), np.float64)
    mus[:, :, 0] = 5.0
    chunk = {"jet": jets, "muon": mus}
    run = lambda t: evaluate(parse(t), chunk).tolist()
    assert run("jet[11].pt == 10") == [False, True]
    assert run("n(jet) == 12 and ht(jet) == 780") == [False, True]
    assert run("n(mu) == 2 and not (mu[2].pt >= 0)") == [True, True]
    with pytest.raises(ExprError, match="shape"):
        evaluate(parse("jet[0].pt > 1"), {"jet": np.zeros((2, 12, 2), np.float32)})


def test_seeds_and_fields():
    node = parse("(L1_A or not L1_B) and n(mu, pt > ht(jet)) >= 1 and met.pt > 1 and L1_A")
    assert node.seeds() == {"L1_A", "L1_B"} and node.fields() == {"muon", "jet", "met"}
    assert parse("eg[0].pt > 1").fields() == {"egamma"} and parse("true").seeds() == frozenset()
    assert isinstance(node.seeds(), frozenset) and isinstance(node.fields(), frozenset)


@pytest.mark.parametrize("text", [*EXAMPLES, *CONSTANT, "- -3 < -(2 - 1) - 1e3 * 2 / 4", "not (a and b) or c"])
def test_unparse_round_trip(text):
    node = parse(text)
    canonical = unparse(node)
    assert parse(canonical) == node and unparse(parse(canonical)) == canonical


def test_ast_is_frozen():
    node = parse("jet[0].pt >= 180")
    with pytest.raises(AttributeError):
        node.op = "<"
    assert hash(node) == hash(parse("jet[0].pt>=180"))


ERRORS = [
    ("tau[0].pt > 1", "unknown object"),
    ("jet[0].mass > 1", "unknown attribute"),
    ("met.eta > 1", "unknown attribute"),
    ("jet[-1].pt > 1", "index"),
    ("jet[1.5].pt > 1", "index"),
    ("jet[].pt > 1", "index"),
    ("jet.pt > 1", "index"),
    ("jet[a].pt > 1", "index"),
    ("jet[0] > 1", "expected '.'"),
    ("foo(jet) > 1", "unknown function"),
    ("max(1, 2) > 1", "unknown function"),
    ("n() >= 1", "object"),
    ("n(jet,) >= 1", "missing condition"),
    ("ht(3, pt > 1) > 1", "object"),
    ("n(met) > 1", "object"),
    ("abs(1, 2) > 1", "')'"),
    ("abs(true) > 1", "number"),
    ("abs(jet) > 1", "index"),
    ("jet[0].pt and true", "condition"),
    ("true or 3", "condition"),
    ("jet[0].pt >= true", "number"),
    ("true + 1 > 0", "number"),
    ("-true", "number"),
    ("not 3", "condition"),
    ("n(jet, pt) >= 1", "condition"),
    ("a < b < c", "chain"),
    ("1 < jet[0].pt <= 3", "chain"),
    ("a == b", "number"),
    ("pt > 30", "bare attribute"),
    ("jet[0].pt > 30 and eta < 1", "bare attribute"),
    ("(jet[0].pt > 1", "')'"),
    ("jet[0].pt > 1)", "unbalanced"),
    ("((a)", "')'"),
    ("a b", "unexpected"),
    ("jet[0].pt > 1 2", "unexpected"),
    ("", "empty"),
    ("   ", "empty"),
    ("jet[0].pt", "condition"),
    ("42", "condition"),
    ("jet[0].pt = 1", "=="),
    ("a && b", "and"),
    ("a || b", "or"),
    ("!a", "not"),
    ("a & b", "and"),
    ("jet[0].pt ** 2 > 1", "power"),
    ("__import__('os')", "unexpected character"),
    ("__import__(os)", "unknown function"),
    ("a.b", "unknown object"),
    ("jet[0].pt > 1e999", "large"),
    ("jet[0].pt >", "end"),
    ("and a", "keyword"),
    ("a and", "end"),
    ("a @ b", "unexpected character"),
]


@pytest.mark.parametrize("text,word", ERRORS)
def test_error_messages(text, word):
    where = "menu.yaml: seeds.L1_HTT360er"
    with pytest.raises(ExprError) as info:
        parse(text, where)
    message = str(info.value)
    assert isinstance(info.value, L1emuError)
    assert message.startswith(where + ": ") and word in message and "column" in message and repr(text) in message
    assert "\n" not in message


def test_error_column_points_at_the_problem():
    with pytest.raises(ExprError, match=r"column 21:"):
        parse("jet[0].pt >= 30 and tau[0].pt > 1")
    with pytest.raises(ExprError, match=r"column 8:"):
        parse("jet[0].mass > 1")


def test_parse_never_evaluates_python(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("eval/exec called")
    monkeypatch.setattr(builtins, "eval", refuse)
    monkeypatch.setattr(builtins, "exec", refuse)
    for text in list(EXAMPLES) + list(CONSTANT):
        parse(text)
    for text in ("__import__('os').system('true')", "open('x')", "[x for x in y]", "lambda: 1", "a if b else c"):
        with pytest.raises(ExprError):
            parse(text)
    source = inspect.getsource(expr)
    assert not re.search(r"(?<![\w.])(eval|exec|compile)\(", source)


def test_non_string_refused():
    with pytest.raises(ExprError, match="where"):
        parse(180, "where")


# ---------------------------------------------------------------- random expressions
# The generator builds the text and, alongside, its meaning as a per-event Python function (None for
# "no value"), so the parser and the evaluator are checked against semantics written independently.
FIELD_OF = {"jet": "jet", "eg": "egamma", "mu": "muon"}


def lift(op):
    return lambda a, b: None if a is None or b is None else op(a, b)


def gen_num(rng, depth, each):
    """-> (text, f(event, seeds, object) -> float | None)."""
    choice = rng.integers(0, 10 if depth > 0 else 4)
    if choice == 0 or (choice == 3 and each is None):
        v = float(rng.choice([0, 0.5, 1.5, 2, 2.4, 7, 30, 30.5, 100, 180]))
        return repr(v), lambda e, s, o: v
    if choice == 1:
        name, i, a = str(rng.choice(list(FIELD_OF))), int(rng.integers(0, 12)), int(rng.integers(0, 3))
        text = f"{name}[{i}].{('pt', 'eta', 'phi')[a]}"
        return text, lambda e, s, o: None if obj(e, FIELD_OF[name], i) is None else obj(e, FIELD_OF[name], i)[a]
    if choice == 2:
        a = int(rng.integers(0, 2))
        return f"met.{('pt', 'phi')[a]}", lambda e, s, o: float(e["met"][a])
    if choice == 3:  # a bare attribute of each object
        a = int(rng.integers(0, 3))
        return ("pt", "eta", "phi")[a], lambda e, s, o: o[a]
    if choice in (4, 5):
        (ta, fa), (tb, fb) = gen_num(rng, depth - 1, each), gen_num(rng, depth - 1, each)
        op = str(rng.choice(["+", "-", "*", "/"]))
        py = {"+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b,
              "/": lambda a, b: None if b == 0 else a / b}[op]
        return f"({ta} {op} {tb})", lambda e, s, o: lift(py)(fa(e, s, o), fb(e, s, o))
    if choice == 6:
        ta, fa = gen_num(rng, depth - 1, each)
        return f"(-{ta})", lambda e, s, o: None if fa(e, s, o) is None else -fa(e, s, o)
    if choice == 7:
        ta, fa = gen_num(rng, depth - 1, each)
        return f"abs({ta})", lambda e, s, o: None if fa(e, s, o) is None else abs(fa(e, s, o))
    name = str(rng.choice(list(FIELD_OF)))
    if rng.random() < 0.2:
        tc, fc = None, lambda e, s, o: True
    else:
        tc, fc = gen_bool(rng, depth - 1, name)
    func = str(rng.choice(["n", "ht"]))
    text = f"{func}({name}{'' if tc is None else ', ' + tc})"
    def f(e, s, o):
        passing = [x for x in objs(e, FIELD_OF[name]) if fc(e, s, x)]
        return float(len(passing)) if func == "n" else sum(x[0] for x in passing)
    return text, f


def gen_bool(rng, depth, each):
    """-> (text, f(event, seeds, object) -> bool)."""
    choice = rng.integers(0, 6 if depth > 0 else 2)
    if choice == 0:
        name = str(rng.choice(["a", "b", "true", "false"]))
        return name, lambda e, s, o: {"true": True, "false": False}.get(name, s.get(name))
    if choice in (1, 2, 3):
        (ta, fa), (tb, fb) = gen_num(rng, depth - 1, each), gen_num(rng, depth - 1, each)
        op = str(rng.choice(list(CMP_PY)))
        return f"({ta} {op} {tb})", lambda e, s, o: bool(lift(CMP_PY[op])(fa(e, s, o), fb(e, s, o)))
    if choice == 4:
        ta, fa = gen_bool(rng, depth - 1, each)
        return f"(not {ta})", lambda e, s, o: not fa(e, s, o)
    (ta, fa), (tb, fb) = gen_bool(rng, depth - 1, each), gen_bool(rng, depth - 1, each)
    if rng.random() < 0.5:
        return f"({ta} and {tb})", lambda e, s, o: fa(e, s, o) and fb(e, s, o)
    return f"({ta} or {tb})", lambda e, s, o: fa(e, s, o) or fb(e, s, o)


CMP_PY = {">=": lambda a, b: a >= b, ">": lambda a, b: a > b, "<=": lambda a, b: a <= b,
          "<": lambda a, b: a < b, "==": lambda a, b: a == b, "!=": lambda a, b: a != b}


def test_random_expressions_match_reference():
    chunk, seeds = make_chunk(300, seed=7)
    seeds = {k: seeds[k] for k in ("a", "b")}
    wide = {k: v.astype(np.float64) for k, v in chunk.items()}  # float64 fields: the same values, same decisions
    rng = np.random.default_rng(99)
    events = [{k: v[i] for k, v in chunk.items()} for i in range(300)]
    outcomes = set()
    for _ in range(300):
        text, f = gen_bool(rng, 4, None)
        node = parse(text, "fuzz")
        assert parse(unparse(node)) == node, text
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            got = evaluate(node, chunk, seeds)
        want = np.array([bool(f(ev, {k: bool(v[i]) for k, v in seeds.items()}, None)) for i, ev in enumerate(events)])
        bad = np.flatnonzero(got != want)
        assert bad.size == 0, f"{text}: {bad.size} mismatches, first events {bad[:5]}"
        np.testing.assert_array_equal(evaluate(node, wide, seeds), got, err_msg=text)
        outcomes.add((bool(want.any()), bool(want.all())))
    assert (True, False) in outcomes  # mixed outcomes occur: the fuzz is not trivially constant


def test_cuts_evaluated_together_equal_each_alone():
    """evaluate_all (one program: shared loads and common subexpressions, the replay's path) against the
    per-event reference, on random cuts that share subtrees (also the same text inside n() of different lists)."""
    chunk, seeds = make_chunk(300, seed=11)
    seeds = {k: seeds[k] for k in ("a", "b")}
    events = [{k: v[i] for k, v in chunk.items()} for i in range(300)]
    rng = np.random.default_rng(5)
    shared = ["n(jet, pt >= 30 and abs(eta) <= 2.4) >= 2", "n(eg, pt >= 30 and abs(eta) <= 2.4) >= 1",
              "ht(jet, pt >= 30 and abs(eta) <= 2.4) >= 200", "ht(mu, pt >= 30 and abs(eta) <= 2.4) >= 40",
              "jet[0].pt >= 180", "jet[0].pt >= 180 and a", "not (jet[0].pt >= 180)"]
    for trial in range(40):
        texts = [gen_bool(rng, 3, None) for _ in range(int(rng.integers(1, 8)))]
        texts = [(t, None) for t in rng.choice(shared, 3, replace=False)] + texts
        nodes = [parse(t, "fuzz") for t, _ in texts]
        together = evaluate_all(nodes, chunk, seeds)
        assert together.shape == (len(nodes), 300)
        for (text, f), node, got in zip(texts, nodes, together):
            np.testing.assert_array_equal(got, evaluate(node, chunk, seeds), err_msg=text)
            if f is not None:
                want = [bool(f(ev, {k: bool(v[i]) for k, v in seeds.items()}, None)) for i, ev in enumerate(events)]
                np.testing.assert_array_equal(got, want, err_msg=text)
    # the shared subexpressions are computed once: fewer instructions than the cuts compiled apart
    nodes = tuple(parse(t) for t in shared)
    caps = tuple((k, chunk[k].shape[1]) for k in ("egamma", "jet", "muon"))
    alone = sum(len(program((n,), tuple(c for c in caps if c[0] in n.fields())).code) for n in nodes)
    assert len(program(nodes, caps).code) < alone
