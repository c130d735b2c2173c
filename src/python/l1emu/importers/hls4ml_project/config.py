"""Values of a project's types and config structs: typedef chains resolved to l1emu precisions, and
static constants evaluated (integer arithmetic, enumerators, literals) the way the C++ compiler sees them."""

import re

from ...fixed import check_precision
from ...errors import L1emuError, ProjectError
from .source import error, type_text

_ARRAY = re.compile(r"^nnet::array<(.+),([^,<>]+)>$")
_INT_EXPR = re.compile(r"^[\d\s+\-*/%()]+$")


class Types:
    def __init__(self, decls):
        self.typedefs = decls.typedefs
        self._specs = {}

    def element(self, name):
        """(element type text, pack size or None) of a type name, through typedefs and nnet::array."""
        text, seen = name, set()
        while text in self.typedefs and text not in seen:
            seen.add(text)
            text = self.typedefs[text]
        m = _ARRAY.match(text.replace(" ", ""))
        if m:
            inner, pack = self.element(m.group(1))
            return inner, int_expression(m.group(2))
        return text, None

    def spec(self, name, where):
        """l1emu precision string of a type name (ap_fixed/ap_ufixed/ap_int/ap_uint, quant/overflow modes)."""
        if name not in self._specs:
            text, _ = self.element(name)
            try:
                self._specs[name] = check_precision(text, f"{where}: type {name}")
            except L1emuError as err:
                raise ProjectError(str(err)) from None
        return self._specs[name]


def int_expression(text):
    """Value of an integer constant expression of literals (7*7*4), None if it is not one."""
    if not _INT_EXPR.match(text):
        return None
    return int(eval(text.replace("/", "//"), {"__builtins__": {}}))  # digits and operators only


class Config:
    """One config struct: ``value(key)`` evaluates a static constant (int, enumerator name, literal text)."""

    def __init__(self, struct, decls):
        self.struct, self.decls = struct, decls
        self.name = struct.name

    def has(self, key):
        return key in self.struct.members

    def tokens(self, key):
        return self.struct.members[key]

    def literal(self, key):
        return type_text(self.struct.members[key])

    def value(self, key, _depth=0):
        toks = self.struct.members.get(key)
        if toks is None:
            raise error(self.struct.where, f"config {self.name} has no '{key}'")
        if len(toks) == 1 and toks[0].text in ("true", "false"):
            return int(toks[0].text == "true")
        if len(toks) > 1 and all(t.kind == "id" or t.text == "::" for t in toks) and toks[0].text == "nnet":
            return toks[-1].text  # an enumerator: nnet::latency, nnet::conv_implementation::linebuffer
        parts = []
        for t in toks:
            if t.kind == "id":
                if _depth > 20 or t.text not in self.struct.members:
                    raise error(t, f"config {self.name}: cannot evaluate '{key}' ({t.text} is not a constant of it)")
                v = self.value(t.text, _depth + 1)
                if not isinstance(v, int):
                    raise error(t, f"config {self.name}: '{t.text}' is not an integer")
                parts.append(f"({v})")
            elif t.kind == "num":
                parts.append(t.text.rstrip("uUlL"))
            else:
                parts.append(t.text)
        text = "".join(parts)
        value = int_expression(text)
        if value is None:
            raise error(toks[0], f"config {self.name}: '{key} = {type_text(toks)}' is not an integer expression "
                                 "l1emu evaluates")
        return value

    def type_name(self, key):
        return self.struct.types.get(key)

    def nested(self, key):
        """The config struct a typedef member names (conv's mult_config)."""
        name = self.struct.types.get(key)
        struct = self.decls.structs.get(name) if name else None
        return Config(struct, self.decls) if struct else None
