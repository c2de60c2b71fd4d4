"""Name search on PostgreSQL: match query words against the distinct name words.

Customers' names are split into words (`crm_customer.search_name`, already
lower-case and accent-free) and the database keeps two tables in step with
every write, whatever path it takes (ORM, `.update()`, bulk SQL), by triggers
created in migration 0005:

- `crm_customernametoken` (CustomerNameToken): each distinct word of active
  customers' names. Tens of thousands of short rows even for millions of
  customers, with a trigram index, so partial ("gonz" -> "gonzalez") and
  typo-tolerant ("jonh" -> "john") matching of a word is cheap.
- `crm_customernameword` (CustomerNameWord): each word of each active
  customer's name, its position and the full name, in covering indexes by
  word and by customer: ranking never reads the customers' rows.

A search therefore runs in two steps: (1) per query word, the name words it
matches and a score for each (exact > prefix > substring > typo), from the
small table, with how many customers have each (counted from the second table
up to a cap); (2) the customers having, for every query word, one of its words,
ranked by the sum of the best scores, best first, from the second table. At
most `NAME_SEARCH_LIMIT` customers are returned: a rep narrows the query rather
than paging past that.

Writers never queue behind each other on a common word: see the migration's
crm_name_tokens_keep() and crm_name_tokens_forget().
"""

from dataclasses import dataclass, field

from django.db import connection
from django.db.models import QuerySet

# The best this many matches are the result of a name search (the list's total
# is therefore at most this): ranking work stays bounded however broad the
# query is, and nobody pages through more than a thousand namesakes.
NAME_SEARCH_LIMIT = 1000
# A query word matching names of more customers than this ("a", "son") keeps
# only its best-scoring words up to about this many customers: the rest could
# not reach the first NAME_SEARCH_LIMIT results of that word anyway.
WORD_CUSTOMER_LIMIT = 20_000
# Words shorter than this match name words by prefix only ("jo" -> "john",
# not "bjorn"): a trigram needs three letters.
SUBSTRING_MIN_LENGTH = 3
# Trigram similarity at which a name word counts as a typo of a query word
# (pg_trgm's default similarity_threshold, which its `%` operator uses).
TYPO_MIN_SIMILARITY = 0.3
# Query words beyond this are ignored: nobody's name has more, and each word
# adds a condition to the query.
MAX_QUERY_WORDS = 6
# ... and letters beyond this in a word (a name's word is shorter; edit distances
# of long strings are costly).
MAX_WORD_LENGTH = 40

# Score of a name word for a query word: the customer's rank is the sum over
# query words of their best-scoring name word.
# Equal scores order by name, as a list of people does.
EXACT = 3.0
PREFIX = 2.0
SUBSTRING = 1.0
# A typo scores its similarity (0..1), so below any literal match.


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def edit_distance(first: str, second: str) -> int:
    """Optimal string alignment distance: insertions, deletions, substitutions and
    transpositions of neighbours each count 1 ("jonh" -> "john" is one typo)."""
    previous_row: list[int] | None = None
    row = list(range(len(second) + 1))
    for i, char in enumerate(first, start=1):
        before, previous_row, row = previous_row, row, [i] + [0] * len(second)
        for j, other in enumerate(second, start=1):
            cost = 0 if char == other else 1
            row[j] = min(previous_row[j] + 1, row[j - 1] + 1, previous_row[j - 1] + cost)
            if (
                before is not None
                and i > 1
                and j > 1
                and char == second[j - 2]
                and first[i - 2] == other
            ):
                row[j] = min(row[j], before[j - 2] + 1)
    return row[-1]


def allowed_typos(word: str) -> int:
    """How many typos a query word may carry: none below four letters (too many
    short names are one letter apart), one up to seven, two beyond."""
    if len(word) < 4:
        return 0
    return 1 if len(word) < 8 else 2


def literal_score(word: str, token: str) -> float | None:
    if token == word:
        return EXACT
    if token.startswith(word):
        return PREFIX
    if len(word) >= SUBSTRING_MIN_LENGTH and word in token:
        return SUBSTRING
    return None


def typo_scores(
    word: str, candidates: list[tuple[str, int, float]]
) -> list[tuple[str, float, int]]:
    """(name word, score, customers) for the candidates (name word, customers,
    trigram similarity) that may be `word` mistyped: those within the allowed
    edit distance when there are any ("moreua" is "moreau", not also "morel"),
    else the trigram lookalikes."""
    candidates = [candidate for candidate in candidates if candidate[0] != word]
    close = []
    for token, customers, similarity in candidates:
        distance = edit_distance(word, token)
        if distance <= allowed_typos(word):
            # One typo in a five-letter word reads 0.8: above most mere lookalikes.
            score = max(similarity, 1 - distance / max(len(word), len(token)))
            close.append((token, score, customers))
    if close:
        return close
    return [
        (token, similarity, customers)
        for token, customers, similarity in candidates
        if similarity >= TYPO_MIN_SIMILARITY
    ]


