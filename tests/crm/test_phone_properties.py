"""Any number phonenumbers accepts is stored as one E.164 whatever its
formatting, and searching by any of its formats finds the customer."""

import phonenumbers
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from crm.phone import normalise_phone
from crm.selectors import customer_list
from crm.services import contact_point_add, customer_create

REGIONS = sorted(phonenumbers.SUPPORTED_REGIONS)
FORMATS = [
    phonenumbers.PhoneNumberFormat.E164,
    phonenumbers.PhoneNumberFormat.INTERNATIONAL,
    phonenumbers.PhoneNumberFormat.RFC3966,
]


@st.composite
def valid_numbers(draw):
    """A valid number of a random region: an example number with other digits."""
    region = draw(st.sampled_from(REGIONS))
    kind = draw(
        st.sampled_from(
            [phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE]
        )
    )
    example = phonenumbers.example_number_for_type(region, kind)
    assume(example is not None)
    # The national significant number keeps leading zeros (Italy, Gabon...).
    national = phonenumbers.national_significant_number(example)
    tail = draw(st.integers(min_value=0, max_value=9999))
    digits = national[:-4] + f"{tail:04d}"[-min(4, len(national)) :]
    number = phonenumbers.parse(f"+{example.country_code}{digits}")
    assume(phonenumbers.is_valid_number(number))
    return region, number


def written_forms(region: str, number) -> list[tuple[str, str]]:
    """(text, region to read it in) as people write it."""
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    international = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    forms = [(phonenumbers.format_number(number, fmt), region) for fmt in FORMATS]
    forms.append(
        (phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL), region)
    )
    forms.append(("00" + e164[1:], "GB"))  # 00 is the international prefix in GB
    forms.append((international.replace(" ", "-"), "US"))
    forms.append((f"  {international.replace(' ', '  ')} ", "US"))
    forms.append((e164.translate(str.maketrans("+0123456789", "＋０１２３４５６７８９")), "US"))
    return forms


@settings(max_examples=60, deadline=None)
@given(valid_numbers())
def test_any_valid_number_round_trips_to_one_e164(drawn):
    region, number = drawn
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)

    for text, read_in in written_forms(region, number):
        assert normalise_phone(text, region=read_in).e164 == e164, text


@pytest.mark.django_db
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(drawn=valid_numbers(), stored_form=st.integers(min_value=0, max_value=7))
def test_search_by_any_format_finds_the_customer(drawn, stored_form):
    region, number = drawn
    forms = written_forms(region, number)
    text, read_in = forms[stored_form]
    customer = customer_create(full_name="Property Test")
    contact_point_add(customer=customer, kind="phone", value=text, region=read_in)

    # Searching reads numbers in the default region (US): every international
    # form, and the national form of US numbers, must find the customer.
    queries = [form for form, _ in forms if not form.startswith("tel:")]
    if region != "US" and phonenumbers.region_code_for_number(number) != "US":
        national = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
        queries.remove(national)
    for query in queries:
        assert customer in customer_list(query=query), query
