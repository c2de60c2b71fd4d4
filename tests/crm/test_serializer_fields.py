"""core.serializer_fields.PrototypeFieldsMixin: fields built once per class, copied per instance."""

import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from rest_framework import serializers

from core.serializer_fields import PrototypeFieldsMixin


class Row:
    def __init__(self, name: str, size: int) -> None:
        self.name, self.size = name, size


class Inner(serializers.Serializer):
    size = serializers.IntegerField()


class Plain(serializers.Serializer):
    name = serializers.CharField(max_length=5)
    tags = serializers.ListField(child=serializers.CharField(max_length=3), required=False)
    size = serializers.IntegerField(min_value=0)
    label = serializers.SerializerMethodField()
    inner = Inner(source="*", read_only=True)

    def get_label(self, row: Row) -> str:
        return f"{row.name}:{row.size}"


class Prototyped(PrototypeFieldsMixin, Plain):
    pass


def test_output_and_errors_equal_the_plain_serializer():
    row = Row("ann", 3)
    assert (
        Prototyped(row).data
        == Plain(row).data
        == {
            "name": "ann",
            "size": 3,
            "label": "ann:3",
            "inner": {"size": 3},
        }
    )
    bad = {"name": "too long", "size": -1}
    plain, prototyped = Plain(data=bad), Prototyped(data=bad)
    assert not plain.is_valid()
    assert not prototyped.is_valid()
    assert prototyped.errors == plain.errors
    assert set(prototyped.errors) == {"name", "size"}


def test_each_instance_binds_its_own_copies():
    first, second = Prototyped(Row("a", 1)), Prototyped(Row("b", 2))

    assert first.fields["name"] is not second.fields["name"]
    assert first.fields["name"].parent is first
    assert second.fields["name"].parent is second
    assert first.fields["inner"] is not second.fields["inner"]
    assert first.fields["label"].parent is first
    # The class keeps one unbound prototype set, never handed out.
    prototype = Prototyped.__dict__["_prototype_fields"]
    assert all(field.parent is None for field in prototype.values())


def test_a_validator_added_to_one_instance_stays_there():
    first = Prototyped(data={"name": "a", "size": 1})
    first.fields["size"].validators.append(lambda value: None)

    second = Prototyped(data={"name": "a", "size": 1})
    assert len(second.fields["size"].validators) == len(first.fields["size"].validators) - 1


def test_changing_one_instance_fields_leaves_the_others_alone():
    first = Prototyped(Row("a", 1))
    first.fields.pop("size")
    first.fields["name"].read_only = True

    second = Prototyped(Row("b", 2))
    assert set(second.fields) == {"name", "size", "label", "inner", "tags"}
    assert second.fields["name"].read_only is False
    assert second.data["size"] == 2


def test_a_subclass_builds_its_own_prototype():
    class Wider(Prototyped):
        extra = serializers.CharField(default="x")

    Prototyped(Row("a", 1)).fields  # noqa: B018 - builds the parent's prototype first
    assert "extra" in Wider(Row("a", 1)).fields
    assert "extra" not in Prototyped(Row("a", 1)).fields


def test_a_child_field_belongs_to_its_own_instance():
    first, second = Prototyped(data={}), Prototyped(data={})

    first_child, second_child = first.fields["tags"].child, second.fields["tags"].child

    assert first_child is not second_child
    assert first_child.parent is first.fields["tags"]
    assert second_child.parent is second.fields["tags"]
    assert first_child.root is first
    bad = Prototyped(data={"name": "a", "size": 1, "tags": ["long one"]})
    assert not bad.is_valid()
    assert set(bad.errors) == {"tags"}


# --- threads: one prototype per class, many instances at once ---------------------------

THREADS = 8
ROUNDS = 150
INTERACTION_ROUNDS = 25  # each plain (expected) serializer builds 35 fields: slow


