"""The menu file (DESIGN.md "Menu file"): YAML, safe-loaded and checked against its schema before any
event is read. Every error names the file, the key path and what was expected."""

from dataclasses import dataclass, field
import math
import os
import re

import numpy as np

from ..errors import L1emuError
from . import expr

LHC_REVOLUTION_HZ = 11245.6
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# names a seed or algorithm may not take: they mean something in expressions
RESERVED = expr.KEYWORDS | expr.FUNCTIONS | set(expr.OBJECTS) | set(expr.ATTRS) | {"met"}
_SCORE = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?:\[\s*([A-Za-z0-9_+-]+)\s*\])?\s*$")


class MenuError(L1emuError):
    """A menu file that is malformed, inconsistent or refers to something that does not exist."""


@dataclass
class Algorithm:
    """An emulated model and how the Global Trigger feeds it."""

    name: str
    model: str  # absolute path of the .l1emu file
    inputs: str  # input builder name (menu.inputs.BUILDERS)
    scaling: str | None = None  # absolute path of a scale table
    classes: list | None = None  # output names of a multi-output model
    emulator: object = None  # l1emu.Emulator, bound by Menu.load
    scale: object = None  # the loaded scale table
    float_model: str | None = None  # absolute path of the float (QKeras/Keras) model, if given
    _keras: object = None  # loaded on first use, in the process that evaluates (not pickled)

    @property
    def n_outputs(self):
        return sum(int(math.prod(s)) for s in _output_shapes(self.emulator))

    def float_predict(self, x):
        """Outputs of the float model on the (scaled, unquantized) inputs, (n, n_out) float64."""
        if self._keras is None:
            from ..keras_layers import load_model

            self._keras = load_model(self.float_model)
        y = self._keras.predict(x.reshape((len(x),) + tuple(self.emulator.input_shape)), batch_size=8192, verbose=0)
        return np.asarray(y[0] if isinstance(y, list) else y, np.float64).reshape(len(x), -1)

    def __getstate__(self):
        return {**self.__dict__, "_keras": None}


@dataclass
class Seed:
    """One L1 algorithm: a cut expression, or a score threshold (fixed, or solved for a rate)."""

    name: str
    kind: str  # "cut" | "score"
    prescale: float = 1.0
    cut: object = None  # expr node (kind "cut")
    algorithm: str | None = None  # (kind "score")
    output: int = 0  # output index of the algorithm
    score_label: str | None = None  # e.g. "jettag[t]"
    threshold: float | None = None
    units: str = "value"  # of threshold: "value" (physical) or "raw" (output code)
    rate_hz: float | None = None  # solve the threshold for this rate
    require: object = None  # expr node, or None
    threshold_raw: int | None = None  # set for fixed thresholds at load, for rate_hz seeds at replay

    def references(self):
        refs = set()
        for node in (self.cut, self.require):
            if node is not None:
                refs |= set(node.seeds())
        return refs


@dataclass
class Menu:
    name: str
    bunch_crossing_rate_hz: float
    algorithms: dict
    seeds: dict  # name -> Seed, in file order
    prescale_columns: dict = field(default_factory=dict)
    path: str | None = None

    @classmethod
    def load(cls, path, threads=0):
        """Read, check and bind a menu file: every model loaded, every reference resolved."""
        return load(path, threads=threads)

    def order(self):
        """Seed names in an evaluation order where every referenced seed comes first."""
        return _topological(self.seeds, self.path or "menu")

    def with_column(self, column):
        """A copy whose seeds take the prescales of a prescale column."""
        import copy

        if column not in self.prescale_columns:
            known = ", ".join(self.prescale_columns) or "none"
            raise MenuError(f"{self.path}: no prescale column {column!r} (columns: {known})")
        menu = copy.copy(self)
        menu.seeds = {name: copy.copy(s) for name, s in self.seeds.items()}
        for name, p in self.prescale_columns[column].items():
            menu.seeds[name].prescale = p
        return menu

    def replay(self, background, signals=None, **kwargs):
        from .replay import replay

        return replay(self, background, signals=signals, **kwargs)


# -- loading ------------------------------------------------------------------------------------------