@dataclass
class WordMatches:
    word: str
    # name word -> (score, number of customers with it)
    tokens: dict[str, tuple[float, int]] = field(default_factory=dict)

    def add(self, token: str, score: float | None, customers: int) -> None:
        if score is not None and score > self.tokens.get(token, (-1.0, 0))[0]:
            self.tokens[token] = (score, customers)

    def bounded(self) -> dict[str, float]:
        """The name words to look customers up by, with their scores: all of them,
        or, for a word too broad to rank all its customers ("a", "son"), the best
        ones (then the shortest: closest to what was typed) up to about
        WORD_CUSTOMER_LIMIT customers."""
        ranked = sorted(self.tokens.items(), key=lambda item: (-item[1][0], len(item[0]), item[0]))
        kept: dict[str, float] = {}
        customers = 0
        for token, (score, count) in ranked:
            if customers >= WORD_CUSTOMER_LIMIT:
                break
            kept[token] = score
            customers += count
        return kept


def query_words(needle: str) -> list[str]:
    words: list[str] = []
    for word in needle.split():
        word = word[:MAX_WORD_LENGTH]
        if word not in words:
            words.append(word)
    return words[:MAX_QUERY_WORDS]


def _fetch(sql: str, params: list) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


# Each query returns (query word index, name word, its customers[, similarity]).
# The customers of a name word are counted up to a cap (the first %s): enough
# to bound a broad word and to pick the rarest word, never a long count.
LITERAL_SQL = """(
SELECT %s, known.token, (SELECT count(*) FROM (SELECT 1 FROM crm_customernameword AS word
    WHERE word.token = known.token LIMIT %s) AS capped)
FROM (
    SELECT token FROM crm_customernametoken WHERE token LIKE %s
    ORDER BY token = %s DESC, token LIKE %s DESC, length(token), token LIMIT %s
) AS known
)"""
TYPO_SQL = """
SELECT %s, known.token, (SELECT count(*) FROM (SELECT 1 FROM crm_customernameword AS word
    WHERE word.token = known.token LIMIT %s) AS capped), similarity(known.token, %s)
FROM crm_customernametoken AS known WHERE known.token %% %s
"""
# Plain Levenshtein counts a swap as two edits: the bound passed is doubled and
# edit_distance() applies the real one. The CASE: levenshtein() refuses words
# over 255 characters, so it only ever sees those of about the query word's length.
TYPO_EDIT_SQL = """
SELECT %s, known.token, (SELECT count(*) FROM (SELECT 1 FROM crm_customernameword AS word
    WHERE word.token = known.token LIMIT %s) AS capped), similarity(known.token, %s)
FROM crm_customernametoken AS known
WHERE known.token LIKE %s AND CASE WHEN length(known.token) BETWEEN %s AND %s
    THEN levenshtein_less_equal(known.token, %s, %s) <= %s ELSE false END
"""
# A query word keeps at most this many of its name words ("a" matches thousands):
# the exact one, then those starting with it, then those containing it, shortest first.
MAX_TOKENS_PER_WORD = 2000


def literal_matches(words: list[str]) -> list[WordMatches]:
    """Per word, the name words equal to it, starting with it or (three letters
    and more) containing it, with their customers: one query over the small
    word table."""
    branches, params = [], []
    for index, word in enumerate(words):
        prefix = _escape_like(word) + "%"
        pattern = "%" + prefix if len(word) >= SUBSTRING_MIN_LENGTH else prefix
        branches.append(LITERAL_SQL)
        params += [index, WORD_CUSTOMER_LIMIT, pattern, word, prefix, MAX_TOKENS_PER_WORD]
    matches = [WordMatches(word) for word in words]
    for index, token, customers in _fetch(" UNION ALL ".join(branches), params):
        matches[index].add(token, literal_score(words[index], token), customers)
    return matches


def typo_matches(matches: list[WordMatches]) -> None:
    """Adds to each word the name words it may be a typo of: trigram lookalikes
    (index `%`), and words starting with the same letter within the allowed edit
    distance (a swap of two letters in a short word shares few trigrams)."""
    branches, params = [], []
    for index, match in enumerate(matches):
        word = match.word
        branches.append(TYPO_SQL)
        params += [index, WORD_CUSTOMER_LIMIT, word, word]
        typos = allowed_typos(word)
        if typos:
            branches.append(TYPO_EDIT_SQL)
            bound = 2 * typos
            params += [
                index,
                WORD_CUSTOMER_LIMIT,
                word,
                _escape_like(word[0]) + "%",
                len(word) - typos,
                len(word) + typos,
                word,
                bound,
                bound,
            ]
    candidates: dict[int, list[tuple[str, int, float]]] = {}
    for index, token, customers, similarity in _fetch(" UNION ALL ".join(branches), params):
        candidates.setdefault(index, []).append((token, customers, similarity))
    for index, match in enumerate(matches):
        for token, score, customers in typo_scores(match.word, candidates.get(index, [])):
            match.add(token, score, customers)


