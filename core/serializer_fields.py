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


class RejectUnknownFieldsMixin:
    """Put first in a write serializer's bases: unknown input fields are a 400 naming them.

    Known read-only fields (an `id` sent back as read) are ignored as DRF does.
    The unknown names are reported together with the other fields' errors, nested
    serializers and list items included (`contact_points[1].phones`).
    """

    def to_internal_value(self, data):
        errors = unknown_field_errors(data, set(self.fields))
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
