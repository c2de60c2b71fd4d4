from rest_framework import serializers

from crm.models import ContactPoint, Customer


class ContactPointSerializer(serializers.ModelSerializer):
    class Meta:
        model = ContactPoint
        fields = ["id", "kind", "label", "value", "extension", "is_primary"]


class CustomerSerializer(serializers.ModelSerializer):
    contact_points = ContactPointSerializer(many=True, read_only=True)

    class Meta:
        model = Customer
        fields = [
            "id",
            "full_name",
            "preferred_name",
            "time_zone",
            "preferred_language",
            "preferred_channel",
            "owner",
            "contact_points",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["created_at", "updated_at"]
