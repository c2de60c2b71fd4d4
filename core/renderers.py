"""The API's JSON renderer: any string a client sent can be echoed back.

DRF writes JSON as UTF-8 text (`ensure_ascii=False`), and a lone surrogate
(JSON "\\ud800", valid JSON but not encodable as UTF-8) that a validation
message quotes made rendering fail with a 500. Such a response is written with
ASCII escapes instead, which any JSON parser reads back as the same string.
"""

from rest_framework.renderers import JSONRenderer


class _AsciiJSONRenderer(JSONRenderer):
    ensure_ascii = True


class ApiJSONRenderer(JSONRenderer):
    def render(self, data, accepted_media_type=None, renderer_context=None) -> bytes:
        try:
            return super().render(data, accepted_media_type, renderer_context)
        except UnicodeEncodeError:
            return _AsciiJSONRenderer().render(data, accepted_media_type, renderer_context)