def _fail(where, message):
    raise MenuError(f"{where}: {message}")


def _check_keys(doc, where, required, optional):
    if not isinstance(doc, dict):
        _fail(where, f"expected a mapping with keys {sorted(required | optional)}, got {type(doc).__name__}")
    unknown = sorted(set(doc) - required - optional)
    if unknown:
        _fail(where, f"unknown key(s) {unknown}; allowed: {sorted(required | optional)}")
    missing = sorted(required - set(doc))
    if missing:
        _fail(where, f"missing key(s) {missing}")


def _number(value, where, positive=True):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        _fail(where, f"expected a number, got {value!r}")
    if positive and value <= 0:
        _fail(where, f"expected a positive number, got {value!r}")
    return float(value)


def _prescale(value, where):
    p = _number(value, where, positive=False)
    # uGT prescale counters count in steps of 1/100: 0 disables the seed, otherwise >= 1
    if p != 0 and p < 1:
        _fail(where, f"prescale {value!r} must be 0 (disabled) or >= 1")
    if abs(round(p * 100) - p * 100) > 1e-6:
        _fail(where, f"prescale {value!r} has more than two decimals (uGT precision is 0.01)")
    return p


def _safe_yaml(path):
    import yaml

    from . import yamlfile

    try:
        with open(path) as f:
            return yamlfile.load(f)
    except OSError as err:
        raise MenuError(f"cannot read menu {path!r}: {err.strerror}") from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        at = f" (line {mark.line + 1})" if mark is not None else ""
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise MenuError(f"{path}: not a valid menu YAML{at}: {problem}") from None


def _resolve(base, value, where, what):
    if not isinstance(value, str) or not value:
        _fail(where, f"expected a {what} path, got {value!r}")
    path = value if os.path.isabs(value) else os.path.join(base, value)
    if not os.path.isfile(path):
        _fail(where, f"{what} {value!r} not found (looked for {path})")
    return path


def _algorithm(name, doc, where, base, threads):
    from ..emulator import load as load_model
    from . import inputs

    _check_keys(doc, where, {"model", "inputs"}, {"scaling", "classes", "float_model", "description"})
    model = _resolve(base, doc["model"], f"{where}.model", "model file")
    if doc["inputs"] not in inputs.BUILDERS:
        _fail(f"{where}.inputs", f"unknown input builder {doc['inputs']!r}; known: {', '.join(inputs.BUILDERS)}")
    try:
        emulator = load_model(model, threads=threads)
    except L1emuError as err:
        raise MenuError(f"{where}.model: {err}") from None
    builder = inputs.BUILDERS[doc["inputs"]]
    n_in = int(math.prod(builder.shape))
    if int(math.prod(emulator.input_shape)) != n_in:
        _fail(f"{where}.inputs", f"builder {builder.name!r} gives {builder.shape} per event but model "
              f"{doc['model']!r} takes {emulator.input_shape}")
    scale = None
    scaling = None
    if doc.get("scaling") is not None:
        scaling = _resolve(base, doc["scaling"], f"{where}.scaling", "scale table")
        try:
            scale = inputs.load_scaling(scaling, n_in)
        except L1emuError as err:
            raise MenuError(f"{where}.scaling: {err}") from None
    classes = doc.get("classes")
    n_out = sum(int(math.prod(s)) for s in _output_shapes(emulator))
    if classes is not None:
        if (not isinstance(classes, list) or not all(isinstance(c, str) and c for c in classes)
                or len(set(classes)) != len(classes)):
            _fail(f"{where}.classes", f"expected a list of distinct names, got {classes!r}")
        if len(classes) != n_out:
            _fail(f"{where}.classes", f"{len(classes)} names for a model with {n_out} outputs")
    float_model = None
    if doc.get("float_model") is not None:
        float_model = _resolve(base, doc["float_model"], f"{where}.float_model", "float model")
    return Algorithm(name, model, builder.name, scaling, classes, emulator, scale, float_model)


def _output_shapes(emulator):
    return [emulator._shapes[t] for t in emulator.graph["outputs"]]