@dataclass(frozen=True)
class NameQuery:
    """Per query word, the name words (with scores) a customer needs one of."""

    needle: str
    words: list[dict[str, float]]
    # Per query word, how many customers have one of its name words (at most).
    customers: list[int] = field(default_factory=list)
    # Whether every word was also matched against typos (a wider query would find no more).
    is_widest: bool = True

    @property
    def is_empty(self) -> bool:
        return not self.words or any(not tokens for tokens in self.words)


def plan_name_query(needle: str, *, typos: bool) -> NameQuery:
    """Words typed right find what they say; a word that matches no name (or,
    with `typos`, every word) also looks for names it may be a typo of."""
    words = query_words(needle)
    if not words:
        return NameQuery(needle, [])
    matches = literal_matches(words)
    wanting = matches if typos else [match for match in matches if not match.tokens]
    if wanting:
        typo_matches(wanting)
    kept = [match.bounded() for match in matches]
    return NameQuery(
        needle,
        kept,
        customers=[
            sum(match.tokens[token][1] for token in tokens)
            for match, tokens in zip(matches, kept, strict=True)
        ],
        is_widest=len(wanting) == len(matches),
    )


# Ranking reads crm_customernameword's covering indexes only. A customer's rank
# is the sum over query words of the best score among its name words, each
# plus POSITION_BONUS when it stands where the query put it (so "anna" ranks
# "Anna Bell" over "Bell Anna", and a full name typed in order comes first);
# ties go by full name, then id.
POSITION_BONUS = 0.5

# Every query word's name words read by word (a covering index), for the
# customers that have one of the rarest word's: the intersection comes before
# the grouping and sorting, which then handle few rows ("Emily Bermulson":
# 70 Bermulsons, not 10,000 Emilys).
RANK_SQL = """
SELECT customer_id FROM (
    SELECT word.customer_id, match.word_index,
        max(match.score + CASE WHEN word.position = match.word_index + 1 THEN %s ELSE 0 END)
            AS score,
        min(word.full_name) AS full_name
    FROM crm_customernameword AS word
    JOIN unnest(%s::int[], %s::text[], %s::float8[]) AS match(word_index, token, score)
        ON match.token = word.token
    WHERE {rarest} AND {among}
    GROUP BY word.customer_id, match.word_index
) AS best
GROUP BY customer_id
HAVING count(*) = %s
ORDER BY sum(score) DESC, min(full_name), customer_id
LIMIT %s
"""

# One query word: one grouping, by customer.
ONE_WORD_RANK_SQL = """
SELECT word.customer_id
FROM crm_customernameword AS word
JOIN unnest(%s::text[], %s::float8[]) AS match(token, score) ON match.token = word.token
WHERE {among}
GROUP BY word.customer_id
ORDER BY max(match.score + CASE WHEN word.position = 1 THEN %s ELSE 0 END) DESC,
    min(word.full_name), word.customer_id
LIMIT %s
"""

RAREST_SQL = """word.customer_id IN (
    SELECT rarest.customer_id FROM crm_customernameword AS rarest
    WHERE rarest.token = ANY(%s::text[])
)"""


def ranked_customer_ids(
    name_query: NameQuery, *, among: QuerySet | None = None, limit: int | None = None
) -> list[int]:
    """The ids of the best `limit` (NAME_SEARCH_LIMIT) customers for the query,
    best first; only customers of `among` (a filtered customer queryset) when given."""
    among_sql, among_params = "true", ()
    if among is not None:
        # Django's own SQL for the filtered customers, with its parameters.
        subquery, among_params = among.order_by().values("pk").query.sql_with_params()
        among_sql = f"word.customer_id IN ({subquery})"
    indexes, tokens, scores = [], [], []
    for index, word_tokens in enumerate(name_query.words):
        for token, score in word_tokens.items():
            indexes.append(index)
            tokens.append(token)
            scores.append(score)
    limit = limit or NAME_SEARCH_LIMIT
    if len(name_query.words) == 1:
        sql = ONE_WORD_RANK_SQL.format(among=among_sql)
        params = [tokens, scores, *among_params, POSITION_BONUS, limit]
        return [customer_id for (customer_id,) in _fetch(sql, params)]
    rarest = min(range(len(name_query.words)), key=lambda index: name_query.customers[index])
    sql = RANK_SQL.format(rarest=RAREST_SQL, among=among_sql)
    params = [
        POSITION_BONUS,
        indexes,
        tokens,
        scores,
        list(name_query.words[rarest]),
        *among_params,
        len(name_query.words),
        limit,
    ]
    return [customer_id for (customer_id,) in _fetch(sql, params)]
