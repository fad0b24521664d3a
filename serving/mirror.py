"""A msgspec Struct generated from a pydantic model's fields, so a compiled decoder can take the
well-formed bodies of a route without a second, hand-kept field list (`serving.fast_score`).

What msgspec can say the same way is compiled into the Struct: each field's name, order, default and
optionality; `str`, `int`, `float`, `bool` and `Literal` types (msgspec is strict: a lax input such as
`"true"` for a bool fails it); length and range constraints. Anything else is checked by pydantic
itself after decoding: a field with its own validators, a type msgspec cannot express (decoded as a
JSON string, so other JSON types are left to the route) or a constraint it does not know. A model that
cannot be mirrored at all (model validators, aliases, extra fields kept, string transforms) gets no
Struct, and every body goes to the route.
"""

from __future__ import annotations

import copy
import functools
import types
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import annotated_types as at
import msgspec
from pydantic import BaseModel
from pydantic_core import PydanticUndefined

_BOUNDS = {at.MinLen: "min_length", at.MaxLen: "max_length", at.Ge: "ge", at.Le: "le", at.Gt: "gt", at.Lt: "lt"}
_PLAIN = (str, int, float, bool)
_CONFIG_MUST_BE_OFF = ("str_strip_whitespace", "str_to_lower", "str_to_upper", "str_min_length", "str_max_length",
                       "populate_by_name", "validate_by_name", "coerce_numbers_to_str", "use_enum_values")


@dataclass(frozen=True)
class Mirror:
    """The Struct (None: the model cannot be mirrored), its field names in the model's order, and the
    fields whose value pydantic (or a given stand-in) must still check after msgspec decoded them."""

    struct: type[msgspec.Struct] | None
    fields: tuple[str, ...]
    checked: Mapping[str, Callable[[Any], Any]] = field(default_factory=dict)
    why_not: str | None = None


    def decoder(self) -> Callable[[bytes], dict[str, Any] | None]:
        """A JSON body -> the values `model.model_dump()` would give, or None: leave it to the route."""
        if self.struct is None:
            return lambda body: None
        decode, fields, checked = msgspec.json.Decoder(self.struct).decode, self.fields, tuple(self.checked.items())

        def decoded(body: bytes) -> dict[str, Any] | None:
            try:
                s = decode(body)
                values = {f: getattr(s, f) for f in fields}
                for f, check in checked:
                    values[f] = check(values[f])
            except (msgspec.DecodeError, ValueError):  # pydantic's ValidationError is a ValueError
                return None
            return values

        return decoded


def _split_optional(tp: Any) -> tuple[Any, bool]:
    """(the type without None, whether None is allowed)."""
    if get_origin(tp) in (Union, types.UnionType):
        args = get_args(tp)
        rest = tuple(a for a in args if a is not type(None))
        if len(rest) == 1 and len(rest) < len(args):
            return rest[0], True
    return tp, False


def _expressible(tp: Any) -> bool:
    if tp in _PLAIN:
        return True
    return get_origin(tp) is Literal and all(type(v) in (str, int) for v in get_args(tp))


def _model_problem(model: type[BaseModel], trusted: frozenset[str]) -> str | None:
    """Why the model cannot be mirrored (None: it can)."""
    conf, decorators = model.model_config, model.__pydantic_decorators__
    if decorators.model_validators or getattr(decorators, "root_validators", None):
        return "model validators"
    if decorators.computed_fields or model.__pydantic_computed_fields__:
        return "computed fields"
    if conf.get("extra") == "allow":
        return "extra fields kept"
    if on := [k for k in _CONFIG_MUST_BE_OFF if conf.get(k)]:
        return f"config {', '.join(on)}"
    if any(i.alias or i.validation_alias or i.exclude or i.default_factory_takes_validated_data
           for i in model.model_fields.values()):
        return "aliases, excluded fields or defaults computed from other fields"
    if any("*" in d.info.fields and n not in trusted for n, d in decorators.field_validators.items()):
        return "a validator of every field"
    return None


def pydantic_check(model: type[BaseModel], name: str) -> Callable[[Any], Any]:
    """The model's own validation of one field (type, constraints, validators): the value, or a
    ValueError (pydantic's ValidationError is one)."""
    validator, scratch = model.__pydantic_validator__, model.model_construct()

    def check(value: Any) -> Any:
        validator.validate_assignment(scratch, name, value)
        return getattr(scratch, name)

    return check


def mirror(model: type[BaseModel], *, trusted: frozenset[str] = frozenset(),
           stand_ins: Mapping[str, Callable[[Any], Any]] | None = None) -> Mirror:
    """The model's Struct. `trusted`: names of every-field validators msgspec's decoding already
    guarantees; `stand_ins`: per field, a faster check standing in for pydantic's after decoding (it
    gets what msgspec decoded, returns the field's value or raises ValueError; tests hold it equal)."""
    names = tuple(model.model_fields)
    if problem := _model_problem(model, trusted):
        return Mirror(None, names, why_not=problem)
    stand_ins = stand_ins or {}
    validated = {f for d in model.__pydantic_decorators__.field_validators.values() for f in d.info.fields} - {"*"}
    specs: list[tuple[str, Any, Any]] = []
    checked: dict[str, Callable[[Any], Any]] = {}
    for name, info in model.model_fields.items():
        base, optional = _split_optional(info.annotation)
        meta: dict[str, Any] = {}
        exact = _expressible(base)
        for m in info.metadata:
            key = _BOUNDS.get(type(m))
            if key is None or not exact or base in (bool,) or get_origin(base) is Literal:
                exact = False  # a constraint msgspec does not know: pydantic checks the field
            else:
                meta[key] = getattr(m, key)
        if not exact:
            base, meta = str, {}  # a JSON string, checked by pydantic; any other JSON type goes to the route
        if not exact or name in validated:
            checked[name] = stand_ins.get(name) or pydantic_check(model, name)
        tp: Any = Annotated[base, msgspec.Meta(**meta)] if meta else base
        if optional:
            tp = tp | None
        if info.default_factory is not None:
            default: Any = msgspec.field(default_factory=info.default_factory)  # type: ignore[arg-type]
        elif isinstance(info.default, list | dict | set):  # msgspec wants a factory for a mutable default
            default = msgspec.field(default_factory=functools.partial(copy.deepcopy, info.default))
        else:
            default = msgspec.NODEFAULT if info.default is PydanticUndefined else info.default
        specs.append((name, tp, default))
    struct = msgspec.defstruct(f"{model.__name__}Struct", specs, kw_only=True,
                               forbid_unknown_fields=model.model_config.get("extra") == "forbid")
    return Mirror(struct, names, checked)
