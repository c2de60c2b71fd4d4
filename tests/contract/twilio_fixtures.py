"""Status callbacks built from Twilio's documented parameter list."""

ACCOUNT_SID = "AC" + "a1" * 16
AUTH_TOKEN = "f" * 32
CALL_SID = "CA" + "b2" * 16


def callback(status: str, sequence: int, **overrides: str) -> dict[str, str]:
    params = {
        "AccountSid": ACCOUNT_SID,
        "ApiVersion": "2010-04-01",
        "CallSid": CALL_SID,
        "CallStatus": status,
        "Called": "+18005551212",
        "CalledCity": "",
        "CalledCountry": "US",
        "CalledState": "",
        "CalledZip": "",
        "Caller": "+14155552671",
        "CallerCity": "SAN FRANCISCO",
        "CallerCountry": "US",
        "CallerName": "Jane Doe",
        "CallerState": "CA",
        "CallerZip": "94105",
        "CallbackSource": "call-progress-events",
        "Direction": "inbound",
        "ForwardedFrom": "",
        "From": "+14155552671",
        "FromCity": "SAN FRANCISCO",
        "FromCountry": "US",
        "FromState": "CA",
        "FromZip": "94105",
        "ParentCallSid": "",
        "SequenceNumber": str(sequence),
        "Timestamp": f"Thu, 05 Mar 2026 10:00:{sequence:02d} +0000",
        "To": "+18005551212",
        "ToCity": "",
        "ToCountry": "US",
        "ToState": "",
        "ToZip": "",
    }
    if status == "completed":
        params["CallDuration"] = "65"
    params.update(overrides)
    return params