def _parse(text, where):
    try:
        return expr.parse(text, where)
    except expr.ExprError as err:
        raise MenuError(str(err)) from None


def _score_ref(text, algorithms, where):
    m = _SCORE.match(text) if isinstance(text, str) else None
    if m is None:
        _fail(where, f"expected an algorithm name or name[class], got {text!r}")
    name, index = m.group(1), m.group(2)
    if name not in algorithms:
        _fail(where, f"unknown algorithm {name!r}; defined: {', '.join(algorithms) or 'none'}")
    alg = algorithms[name]
    n_out = sum(int(math.prod(s)) for s in _output_shapes(alg.emulator))
    if index is None:
        if n_out != 1:
            names = alg.classes or list(range(n_out))
            _fail(where, f"algorithm {name!r} has {n_out} outputs: pick one, e.g. {name}[{names[0]}]")
        return name, 0
    if alg.classes and index in alg.classes:
        return name, alg.classes.index(index)
    if re.fullmatch(r"\d+", index) and int(index) < n_out:
        return name, int(index)
    _fail(where, f"algorithm {name!r} has no output {index!r} (classes: {alg.classes or list(range(n_out))})")


def _seed(name, doc, where, algorithms):
    if isinstance(doc, str):
        return Seed(name, "cut", cut=_parse(doc, where))
    if not isinstance(doc, dict):
        _fail(where, f"expected a cut expression or a mapping, got {type(doc).__name__}")
    if "cut" in doc:
        _check_keys(doc, where, {"cut"}, {"prescale", "description"})
        if not isinstance(doc["cut"], str):
            _fail(f"{where}.cut", f"expected an expression string, got {doc['cut']!r}")
        return Seed(name, "cut", prescale=_prescale(doc.get("prescale", 1), f"{where}.prescale"),
                    cut=_parse(doc["cut"], f"{where}.cut"))
    _check_keys(doc, where, {"score"}, {"threshold", "units", "rate_hz", "require", "prescale", "description"})
    algorithm, output = _score_ref(doc["score"], algorithms, f"{where}.score")
    has_threshold, has_rate = "threshold" in doc, "rate_hz" in doc
    if has_threshold == has_rate:
        _fail(where, "a score seed needs exactly one of 'threshold' or 'rate_hz'")
    units = doc.get("units", "value")
    if units not in ("value", "raw"):
        _fail(f"{where}.units", f"expected 'value' or 'raw', got {units!r}")
    if has_rate and "units" in doc:
        _fail(f"{where}.units", "'units' applies to 'threshold', not to 'rate_hz'")
    require = None
    if doc.get("require") is not None:
        if not isinstance(doc["require"], str):
            _fail(f"{where}.require", f"expected an expression string, got {doc['require']!r}")
        require = _parse(doc["require"], f"{where}.require")
    seed = Seed(name, "score", prescale=_prescale(doc.get("prescale", 1), f"{where}.prescale"),
                algorithm=algorithm, output=output, score_label=str(doc["score"]).replace(" ", ""),
                units=units, require=require)
    spec = algorithms[algorithm].emulator.output_precisions()[0]
    if has_rate:
        seed.rate_hz = _number(doc["rate_hz"], f"{where}.rate_hz")
        return seed
    if units == "raw":
        t = doc["threshold"]
        if isinstance(t, bool) or not isinstance(t, int):
            _fail(f"{where}.threshold", f"a raw threshold is an integer output code, got {t!r}")
        seed.threshold_raw = int(t)
    else:
        t = _number(doc["threshold"], f"{where}.threshold", positive=False)
        # fires on value >= t  <=>  code >= ceil(t / lsb)
        seed.threshold_raw = int(math.ceil(t * 2.0 ** spec.frac))  # exact: scaling by a power of two
    seed.threshold = seed.threshold_raw * 2.0 ** -spec.frac
    return seed


