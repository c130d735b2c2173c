"""The top function of a project: its ports and the statements of its body, interpreted as the C
simulation runs them: tensor declarations (arrays, hls::stream, auto& aliases), the weight-loading block
(load_weights_from_txt under !__SYNTHESIS__), and the nnet:: layer calls in order."""

import dataclasses

from .config import int_expression
from .source import Declarations, error, type_text


@dataclasses.dataclass
class Call:
    function: str
    template_args: list   # type texts
    args: list            # argument token lists
    name: str             # the layer name (hls4ml's trailing comment), else from the output
    where: str
    literal: str = None   # a numeric argument (leaky_relu's alpha)


@dataclasses.dataclass
class Port:
    name: str
    type: str
    size: int             # array length (io_parallel), None for a stream
    stream: bool


def split(toks, sep=","):
    """Top-level comma-separated parts of a token list (brackets and template angles nest)."""
    parts, cur, depth = [], [], 0
    for t in toks:
        if t.text in ("(", "[", "{", "<"):
            depth += 1
        elif t.text in (")", "]", "}", ">"):
            depth -= 1
        if t.text == sep and depth == 0:
            parts.append(cur)
            cur = []
        else:
            cur.append(t)
    if cur:
        parts.append(cur)
    return parts


def _port(toks, where):
    """input_t features[16] / hls::stream<input_t> &image."""
    toks = [t for t in toks if t.text not in ("const",)]
    if toks and toks[0].text == "hls" and len(toks) > 4 and toks[2].text == "stream":
        close = max(i for i, t in enumerate(toks) if t.text == ">")
        return Port(toks[-1].text, type_text(toks[4:close]), None, True)
    if len(toks) >= 5 and toks[-1].text == "]" and "[" in [t.text for t in toks]:
        b = max(i for i, t in enumerate(toks) if t.text == "[")
        return Port(toks[b - 1].text, type_text(toks[:b - 1]), _int(toks[b + 1:-1]), False)
    raise error(toks[0] if toks else where, f"unsupported top-function parameter '{type_text(toks)}'")


def _int(toks):
    value = int_expression(type_text(toks).replace("u", "").replace("U", ""))
    if value is None:
        raise error(toks[0], f"array size '{type_text(toks)}' is not an integer constant expression") from None
    return value


class Body:
    """Ports, local tensors (name -> Port), aliases, weight files loaded, and the layer calls."""

    def __init__(self, function, unit):
        self.function = function
        self.ports = [_port(p, function.where) for p in split(function.params)]
        self.locals, self.aliases, self.weight_files, self.calls = {}, {}, {}, []
        self._notes = unit.notes
        self._statements(function.body, 0, len(function.body))

    def _statements(self, toks, i, end):
        while i < end:
            t = toks[i]
            if t.text == ";":
                i += 1
                continue
            if t.text == "{":
                k = Declarations.close(toks, i, end)
                self._statements(toks, i + 1, k)
                i = k + 1
                continue
            if t.text == "if":  # the weight-loading guard: if (!loaded_weights) { ... }
                k = Declarations.close(toks, i + 1, end)
                cond = type_text(toks[i + 2:k])
                if not cond.startswith("!") or toks[k + 1].text != "{":
                    raise error(t, f"unsupported statement 'if ({cond})' in the top function")
                b = Declarations.close(toks, k + 1, end)
                self._statements(toks, k + 2, b)
                i = b + 1
                continue
            e = Declarations.statement_end(toks, i, end)
            self._statement(toks[i:e])
            i = e + 1

    def _statement(self, s):
        first = s[0]
        text = type_text(s)
        if first.text == "nnet" and len(s) > 2 and s[1].text == "::":
            return self._call(s)
        if first.text == "static" and s[1].text == "bool":  # static bool loaded_weights = false;
            return None
        if len(s) == 3 and s[1].text == "=" and s[2].text in ("true", "false"):
            return None
        if first.text == "auto" and s[1].text == "&" and len(s) == 5 and s[3].text == "=":
            self.aliases[s[2].text] = s[4].text
            return None
        if first.text == "hls" and len(s) > 4 and s[2].text == "stream":
            close = max(i for i, t in enumerate(s) if t.text == ">")
            self.locals[s[close + 1].text] = Port(s[close + 1].text, type_text(s[4:close]), None, True)
            return None
        if len(s) >= 5 and s[-1].text == "]":
            port = _port(s, first.where())
            self.locals[port.name] = port
            return None
        raise error(first, f"unsupported statement '{text}' in the top function")

    def _call(self, s):
        fn = s[2].text
        j = 3
        targs = []
        if s[j].text == "<":
            depth, k = 0, j
            while True:
                depth += {"<": 1, ">": -1}.get(s[k].text, 0)
                if depth == 0:
                    break
                k += 1
            targs = [type_text(p) for p in split(s[j + 1:k])]
            j = k + 1
        if j >= len(s) or s[j].text != "(" or s[-1].text != ")":
            raise error(s[0], f"unsupported statement '{type_text(s)}' in the top function")
        args = split(s[j + 1:-1])
        if fn == "load_weights_from_txt":
            if len(args) != 2 or args[1][0].kind != "str":
                raise error(s[0], "load_weights_from_txt with unexpected arguments")
            self.weight_files[args[0][0].text] = (args[1][0].text[1:-1], s[0].where())
            return
        if fn == "save_layer_output":  # trace hooks: no arithmetic
            return
        note = self._notes.get((s[0].file, s[0].line))
        name = note.split()[0] if note else None
        self.calls.append(Call(fn, targs, args, name, s[0].where()))

    def resolve(self, name):
        seen = set()
        while name in self.aliases and name not in seen:
            seen.add(name)
            name = self.aliases[name]
        return name
