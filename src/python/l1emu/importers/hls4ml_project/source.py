"""The C++ of a generated hls4ml project, read as the compiler would for its C simulation: the top
function's translation unit (quoted includes followed inside firmware/, nnet_utils and ap_types being the
library), preprocessed with __SYNTHESIS__ undefined, comments and pragmas dropped, then parsed into the few
declaration forms hls4ml writes: typedefs, config structs, weight arrays, functions, namespaces.
Anything else is refused naming its file:line."""

import dataclasses
import os
import re

from ...errors import ProjectError

LIBRARY_DIRS = ("nnet_utils", "ap_types")

_TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<num>(?:\d+\.\d*|\.\d+)(?:[eE][+-]?\d+)?[fFlL]?|\d+[eE][+-]?\d+[fFlL]?|0[xX][0-9a-fA-F]+[uUlL]*|\d+[uUlL]*)
  | (?P<id>[A-Za-z_]\w*)
  | (?P<str>"(?:[^"\\]|\\.)*")
  | (?P<punct>::|->|&&|\|\||==|!=|<=|>=|[{}()\[\];,<>=*&+\-/!?:.~%^|])
""", re.X)


@dataclasses.dataclass(frozen=True)
class Token:
    text: str
    kind: str
    file: str
    line: int

    def where(self):
        return f"{self.file}:{self.line}"


def error(tok_or_where, what):
    where = tok_or_where.where() if isinstance(tok_or_where, Token) else tok_or_where
    return ProjectError(f"{where}: {what}")


def _strip_comments(text):
    """(text with comments blanked, newlines kept; {line: text of the line's last // comment})."""
    out, notes, i, n, line = [], {}, 0, len(text), 1
    while i < n:
        c = text[i]
        if c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            out.append(text[i:j + 1])
            i = j + 1
        elif text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            notes[line] = text[i + 2:j].strip()
            i = j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            block = text[i:j]
            out.append("\n" * block.count("\n"))
            line += block.count("\n")
            i = j
        else:
            if c == "\n":
                line += 1
            out.append(c)
            i += 1
    return "".join(out), notes


class Unit:
    """Tokens of a translation unit (a top .cpp and the project headers it includes), with the trailing
    comments of their lines (hls4ml names each layer call in one) and object-like macros."""

    def __init__(self, firmware_dir):
        self.firmware_dir = firmware_dir
        self.tokens, self.notes, self.macros = [], {}, {}
        self.library_includes = []  # (header path, where included)
        self.files = []
        self._seen = set()

    def rel(self, path):
        return os.path.relpath(path, os.path.dirname(self.firmware_dir))

    def add_file(self, path, where=None):
        path = os.path.normpath(path)
        if path in self._seen:  # include guards make every project header count once
            return
        self._seen.add(path)
        self.files.append(path)
        try:
            with open(path, encoding="utf-8", errors="replace") as f:
                raw = f.read()
        except OSError as err:
            raise error(where or self.rel(path), f"cannot read {self.rel(path)} ({err.strerror})") from None
        text, notes = _strip_comments(raw.replace("\\\n", " \n"))  # continuations keep their line count
        name = self.rel(path)
        for line, note in notes.items():
            self.notes[(name, line)] = note
        active = [True]  # conditional-inclusion stack
        for lineno, line in enumerate(text.split("\n"), start=1):
            stripped = line.strip()
            if stripped.startswith("#"):
                self._directive(stripped[1:].strip(), active, path, f"{name}:{lineno}")
                continue
            if not all(active):
                continue
            for m in _TOKEN.finditer(line):
                if m.lastgroup == "ws":
                    continue
                if m.end() - m.start() == 0:
                    break
                tok = m.group()
                if m.lastgroup == "id" and tok in self.macros:
                    for t in self.macros[tok]:
                        self.tokens.append(Token(t.text, t.kind, name, lineno))
                    continue
                self.tokens.append(Token(tok, m.lastgroup, name, lineno))
            rest = _TOKEN.sub("", line).strip()
            if rest:
                raise error(f"{name}:{lineno}", f"unexpected characters {rest!r}")

    def _directive(self, d, active, path, where):
        word = re.match(r"\w*", d).group()
        arg = d[len(word):].strip()
        if word in ("ifdef", "ifndef"):
            defined = arg == "WEIGHTS_DIR" or arg in self.macros  # the build defines WEIGHTS_DIR
            active.append(defined if word == "ifdef" else not defined)
        elif word == "if":
            if arg not in ("0", "1"):
                raise error(where, f"unsupported preprocessor condition '#if {arg}'")
            active.append(arg == "1")
        elif word == "else":
            if len(active) == 1:
                raise error(where, "#else without #if")
            active[-1] = not active[-1]
        elif word == "endif":
            if len(active) == 1:
                raise error(where, "#endif without #if")
            active.pop()
        elif not all(active) or word in ("pragma", ""):
            pass
        elif word == "define":
            m = re.match(r"(\w+)(\(?)(.*)", arg)
            if m.group(2):
                raise error(where, f"unsupported function-like macro '#define {arg}'")
            self.macros[m.group(1)] = [Token(t.group(), t.lastgroup, "", 0) for t in _TOKEN.finditer(m.group(3))
                                       if t.lastgroup != "ws"]
        elif word == "undef":
            self.macros.pop(arg, None)
        elif word == "include":
            self._include(arg, path, where)
        else:
            raise error(where, f"unsupported preprocessor directive '#{word}'")

    def _include(self, arg, path, where):
        if arg.startswith("<"):
            return
        m = re.fullmatch(r'"([^"]+)"', arg)
        if not m:
            raise error(where, f"unsupported include {arg}")
        for base in (os.path.dirname(path), self.firmware_dir, os.path.join(self.firmware_dir, "ap_types")):
            target = os.path.normpath(os.path.join(base, m.group(1)))
            if os.path.isfile(target):
                break
        else:
            raise error(where, f"included file {m.group(1)} not found")
        rel = os.path.relpath(target, self.firmware_dir).split(os.sep)
        if rel[0] in LIBRARY_DIRS:
            self.library_includes.append((target, where))
        else:
            self.add_file(target, where)


# -- declarations ----------------------------------------------------------------------------------------
@dataclasses.dataclass
class Struct:
    name: str
    base: str
    members: dict   # name -> list of tokens of the value (static constants, static member definitions)
    types: dict     # name -> type text (typedefs, template usings, static member types)
    text: str       # the struct's source as "static const ... ;"/"typedef ...;" lines (for the importers)
    where: str


@dataclasses.dataclass
class Array:
    name: str
    type: str
    size: list      # tokens of the dimension
    init: list      # tokens of the initializer (None: no initializer)
    where: str


@dataclasses.dataclass
class Function:
    name: str
    params: list    # tokens between the parentheses
    body: list      # tokens between the braces
    where: str


def type_text(tokens):
    """C++ type text from tokens: ap_fixed<16,6,AP_RND,AP_SAT,0>, nnet::array<ap_fixed<8,3>,4*1>."""
    out = ""
    for t in tokens:
        if out and t.kind == "id" and (out[-1].isalnum() or out[-1] == "_"):
            out += " "
        out += t.text
    return out


class Declarations:
    """typedefs {name: type text}, structs, arrays and functions of a unit, names without namespaces
    (hls4ml's generated names are unique in a project)."""

    def __init__(self, unit):
        self.typedefs, self.structs, self.arrays, self.functions = {}, {}, {}, {}
        self.unit = unit
        toks = unit.tokens
        self._parse(toks, 0, len(toks), top=True)

    # Matching bracket of toks[i] (one of ( [ { ), searching up to the end.
    @staticmethod
    def close(toks, i, end=None):
        pairs = {"(": ")", "[": "]", "{": "}"}
        opener, closer, depth = toks[i].text, pairs[toks[i].text], 0
        for j in range(i, len(toks) if end is None else end):
            if toks[j].text == opener:
                depth += 1
            elif toks[j].text == closer:
                depth -= 1
                if depth == 0:
                    return j
        raise error(toks[i], f"unbalanced '{opener}'")

    @staticmethod
    def statement_end(toks, i, end):
        """Index of the ';' ending the statement at i (skipping brackets)."""
        j = i
        while j < end:
            if toks[j].text in "([{":
                j = Declarations.close(toks, j, end) + 1
                continue
            if toks[j].text == ";":
                return j
            j += 1
        raise error(toks[i], "statement without ';'")

    def _parse(self, toks, i, end, top):
        while i < end:
            t = toks[i]
            if t.text == ";":
                i += 1
            elif t.text == "namespace":
                j = i + 1
                while toks[j].text != "{":
                    j += 1
                k = self.close(toks, j, end)
                self._parse(toks, j + 1, k, top=False)
                i = k + 1
            elif t.text == "template":  # library-style templates (generated fill buffers): no state of ours
                j = i + 1
                j = self._skip_angle(toks, j)
                k = j
                while k < end and toks[k].text not in ("{", ";"):
                    k += 1
                if k < end and toks[k].text == "{":
                    k = self.close(toks, k, end)
                    if k + 1 < end and toks[k + 1].text == ";":
                        k += 1
                i = k + 1
            elif t.text in ("using", "static_assert"):  # using-directives and -declarations: names only
                i = self.statement_end(toks, i, end) + 1
            elif t.text == "typedef":
                j = self.statement_end(toks, i, end)
                self.typedefs[toks[j - 1].text] = type_text(toks[i + 1:j - 1])
                i = j + 1
            elif t.text in ("struct", "class") and toks[i + 2].text in (":", "{"):
                i = self._struct(toks, i, end)
            else:
                i = self._declaration(toks, i, end)

    @staticmethod
    def _skip_angle(toks, j):
        if toks[j].text != "<":
            raise error(toks[j], "expected '<' after template")
        depth = 0
        while True:
            depth += {"<": 1, ">": -1}.get(toks[j].text, 0)
            j += 1
            if depth == 0:
                return j

    def _struct(self, toks, i, end):
        name = toks[i + 1].text
        j = i + 2
        base = ""
        if toks[j].text == ":":
            k = j + 1
            while toks[k].text != "{":
                k += 1
            base = type_text([t for t in toks[j + 1:k] if t.text not in ("public", "private", "protected")])
            j = k
        k = self.close(toks, j, end)
        s = Struct(name, base, {}, {}, "", toks[i].where())
        lines = []
        m = j + 1
        while m < k:
            if toks[m].text == "template":
                n = self._skip_angle(toks, m + 1)
                e = self.statement_end(toks, n, k)
                if toks[n].text != "using":
                    raise error(toks[m], f"unsupported member template in struct {name}")
                s.types[toks[n + 1].text] = type_text(toks[n + 3:e])
                m = e + 1
                continue
            e = self.statement_end(toks, m, k)
            stmt = toks[m:e]
            if stmt and stmt[0].text == "typedef":
                s.types[stmt[-1].text] = type_text(stmt[1:-1])
                lines.append(f"typedef {type_text(stmt[1:-1])} {stmt[-1].text};")
            elif stmt and stmt[0].text == "static":
                eq = next((q for q, t in enumerate(stmt) if t.text == "="), None)
                decl = stmt[1:eq] if eq is not None else stmt[1:]
                decl = [t for t in decl if t.text not in ("const", "constexpr")]
                if decl and decl[-1].text == "]":  # static const ap_uint<..> pixels[...]: scheduling only
                    m = e + 1
                    continue
                member = decl[-1].text
                s.types[member] = type_text(decl[:-1])
                if eq is not None:
                    s.members[member] = stmt[eq + 1:]
                    lines.append(f"static const {type_text(decl[:-1])} {member} = {type_text(stmt[eq + 1:])};")
            elif stmt:
                raise error(stmt[0], f"unsupported member '{type_text(stmt)}' in struct {name}")
            m = e + 1
        s.text = "\n".join(lines)
        self.structs[name] = s
        e = k + 1
        if e < end and toks[e].text == ";":
            e += 1
        return e

    def _declaration(self, toks, i, end):
        """Arrays (weights), static member definitions, functions and their prototypes."""
        j = i
        while j < end and toks[j].text not in ("(", "[", "=", ";", "{"):
            j += 1
        if j >= end or toks[j].text in (";", "{"):
            raise error(toks[i], f"unsupported declaration '{type_text(toks[i:min(j + 1, end)])}'")
        head = [t for t in toks[i:j] if t.text not in ("static", "const", "constexpr", "inline", "extern")]
        if toks[j].text == "(":
            k = self.close(toks, j, end)
            if len(head) < 2:
                raise error(toks[i], f"unsupported statement '{type_text(toks[i:k + 1])}'")
            if k + 1 < end and toks[k + 1].text == "{":
                b = self.close(toks, k + 1, end)
                self.functions[head[-1].text] = Function(head[-1].text, toks[j + 1:k], toks[k + 2:b], toks[i].where())
                return b + 1
            if k + 1 < end and toks[k + 1].text == ";":
                return k + 2
            raise error(toks[i], f"unsupported declaration '{type_text(toks[i:k + 1])}'")
        e = self.statement_end(toks, i, end)
        if len(head) >= 3 and head[-2].text == "::":  # Config::member definition
            owner = self.structs.get(head[-3].text)
            if owner is not None and toks[j].text == "=":
                owner.members[head[-1].text] = toks[j + 1:e]
                owner.types.setdefault(head[-1].text, type_text(head[:-3]))
            return e + 1
        if len(head) < 2:
            raise error(toks[i], f"unsupported statement '{type_text(toks[i:e])}'")
        name, size, init = head[-1].text, [], None
        k = j
        if toks[k].text == "[":
            c = self.close(toks, k, e)
            size = toks[k + 1:c]
            k = c + 1
            if toks[k].text == "[":
                raise error(toks[i], f"multidimensional array '{name}' is not supported")
        if toks[k].text == "=":
            init = toks[k + 1:e]
        elif k != e:
            raise error(toks[k], f"unsupported declaration of '{name}'")
        if not size:
            raise error(toks[i], f"unsupported global variable '{name}'")
        self.arrays[name] = Array(name, type_text(head[:-1]), size, init, toks[i].where())
        return e + 1