def _at_once(work) -> list:
    """Run work(thread_number) in THREADS threads started together, switching
    between them as often as the interpreter allows; returns their results."""
    barrier = threading.Barrier(THREADS)
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)

    def started(number: int):
        barrier.wait()
        return work(number)

    try:
        with ThreadPoolExecutor(THREADS) as pool:
            return list(pool.map(started, range(THREADS)))
    finally:
        sys.setswitchinterval(interval)


def test_threads_serialize_and_validate_with_the_same_classes_without_cross_talk():
    def work(thread: int) -> int:
        checked = 0
        for n in range(ROUNDS):
            size = thread * 1000 + n
            name = f"t{thread}"
            row = Row(name, size)
            assert Prototyped(row).data == {
                "name": name,
                "size": size,
                "label": f"{name}:{size}",
                "inner": {"size": size},
            }
            good = Prototyped(data={"name": name, "size": size, "tags": [f"{thread}", "ab"]})
            assert good.is_valid(), good.errors
            assert dict(good.validated_data) == {
                "name": name,
                "size": size,
                "tags": [f"{thread}", "ab"],
            }
            tags = good.fields["tags"]
            assert tags.parent is good
            assert tags.child.parent is tags
            assert tags.child.root is good
            bad = Prototyped(data={"name": name * 3, "size": -size - 1, "tags": [name * 2]})
            assert not bad.is_valid()
            assert set(bad.errors) == {"name", "size", "tags"}
            assert bad.errors["tags"] == {0: ["Ensure this field has no more than 3 characters."]}
            checked += 1
        return checked

    assert _at_once(work) == [ROUNDS] * THREADS


def test_threads_use_the_interaction_serializers_without_cross_talk():
    from interactions.models import Interaction
    from interactions.serializers import InteractionSerializer, InteractionWriteSerializer

    def plain(cls):  # the same serializer, its fields built by DRF for each instance
        return type(
            f"Plain{cls.__name__}",
            (cls,),
            {"get_fields": lambda self: super(PrototypeFieldsMixin, self).get_fields()},
        )

    def contact(thread: int, n: int) -> Interaction:
        return Interaction(
            customer_id=thread + 1,
            channel=["phone", "email", "sms"][n % 3],
            direction="inbound",
            occurred_at=datetime(2026, 3, 1 + thread, 9, n % 60, tzinfo=UTC),
            duration_seconds=thread * 1000 + n,
            summary=f"thread {thread} call {n}",
            email_references=[f"<{thread}.{n}@example.com>"],
        )

    def payload(thread: int, n: int) -> dict:
        # Refused before any database read: the customer's type is wrong.
        return {"customer": [thread], "channel": f"fax{thread}", f"extra_{thread}_{n}": 1}

    expected_data = {
        (t, n): plain(InteractionSerializer)(contact(t, n)).data
        for t in range(THREADS)
        for n in range(INTERACTION_ROUNDS)
    }

    def errors(serializer) -> dict:
        assert not serializer.is_valid()
        return serializer.errors

    expected_errors = {
        (t, n): errors(plain(InteractionWriteSerializer)(data=payload(t, n)))
        for t in range(THREADS)
        for n in range(INTERACTION_ROUNDS)
    }
    # The unknown field is named together with the other fields' errors.
    assert set(expected_errors[(2, 5)]) == {
        "extra_2_5",
        "customer",
        "channel",
        "direction",
        "occurred_at",
    }
    assert expected_errors[(2, 5)]["extra_2_5"][0].startswith("Unknown field.")

    def work(thread: int) -> int:
        for n in range(INTERACTION_ROUNDS):
            assert InteractionSerializer(contact(thread, n)).data == expected_data[(thread, n)]
            refused = errors(InteractionWriteSerializer(data=payload(thread, n)))
            assert refused == expected_errors[(thread, n)]
            partial = {"customer": [thread], "channel": f"fax{thread}"}
            write = errors(InteractionWriteSerializer(data=partial))
            assert write["channel"] == [f'"fax{thread}" is not a valid choice.']
            assert write["customer"] == ["Expected an integer, got a list."]
        return INTERACTION_ROUNDS

    assert _at_once(work) == [INTERACTION_ROUNDS] * THREADS
