"""Serializer fields built once per class instead of once per request.

DRF builds every serializer's fields anew for each instance: a ModelSerializer
introspects its model and a plain Serializer deep-copies its declared fields
(each field re-running its `__init__`). For the 35-field interaction response
that was 0.6 ms of a 0.7 ms serialisation (benchmarks/sync.py measures the
single create). Serializers that opt in build their unbound fields once and
give each instance shallow copies, which `bind()` then fills in as usual.

Only for serializers whose fields do not depend on the instance, the data or
the context. Nested serializers and fields holding a child field are still
deep-copied, since binding changes state of theirs.

It leans on DRF internals (how `fields` are built and bound) that DRF's
maintainers declined to make a supported hook (encode/django-rest-framework
#4587, #7093), so it is used only where a benchmark needs it: the interaction
serializers of the single create (`benchmarks/sync.py`, goal >= 40% of a bare
DRF view) and of the timeline (`benchmarks/timeline.py`). Building their fields
costs 1.7 ms (write, 23 fields) and 4.4 ms (read, 35 fields) more per request
without it on this loaded 2-core machine (0.45 ms with it). Other serializers,
whose endpoints no benchmark goal depends on (customers, follow-ups, the
screen-pop's 0.1-0.3 ms), are plain DRF. tests/crm/test_serializer_fields.py
serializes and validates from several threads at once.
"""

import copy
from collections.abc import Mapping

from rest_framework import serializers


def unknown_field_errors(data: object, known: "set[str] | frozenset[str]") -> dict[str, list[str]]:
    """{name: [message]} for each key of `data` that is not a known field, sorted by name.

    The API refuses what it does not understand instead of dropping it (Stripe's
    "Received unknown parameter"): `phones` sent for `contact_points` would
    otherwise create a customer without a phone and answer 201.
    """
    if not isinstance(data, Mapping):
        return {}
    unknown = sorted(str(name) for name in data if name not in known)
    if not unknown:
        return {}
    accepted = ", ".join(sorted(known))
    return {name: [f"Unknown field. Accepted fields: {accepted}."] for name in unknown}


_JSON_TYPE_NAMES = {
    bool: "a boolean",
    int: "an integer",
    float: "a number",
    str: "a string",
    list: "a list",
    dict: "an object",
}
_STRING_FIELDS = (
    serializers.CharField,  # and EmailField, URLField, SlugField, RegexField...
    serializers.DateTimeField,
    serializers.DateField,
    serializers.TimeField,
    serializers.DurationField,
    serializers.UUIDField,
    serializers.SlugRelatedField,
)


def _json_type_name(value: object) -> str:
    return next((name for kind, name in _JSON_TYPE_NAMES.items() if type(value) is kind), "null")


def _json_base(kind: type) -> type:
    """str for a TextChoices value, int for an IntegerChoices one (bool before int)."""
    return next((base for base in _JSON_TYPE_NAMES if issubclass(kind, base)), kind)


def _accepted_types(field: serializers.Field) -> tuple[type, ...] | None:
    """The JSON types a field reads; None for any (JSON, dict, nested serializers)."""
    if isinstance(field, serializers.BooleanField):
        return (bool,)
    if isinstance(field, serializers.IntegerField | serializers.PrimaryKeyRelatedField):
        return (int,)
    if isinstance(field, serializers.FloatField):
        return (int, float)
    if isinstance(field, serializers.DecimalField):
        return (int, float, str)  # DRF renders decimals as strings: they come back so
    if isinstance(field, serializers.MultipleChoiceField):
        return (list,)
    if isinstance(field, serializers.ChoiceField):
        kinds = {_json_base(type(choice)) for choice in field.choices}
        return tuple(kind for kind in _JSON_TYPE_NAMES if kind in kinds) or None
    if isinstance(field, _STRING_FIELDS):
        return (str,)
    if isinstance(field, serializers.ListField | serializers.ManyRelatedField):
        return (list,)
    return None


def _type_error(field: serializers.Field, value: object) -> str | None:
    if value is None:
        return None  # allow_null decides, with DRF's own message
    if value == "" and isinstance(field, serializers.RelatedField):
        return "Expected a value; null for none."  # DRF would read "" as null
    accepted = _accepted_types(field)
    if accepted is None:
        return None
    if type(value) not in accepted or (isinstance(value, bool) and bool not in accepted):
        expected = " or ".join(_JSON_TYPE_NAMES[kind] for kind in accepted)
        return f"Expected {expected}, got {_json_type_name(value)}."
    child = getattr(field, "child", None) or getattr(field, "child_relation", None)
    if isinstance(value, list) and isinstance(child, serializers.Field):
        for item in value:
            if message := _type_error(child, item):
                return message
    return None


def wrong_type_errors(
    data: object, fields: Mapping[str, serializers.Field]
) -> dict[str, list[str]]:
    """{name: [message]} for each value of a JSON object whose type its field does not read.

    DRF reads loosely: `0` for a string ("0"), `"yes"` or `0` for a boolean,
    `"5"` for an integer. A JSON client sending those has a bug the API should
    name, not guess around (the schema says the type). Form-encoded bodies
    (a QueryDict, everything a string) are not JSON and are left to the fields.
    """
    if not isinstance(data, dict):
        return {}
    errors = {}
    for name, value in data.items():
        field = fields.get(name)
        if field is None or field.read_only:
            continue
        if message := _type_error(field, value):
            errors[name] = [message]
    return errors


class RejectUnknownFieldsMixin:
    """Put first in a write serializer's bases: unknown input fields, and values of a
    JSON type their field does not read, are a 400 naming them.

    Known read-only fields (an `id` sent back as read) are ignored as DRF does.
    The names are reported together with the other fields' errors, nested
    serializers and list items included (`contact_points[1].phones`).
    """

    def to_internal_value(self, data):
        errors = {
            **unknown_field_errors(data, set(self.fields)),
            **wrong_type_errors(data, self.fields),
        }
        if not errors:
            return super().to_internal_value(data)
        try:
            super().to_internal_value(data)
        except serializers.ValidationError as exc:
            if isinstance(exc.detail, Mapping):
                errors = {**exc.detail, **errors}
        raise serializers.ValidationError(errors)


class PrototypeFieldsMixin:
    """Put before `serializers.Serializer` / `ModelSerializer` in the bases."""

    def get_fields(self) -> dict[str, serializers.Field]:
        cls = type(self)
        prototype = cls.__dict__.get("_prototype_fields")
        if prototype is None:
            prototype = super().get_fields()
            cls._prototype_fields = prototype
        return {name: _field_copy(field) for name, field in prototype.items()}


def _field_copy(field: serializers.Field) -> serializers.Field:
    # A nested serializer, and a field holding a child field (ListField, DictField,
    # many=True relations) rebinds that child to itself: each instance needs its own,
    # or two requests served by two threads would share one child's parent.
    if isinstance(field, serializers.BaseSerializer) or _holds_child(field):
        return copy.deepcopy(field)
    # copy.copy() without its reduce protocol: the same shallow copy, a third of the cost.
    clone = object.__new__(type(field))
    clone.__dict__.update(field.__dict__)
    if "_validators" in clone.__dict__:  # the one list code appends to after binding
        clone._validators = list(clone._validators)
    return clone


def _holds_child(field: serializers.Field) -> bool:
    return isinstance(field.__dict__.get("child"), serializers.Field) or isinstance(
        field.__dict__.get("child_relation"), serializers.Field
    )
