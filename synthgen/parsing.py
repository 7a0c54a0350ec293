"""Parsing untrusted YAML and JSON documents (schema files, JSONL lines) into plain data.

One set of rules for every document a user hands synthgen:

* a size limit, checked before the text is read (``read_document``);
* YAML read as YAML 1.2 reads booleans (only true/false), with no tags beyond the safe ones;
* a key given twice in one mapping is refused (YAML and JSON alike), naming the key and line,
  instead of silently keeping the last value;
* nesting deeper than :data:`MAX_DEPTH` is refused with a clear message instead of a
  ``RecursionError`` traceback;
* NaN and Infinity literals in JSON are refused.

Each function raises ``error`` (a :class:`SynthgenError` subclass) with a message that starts
with ``source``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

from synthgen.errors import SynthgenError

#: Deepest nesting of lists/mappings accepted in a document (a schema needs about 5).
MAX_DEPTH = 64


class _YamlLoader(yaml.CSafeLoader if yaml.__with_libyaml__ else yaml.SafeLoader):  # type: ignore[misc]
    """Safe YAML loading: booleans as YAML 1.2 reads them (only true/false: YAML 1.1 also turns
    yes/no/on/off into booleans, so a category set [yes, no] or a country code NO would
    silently stop matching the data), and duplicate keys refused."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            try:
                duplicate = key in seen
            except TypeError:  # an unhashable key: the base class refuses it
                continue
            if duplicate:
                raise yaml.constructor.ConstructorError(
                    "while constructing a mapping",
                    node.start_mark,
                    f"found the key {key!r} twice",
                    key_node.start_mark,
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


_YamlLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_YamlLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


class _Yaml11Loader(_YamlLoader):
    """The same, with YAML 1.1 booleans (yes/no/on/off), as files written for PyYAML's
    safe_load expect (pipeline specs)."""


_Yaml11Loader.yaml_implicit_resolvers = {
    first: list(resolvers) for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


class _Deep(Exception):
    pass


def nesting_depth(value: Any, limit: int = MAX_DEPTH) -> int:
    """How deeply ``value`` (parsed JSON or YAML) nests lists and dicts, counted without
    recursion and stopping once past ``limit``, so a hostile document costs at most ``limit``
    levels (YAML aliases are walked once)."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    seen: set[int] = set()
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children = list(item.values())
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, depth)
        if deepest > limit:
            return deepest
        if id(item) in seen:  # a YAML alias: already walked
            continue
        seen.add(id(item))
        stack.extend((child, depth + 1) for child in children)
    return deepest


def check_depth(data: Any, limit: int = MAX_DEPTH) -> None:
    """Raise ``_Deep`` when ``data`` nests lists/dicts deeper than ``limit``."""
    if nesting_depth(data, limit) > limit:
        raise _Deep


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"the key {key!r} is given twice")
        out[key] = value
    return out


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def parse_json(text: str, source: str, error: type[SynthgenError], what: str = "JSON") -> Any:
    """Parse JSON text (duplicate keys, NaN/Infinity and deep nesting refused)."""
    try:
        data = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
        check_depth(data)
    except json.JSONDecodeError as err:
        raise error(
            f"{source} is not valid {what} at line {err.lineno}, column {err.colno}."
        ) from None
    except (RecursionError, _Deep):
        raise error(_deep_message(source)) from None
    except ValueError as err:  # from the hooks above
        raise error(f"{source} is not valid {what}: {err}.") from None
    return data


_OPEN = (
    yaml.FlowSequenceStartToken,
    yaml.FlowMappingStartToken,
    yaml.BlockSequenceStartToken,
    yaml.BlockMappingStartToken,
)
_CLOSE = (yaml.FlowSequenceEndToken, yaml.FlowMappingEndToken, yaml.BlockEndToken)


def _check_yaml_depth(text: str, loader: type, limit: int = MAX_DEPTH) -> None:
    """Refuse nesting deeper than ``limit`` from the token stream, before composing: the
    scanner is iterative, while composing recurses (in C with libyaml, where a deep enough
    document overflows the stack before Python's recursion limit is reached)."""
    depth = 0
    for token in yaml.scan(text, Loader=loader):
        if isinstance(token, _OPEN):
            depth += 1
            if depth > limit:
                raise _Deep
        elif isinstance(token, _CLOSE):
            depth -= 1


def parse_yaml(
    text: str, source: str, error: type[SynthgenError], *, yaml11_booleans: bool = False
) -> Any:
    """Parse YAML text safely (duplicate keys and deep nesting refused); booleans are only
    true/false unless ``yaml11_booleans``."""
    loader = _Yaml11Loader if yaml11_booleans else _YamlLoader
    try:
        _check_yaml_depth(text, loader)
        data = yaml.load(text, Loader=loader)  # noqa: S506 - a safe loader
        check_depth(data)
    except yaml.YAMLError as err:
        where = ""
        mark = getattr(err, "problem_mark", None)
        if mark is not None:
            where = f" at line {mark.line + 1}, column {mark.column + 1}"
        problem = getattr(err, "problem", None)
        if problem and "depth" in problem:  # libyaml's own nesting limit
            raise error(_deep_message(source)) from None
        detail = f": {problem}" if problem else ""
        raise error(f"{source} is not valid YAML{where}{detail}.") from None
    except (RecursionError, _Deep):
        raise error(_deep_message(source)) from None
    return data


def _deep_message(source: str) -> str:
    return f"{source} nests lists or mappings more than {MAX_DEPTH} levels deep; refused."


def read_document(path: Path, source: str, error: type[SynthgenError], max_bytes: int) -> str:
    """The UTF-8 text of a small document file, refused when larger than ``max_bytes``."""
    try:
        size = path.stat().st_size
    except OSError as err:
        raise error(f"{source} cannot be read: {err.strerror}.") from None
    if size > max_bytes:
        raise error(
            f"{source} is {size / 2**20:.1f} MiB; synthgen reads schema-sized files up to "
            f"{max_bytes / 2**20:g} MiB. Is it the right file?"
        )
    try:
        with open(path, "rb") as fh:
            raw = fh.read(max_bytes + 1)
    except OSError as err:
        raise error(f"{source} cannot be read: {err.strerror}.") from None
    if len(raw) > max_bytes:  # grew while being read, or a special file
        raise error(f"{source} is larger than {max_bytes / 2**20:g} MiB; refused.")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise error(f"{source} is not UTF-8 text.") from None
