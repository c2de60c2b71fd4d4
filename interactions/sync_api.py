"""API for machines: batch sync, Twilio voice status callbacks, Asterisk CDR upload.

Thin views: parse, authorise, call a use case, render.
"""

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.utils import timezone
from django.utils.http import parse_header_parameters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import parsers, serializers, status
from rest_framework.exceptions import ParseError, ValidationError
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from core.authentication import api_client_of
from core.encryption import decrypt_text
from core.errors import ErrorSerializer, error_response
from core.schema import NON_BLANK, NON_EMPTY_FILE
from core.serializer_fields import RejectUnknownFieldsMixin, unknown_field_errors
from interactions.integrations import asterisk_cdr_ingest, twilio_callback_apply
from interactions.models import AsteriskSource, Interaction, TwilioAccount
from interactions.sources import twilio
from interactions.sources.common import SourceLineError
from interactions.sync import MAX_RECORDS, interaction_sync


def _optional_text(**kwargs) -> serializers.CharField:
    return serializers.CharField(
        required=False, allow_blank=True, allow_null=True, trim_whitespace=False, **kwargs
    )


class SyncRecordSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    """Schema of one record (validated per item by the sync engine, interactions.sync:
    a record it refuses, an unknown field included, is a result with status `error`).
    Optional fields may be null, read as absent; text is taken as sent (not trimmed)."""

    source = serializers.CharField(max_length=64, trim_whitespace=False)
    external_id = serializers.CharField(max_length=255, trim_whitespace=False)
    channel = serializers.ChoiceField(choices=Interaction.Channel.choices)
    direction = serializers.ChoiceField(choices=Interaction.Direction.choices)
    occurred_at = serializers.DateTimeField()
    duration_seconds = serializers.IntegerField(
        min_value=0, max_value=2**31 - 1, required=False, allow_null=True, default=0
    )
    from_number = _optional_text()
    to_number = _optional_text()
    summary = _optional_text()
    outcome = serializers.ChoiceField(
        choices=Interaction.Outcome.choices, required=False, allow_blank=True, allow_null=True
    )
    category = _optional_text(help_text="Category slug.")
    rep = _optional_text(help_text="Username or e-mail.")
    customer = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=1,
        max_value=2**63 - 1,
        help_text="Customer id; null or absent: matched by customer_phone / customer_email.",
    )
    customer_phone = _optional_text(help_text="Any format.")
    customer_email = _optional_text()
    customer_name = _optional_text(
        help_text="Name for a customer created for an unmatched caller.",
    )


class SyncRequestSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    records = SyncRecordSerializer(
        many=True, min_length=1, max_length=MAX_RECORDS, help_text=f"1 to {MAX_RECORDS} records."
    )


class SyncResultSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    status = serializers.ChoiceField(choices=["created", "updated", "unchanged", "error"])
    id = serializers.IntegerField(allow_null=True)
    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))


class SyncResponseSerializer(serializers.Serializer):
    results = SyncResultSerializer(many=True)


_SYNC_EXAMPLE = {
    "records": [
        {
            "source": "pbx-hq",
            "external_id": "1709632800.18",
            "channel": "phone",
            "direction": "inbound",
            "occurred_at": "2026-03-05T10:00:00Z",
            "duration_seconds": 184,
            "from_number": "+1 415 555 2671",
            "to_number": "1001",
            "summary": "Asked about the March invoice.",
            "rep": "maria",
            "customer_phone": "(415) 555-2671",
        },
        {"source": "pbx-hq", "external_id": "", "channel": "fax"},
    ]
}


class InteractionSyncView(APIView):
    required_scopes = {"POST": ["interactions:write"]}

    @extend_schema(
        operation_id="interactions_sync",
        summary="Batch upsert interactions by (source, external_id)",
        description=(
            "Up to 1,000 records. Each gets a result in request order: `created`, `updated`, "
            "`unchanged` or `error` with field errors; a bad record never blocks the others "
            "and a replay changes nothing. The customer is named by `customer` (id) or matched "
            "by `customer_phone` (any format) / `customer_email`; an unmatched caller stays "
            "unmatched or becomes a new customer, per API client setting."
        ),
        request=SyncRequestSerializer,
        responses={200: SyncResponseSerializer, 400: ErrorSerializer},
        examples=[
            OpenApiExample("Two records, one bad", value=_SYNC_EXAMPLE, request_only=True),
            OpenApiExample(
                "Per-record results",
                value={
                    "results": [
                        {"index": 0, "status": "created", "id": 4711, "errors": {}},
                        {
                            "index": 1,
                            "status": "error",
                            "id": None,
                            "errors": {
                                "external_id": ["This field is required."],
                                "channel": [
                                    "Expected one of phone, email, in_person, chat, sms, video."
                                ],
                            },
                        },
                    ]
                },
                response_only=True,
                status_codes=["200"],
            ),
        ],
    )
    def post(self, request):
        data = request.data
        records = data.get("records") if isinstance(data, dict) else None
        errors = unknown_field_errors(data, {"records"})
        if not isinstance(records, list) or not 1 <= len(records) <= MAX_RECORDS:
            errors = {"records": [f"Send a list of 1 to {MAX_RECORDS} records."], **errors}
        if errors:
            return error_response(
                code="invalid", detail="Invalid input in: " + ", ".join(errors) + ".", errors=errors
            )
        client = api_client_of(request)
        results = interaction_sync(
            records=records,
            creates_unmatched_customers=bool(client and client.creates_unmatched_customers),
        )
        return Response({"results": [result.as_dict() for result in results]})


