from django.db import DataError
from rest_framework.exceptions import NotFound

from crm.api_errors import exception_handler


def test_a_value_the_database_cannot_store_is_a_400_not_a_500():
    response = exception_handler(
        DataError("PostgreSQL text fields cannot contain NUL (0x00) bytes\nmore"), {}
    )

    assert response.status_code == 400
    assert response.data["code"] == "invalid"
    assert response.data["detail"].endswith("cannot contain NUL (0x00) bytes")


def test_other_api_errors_keep_their_code_and_status():
    response = exception_handler(NotFound("No such customer."), {})

    assert response.status_code == 404
    assert response.data == {"code": "not_found", "detail": "No such customer.", "errors": {}}
