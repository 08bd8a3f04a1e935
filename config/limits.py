"""The largest values the database columns hold (PostgreSQL's integer types).

Every integer an API serializer accepts is bounded by the column it ends up in
(or the id it is looked up by), so a too-large number is a 400 naming the
field, never an overflow in the database. Admin forms get the same bounds from
Django itself (model fields carry the backend's range as validators).
"""

from datetime import date, datetime

from django.utils.translation import gettext as _
from rest_framework.exceptions import ValidationError

SMALLINT_MAX = 32767  # PositiveSmallIntegerField
INT_MAX = 2**31 - 1  # PositiveIntegerField
BIGINT_MAX = 2**63 - 1  # PositiveBigIntegerField, BigAutoField ids

# The calendar the service works in. Dates computed from an input (the period
# before a filtered range, the day an extension or a pause ends, years ahead)
# must still be dates Python and the database can hold, so inputs stay inside.
EARLIEST_DATE = date(1970, 1, 1)
LATEST_DATE = date(2999, 12, 31)


def datetime_in_range(value: date | datetime | None) -> None:
    """Serializer validator: a date or date-time within EARLIEST_DATE..LATEST_DATE."""
    day = value.date() if isinstance(value, datetime) else value
    if day is not None and not EARLIEST_DATE <= day <= LATEST_DATE:
        raise ValidationError(
            _("Must be between %(earliest)s and %(latest)s.")
            % {"earliest": EARLIEST_DATE, "latest": LATEST_DATE}
        )
