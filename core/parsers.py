"""The API's JSON parser: nesting is bounded.

Python's json module recurses per nesting level, so a body of 2,000 nested
arrays raised RecursionError, answered as an HTML 500. Here it is a 400 like
any other malformed body, and anything nested past JSON_MAX_DEPTH levels (no
Rapport request needs more than a handful) is refused before a serializer
walks it.
"""

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

JSON_MAX_DEPTH = 64


def json_depth_exceeds(data: object, limit: int) -> bool:
    """True when `data` nests lists or objects more than `limit` levels deep (iterative)."""
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            children = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


class DepthLimitedJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        message = f"JSON parse error - nested deeper than {JSON_MAX_DEPTH} levels."
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError as exc:
            raise ParseError(message) from exc
        if json_depth_exceeds(data, JSON_MAX_DEPTH):
            raise ParseError(message)
        return data
