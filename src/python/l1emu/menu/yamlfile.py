"""Safe YAML for menus and scale tables: no tags that build objects, and numbers as people write them."""

import re

import yaml


class _Loader(yaml.SafeLoader):
    pass


# YAML 1.1 (PyYAML) reads 28.6e6 or 1e3 as strings; menus write rates that way, so accept them as floats.
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
                  |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
                  |\.[0-9_]+(?:[eE][-+][0-9]+)?
                  |[-+]?\.(?:inf|Inf|INF)
                  |\.(?:nan|NaN|NAN))$""", re.X),
    list("-+0123456789."))


def load(stream):
    """Parse YAML text or a file object (raises yaml.YAMLError)."""
    return yaml.load(stream, Loader=_Loader)
