"""crm.serializer_fields.PrototypeFieldsMixin: fields built once per class, copied per instance."""

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
