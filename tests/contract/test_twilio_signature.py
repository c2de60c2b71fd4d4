"""X-Twilio-Signature, checked against twilio-python's published test vectors."""

from interactions.sources.twilio import signature_compute, signature_is_valid

TOKEN = "12345"
URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
PARAMS = [
    ("CallSid", "CA1234567890ABCDE"),
    ("Digits", "1234"),
    ("From", "+14158675309"),
    ("To", "+18005551212"),
    ("Caller", "+14158675309"),
]


def test_published_vector_as_given():
    assert signature_compute(URL, PARAMS, TOKEN) == "RSOYDt4T1cUTdK1PDd93/VVr8B8="


def test_published_vector_with_port_443():
    url = "https://mycompany.com:443/myapp.php?foo=1&bar=2"

    assert signature_compute(url, PARAMS, TOKEN) == "kvajT1Ptam85bY51eRf/AJRuM3w="


def test_published_vector_with_repeated_keys():
    params = [("Sid", "CA123"), ("SidAccount", "AC123"), ("Digits", "5678"), ("Digits", "1234")]

    assert signature_compute(URL, params, TOKEN) == "IK+Dwps556ElfBT0I3Rgjkr1wJU="


def test_validator_accepts_url_with_or_without_default_port():
    signed_with_port = "kvajT1Ptam85bY51eRf/AJRuM3w="
    signed_without = "RSOYDt4T1cUTdK1PDd93/VVr8B8="

    assert signature_is_valid(url=URL, params=PARAMS, auth_token=TOKEN, signature=signed_with_port)
    assert signature_is_valid(
        url="https://mycompany.com:443/myapp.php?foo=1&bar=2",
        params=PARAMS,
        auth_token=TOKEN,
        signature=signed_without,
    )


def test_validator_rejects_wrong_signature_token_url_or_params():
    good = "RSOYDt4T1cUTdK1PDd93/VVr8B8="

    assert not signature_is_valid(
        url=URL, params=PARAMS, auth_token=TOKEN, signature="x" + good[1:]
    )
    assert not signature_is_valid(url=URL, params=PARAMS, auth_token="54321", signature=good)
    assert not signature_is_valid(
        url="https://mycompany.com/myapp.php?foo=1&bar=3",
        params=PARAMS,
        auth_token=TOKEN,
        signature=good,
    )
    assert not signature_is_valid(
        url=URL, params=[*PARAMS, ("Extra", "1")], auth_token=TOKEN, signature=good
    )
    assert not signature_is_valid(url=URL, params=PARAMS, auth_token=TOKEN, signature="")


def test_sort_is_case_sensitive_code_point_order():
    # "Z" < "a" in code-point order: a case-insensitive sort would give another string.
    params = [("a", "1"), ("Z", "2")]

    import base64
    import hashlib
    import hmac

    expected = base64.b64encode(
        hmac.new(b"t", b"https://x.test/Z2a1", hashlib.sha1).digest()
    ).decode()

    assert signature_compute("https://x.test/", params, "t") == expected