class TwilioVoiceCallbackView(APIView):
    """Twilio signs the request; no Bearer secret or session is involved."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes: list = []
    parser_classes = [parsers.FormParser]

    @extend_schema(
        operation_id="integrations_twilio_voice",
        summary="Twilio Programmable Voice status callback",
        description=(
            "Form-encoded status callback (`CallSid`, `AccountSid`, `From`, `To`, `CallStatus`, "
            "`Direction`, `CallDuration`, `SequenceNumber`, `Timestamp`, ...; unknown fields "
            "accepted). `X-Twilio-Signature` is checked with the auth token of the account named "
            "by `AccountSid` (`manage.py add_twilio_account`): 403 when it does not match or the "
            "account is unknown. All callbacks of one call update one interaction; an earlier "
            "status never overwrites a later one."
        ),
        request={"application/x-www-form-urlencoded": OpenApiTypes.OBJECT},
        parameters=[
            OpenApiParameter("X-Twilio-Signature", str, OpenApiParameter.HEADER, required=True)
        ],
        responses={204: None, 400: ErrorSerializer, 403: ErrorSerializer},
        examples=[
            OpenApiExample(
                "Completed call",
                value={
                    "CallSid": "CA" + "0" * 32,
                    "AccountSid": "AC" + "0" * 32,
                    "From": "+14155552671",
                    "To": "+18005551212",
                    "CallStatus": "completed",
                    "Direction": "inbound",
                    "CallDuration": "65",
                    "SequenceNumber": "3",
                    "Timestamp": "Tue, 05 Mar 2026 10:01:05 +0000",
                    "CallbackSource": "call-progress-events",
                },
                request_only=True,
            )
        ],
    )
    def post(self, request):
        forbidden = error_response(
            code="permission_denied",
            detail="Unknown Twilio account or bad signature.",
            status_code=status.HTTP_403_FORBIDDEN,
        )
        params = request.POST
        account = TwilioAccount.objects.filter(
            account_sid=params.get("AccountSid", ""), is_active=True
        ).first()
        if account is None:
            return forbidden
        url = getattr(settings, "TWILIO_WEBHOOK_BASE_URL", "") or ""
        url = url.rstrip("/") + request.get_full_path() if url else request.build_absolute_uri()
        try:
            token = decrypt_text(account.auth_token_encrypted)
        except ValueError:
            return forbidden
        pairs = [(name, value) for name, values in params.lists() for value in values]
        if not twilio.signature_is_valid(
            url=url,
            params=pairs,
            auth_token=token,
            signature=request.headers.get("X-Twilio-Signature", ""),
        ):
            return forbidden
        # Signed as sent; stored without NULs (PostgreSQL text and jsonb cannot hold them).
        flat = {
            name.replace("\x00", ""): params.get(name, "").replace("\x00", "") for name in params
        }
        try:
            twilio_callback_apply(account=account, params=flat, received_at=timezone.now())
        except SourceLineError as exc:
            return error_response(
                code="invalid", detail="Invalid Twilio callback.", errors=exc.errors
            )
        except DjangoPermissionDenied:
            return forbidden
        return Response(status=status.HTTP_204_NO_CONTENT)


MAX_CDR_BYTES = 5 * 1024 * 1024  # ~25,000 Master.csv lines; larger uploads are split by the client


class CsvTextParser(parsers.BaseParser):
    """A raw body of CSV lines, as text (the charset parameter, else UTF-8)."""

    media_type = "text/csv"

    def parse(self, stream, media_type=None, parser_context=None):
        _, params = parse_header_parameters(media_type or "")
        charset = params.get("charset") or "utf-8"
        raw = stream.read(MAX_CDR_BYTES + 1) if stream is not None else b""
        return _cdr_text(raw, charset)


class PlainTextCdrParser(CsvTextParser):
    media_type = "text/plain"


class OctetStreamCdrParser(CsvTextParser):
    media_type = "application/octet-stream"


class RawFormCdrParser(CsvTextParser):
    """`curl --data-binary @Master.csv` without -H sends the file as a form body."""

    media_type = "application/x-www-form-urlencoded"


def _cdr_text(raw: bytes, charset: str) -> str:
    if len(raw) > MAX_CDR_BYTES:
        raise ParseError(f"At most {MAX_CDR_BYTES} bytes per upload; send the lines in parts.")
    try:
        return raw.decode(charset, errors="replace")
    except LookupError as exc:  # an unknown charset parameter
        raise ParseError(f"Unknown charset {charset!r}.") from exc


def _uploaded_cdr_text(request) -> str | None:
    """The CSV of a multipart upload (`curl -F file=@Master.csv`), or None."""
    files = list(request.FILES.values())
    if not files:
        return None
    if len(files) > 1:
        raise ValidationError({"file": ["Upload one Master.csv file per request."]})
    upload = files[0]
    return _cdr_text(upload.read(MAX_CDR_BYTES + 1), upload.charset or "utf-8")


class AsteriskCdrResultSerializer(serializers.Serializer):
    line = serializers.IntegerField()
    status = serializers.ChoiceField(choices=["created", "updated", "unchanged", "error"])
    id = serializers.IntegerField(allow_null=True)
    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))


class AsteriskCdrResponseSerializer(serializers.Serializer):
    results = AsteriskCdrResultSerializer(many=True)


_CDR_EXAMPLE = (
    '"","4155552671","1001","from-pstn","""Doe, Jane"" <4155552671>","PJSIP/trunk-00000012",'
    '"PJSIP/1001-00000013","Dial","PJSIP/1001,30","2026-03-05 10:00:00","2026-03-05 10:00:04",'
    '"2026-03-05 10:03:08",188,184,"ANSWERED","DOCUMENTATION","1709632800.18",""\n'
)


