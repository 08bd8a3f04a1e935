"""The largest values the database columns hold (PostgreSQL's integer types).

Every integer an API serializer accepts is bounded by the column it ends up in
(or the id it is looked up by), so a too-large number is a 400 naming the
field, never an overflow in the database. Admin forms get the same bounds from
Django itself (model fields carry the backend's range as validators).
"""

SMALLINT_MAX = 32767  # PositiveSmallIntegerField
INT_MAX = 2**31 - 1  # PositiveIntegerField
BIGINT_MAX = 2**63 - 1  # PositiveBigIntegerField, BigAutoField ids
