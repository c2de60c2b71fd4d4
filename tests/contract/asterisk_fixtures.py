"""Master.csv lines written the way Asterisk's cdr_csv.c writes them."""


def _q(value: str) -> str:
    return '"' + value.replace('"', '""') + '"'


def cdr_line(
    *,
    src: str = "4155552671",
    dst: str = "1001",
    clid: str = '"Jane Doe" <4155552671>',
    start: str = "2026-03-05 10:00:00",
    answer: str = "2026-03-05 10:00:04",
    end: str = "2026-03-05 10:03:08",
    duration: int = 188,
    billsec: int = 184,
    disposition: str = "ANSWERED",
    uniqueid: str = "1709632800.18",
    userfield: str = "",
    new_columns: tuple[str, str, int] | None = None,
    with_uniqueid: bool = True,
    with_userfield: bool = True,
) -> str:
    fields = [
        _q(""),  # accountcode
        _q(src),
        _q(dst),
        _q("from-pstn"),
        _q(clid),
        _q("PJSIP/trunk-00000012"),
        _q("PJSIP/1001-00000013"),
        _q("Dial"),
        _q("PJSIP/1001,30,tT"),
        _q(start),
        _q(answer) if answer else "",  # a zero time is an empty, unquoted field
        _q(end),
        str(duration),
        str(billsec),
        _q(disposition),
        _q("DOCUMENTATION"),
    ]
    if with_uniqueid:
        fields.append(_q(uniqueid))
    if with_userfield:
        fields.append(_q(userfield))
    if new_columns is not None:
        peeraccount, linkedid, sequence = new_columns
        fields += [_q(peeraccount), _q(linkedid), str(sequence)]
    return ",".join(fields)