_SOURCE_HOW_TO = (
    "An admin configures each PBX once under Admin > Interactions > Asterisk sources "
    "(or `AsteriskSource` in a data migration): its name (the `source` here), the optional "
    "columns its cdr.conf writes (loguniqueid, loguserfield, newcdrcolumns) and its time "
    "zone (the PBX's local zone, or UTC when cdr.conf says usegmtime=yes)."
)


class AsteriskCdrView(APIView):
    required_scopes = {"POST": ["interactions:write"]}
    request_body_required = True
    parser_classes = [
        CsvTextParser,
        PlainTextCdrParser,
        OctetStreamCdrParser,
        RawFormCdrParser,
        parsers.MultiPartParser,
    ]

    @extend_schema(
        operation_id="integrations_asterisk_cdr",
        summary="Upload Asterisk Master.csv lines",
        description=(
            "Master.csv lines in cdr_csv column order (no header), as PBX admins send them: a "
            "file upload (`curl -F file=@Master.csv`, multipart), or the raw file as the body "
            "(`text/csv`, `text/plain`, `application/octet-stream`; `curl --data-binary "
            "@Master.csv` without a content type is read as the raw file too). `source` names "
            "a configured PBX; an unconfigured one is refused with 400 "
            "`source_not_configured`, since a guessed column layout or clock would shift "
            "times silently. " + _SOURCE_HOW_TO + " Each non-empty line gets a result with "
            "its line number; good lines are kept, `uniqueid` makes a re-upload change nothing."
        ),
        parameters=[
            OpenApiParameter(
                "source",
                {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,50}$"},
                OpenApiParameter.QUERY,
                required=False,
                default="asterisk",
            )
        ],
        request={
            "text/csv": NON_BLANK,
            "text/plain": NON_BLANK,
            "application/octet-stream": NON_EMPTY_FILE,
            "multipart/form-data": {
                "type": "object",
                "properties": {"file": NON_EMPTY_FILE},
                "required": ["file"],
            },
        },
        responses={200: AsteriskCdrResponseSerializer, 400: ErrorSerializer},
        examples=[OpenApiExample("One answered call", value=_CDR_EXAMPLE, request_only=True)],
    )
    def post(self, request):
        source = request.query_params.get("source", "asterisk")
        if not source or len(source) > 50 or not source.replace("-", "").replace("_", "").isalnum():
            return error_response(
                code="invalid",
                detail="Invalid input in: source.",
                errors={"source": ["Use letters, digits, '-' or '_' (at most 50)."]},
            )
        if not AsteriskSource.objects.filter(name=source).exists():
            return error_response(
                code="source_not_configured",
                detail=f"The Asterisk source {source!r} is not configured.",
                errors={"source": [f"No Asterisk source named {source!r}. " + _SOURCE_HOW_TO]},
            )
        uploaded = _uploaded_cdr_text(request)
        if uploaded is not None:
            text = uploaded
        else:
            text = request.data if isinstance(request.data, str) else ""
        if not text.strip():
            return error_response(
                code="invalid",
                detail="Invalid input in: body.",
                errors={"body": ["Send Master.csv lines: the raw file, or -F file=@Master.csv."]},
            )
        client = api_client_of(request)
        results = asterisk_cdr_ingest(
            text=text,
            source_name=source,
            creates_unmatched_customers=bool(client and client.creates_unmatched_customers),
        )
        return Response({"results": results})