def load(path, threads=0):
    path = os.fspath(path)
    doc = _safe_yaml(path)
    base = os.path.dirname(os.path.abspath(path))
    _check_keys(doc, path, {"name", "seeds"},
                {"bunch_crossing_rate_hz", "filled_bunches", "algorithms", "prescale_columns", "description"})
    if not isinstance(doc["name"], str) or not doc["name"]:
        _fail(f"{path}: name", f"expected a non-empty string, got {doc['name']!r}")
    if ("bunch_crossing_rate_hz" in doc) == ("filled_bunches" in doc):
        _fail(path, "give exactly one of 'bunch_crossing_rate_hz' or 'filled_bunches'")
    if "filled_bunches" in doc:
        nb = doc["filled_bunches"]
        if isinstance(nb, bool) or not isinstance(nb, int) or not 0 < nb <= 3564:
            _fail(f"{path}: filled_bunches", f"expected an integer in 1..3564, got {nb!r}")
        bx_rate = nb * LHC_REVOLUTION_HZ
    else:
        bx_rate = _number(doc["bunch_crossing_rate_hz"], f"{path}: bunch_crossing_rate_hz")
        if bx_rate > 3564 * LHC_REVOLUTION_HZ * (1 + 1e-9):
            _fail(f"{path}: bunch_crossing_rate_hz", f"{bx_rate:g} Hz exceeds the LHC's 3564 x 11245.6 Hz")
    algorithms = {}
    alg_docs = doc.get("algorithms") or {}
    if not isinstance(alg_docs, dict):
        _fail(f"{path}: algorithms", "expected a mapping of name -> {model, inputs, ...}")
    for name, adoc in alg_docs.items():
        if not isinstance(name, str) or not _NAME.match(name) or name in RESERVED:
            _fail(f"{path}: algorithms", f"invalid algorithm name {name!r}")
        algorithms[name] = _algorithm(name, adoc, f"{path}: algorithms.{name}", base, threads)
    seed_docs = doc["seeds"]
    if not isinstance(seed_docs, dict) or not seed_docs:
        _fail(f"{path}: seeds", "expected a non-empty mapping of seed name -> definition")
    seeds = {}
    for name, sdoc in seed_docs.items():
        if not isinstance(name, str) or not _NAME.match(name) or name in RESERVED or name in algorithms:
            _fail(f"{path}: seeds", f"invalid seed name {name!r} (an identifier that is not a keyword, object, "
                  "function or algorithm name)")
        seeds[name] = _seed(name, sdoc, f"{path}: seeds.{name}", algorithms)
    for name, seed in seeds.items():
        unknown = sorted(seed.references() - set(seeds))
        if unknown:
            _fail(f"{path}: seeds.{name}", f"refers to unknown seed(s) {unknown}")
    solved = {n for n, s in seeds.items() if s.rate_hz is not None}
    for name in solved:
        if seeds[name].references() & solved:
            _fail(f"{path}: seeds.{name}.require",
                  f"refers to rate-solved seed(s) {sorted(seeds[name].references() & solved)}: solve them separately")
    columns = doc.get("prescale_columns") or {}
    if not isinstance(columns, dict):
        _fail(f"{path}: prescale_columns", "expected a mapping of column name -> {seed: prescale}")
    parsed_columns = {}
    for column, entries in columns.items():
        where = f"{path}: prescale_columns.{column}"
        if not isinstance(entries, dict):
            _fail(where, "expected a mapping of seed -> prescale")
        for seed_name, value in entries.items():
            if seed_name not in seeds:
                _fail(f"{where}.{seed_name}", "unknown seed")
        parsed_columns[str(column)] = {s: _prescale(v, f"{where}.{s}") for s, v in entries.items()}
    menu = Menu(doc["name"], bx_rate, algorithms, seeds, parsed_columns, path)
    menu.order()  # refuses cycles now, before any event is read
    return menu


def _topological(seeds, where):
    order, state = [], {}

    def visit(name, stack):
        if state.get(name) == "done":
            return
        if state.get(name) == "visiting":
            cycle = stack[stack.index(name):] + [name]
            raise MenuError(f"{where}: seeds form a cycle: {' -> '.join(cycle)}")
        state[name] = "visiting"
        for ref in sorted(seeds[name].references()):
            visit(ref, stack + [name])
        state[name] = "done"
        order.append(name)

    for name in seeds:
        visit(name, [])
    return order
