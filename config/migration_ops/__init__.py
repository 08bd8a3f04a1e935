"""Migration operations that keep large tables writable while they change.

On PostgreSQL a plain ``CREATE INDEX`` holds a lock that blocks every write to
its table until the index is built, ``SET NOT NULL`` scans the table under an
exclusive lock, and a data migration in one transaction keeps its locks (and
those of every earlier operation of its migration) until it ends. The operations
here do the same jobs without that:

- ``AddIndexConcurrently`` / ``RemoveIndexConcurrently``: ``CREATE``/``DROP INDEX
  CONCURRENTLY`` on PostgreSQL, a plain index elsewhere (SQLite);
- ``AddForeignKeyConcurrently``: a foreign key column whose index is built
  concurrently and whose constraint is added ``NOT VALID`` and then validated;
- ``AddUniqueConstraintConcurrently``: the unique index built concurrently, then
  attached as the constraint;
- ``UniqueWithoutPatternIndex``: a unique CharField looked up by equality only
  loses the ``_like`` index Django adds on PostgreSQL (dropped concurrently);
- ``SetNotNullAfterCheck``: ``CHECK (col IS NOT NULL) NOT VALID``, ``VALIDATE``,
  ``SET NOT NULL`` (PostgreSQL 12+ trusts the check and skips its scan), drop the
  check;
- ``AddFieldIfMissing``, ``RemoveFieldIfPresent``, ``RemoveConstraintIfPresent``,
  ``CreateModelIfMissing``: the plain operations, skipped where already done, for
  the quick steps before a long one in a non-atomic migration;
- ``run_in_batches`` (``batches``): a data change by primary-key ranges, each range its own
  short transaction, with progress; functions that use it are marked
  ``@batched`` for ``config.migration_safety``.

The schema they leave is the one the plain operations leave, and Django's state
is the same (each subclasses the plain operation). The concurrent ones run only
in migrations with ``atomic = False``, and every step can be run again: a
migration stopped half-way (a lost connection, an invalid index left by a failed
concurrent build) is finished by running ``migrate`` again.
"""

from config.migration_ops.batches import BATCH_SIZE, batched, progress, run_in_batches
from config.migration_ops.operations import (
    AddFieldIfMissing,
    AddForeignKeyConcurrently,
    AddIndexConcurrently,
    AddUniqueConstraintConcurrently,
    CreateModelIfMissing,
    RemoveConstraintIfPresent,
    RemoveFieldIfPresent,
    RemoveIndexConcurrently,
    RunDeferredSQL,
    SetNotNullAfterCheck,
    UniqueWithoutPatternIndex,
)
from config.migration_ops.postgres import is_postgres, pg_create_index_concurrently, pg_index_valid

__all__ = [
    "BATCH_SIZE",
    "AddFieldIfMissing",
    "AddForeignKeyConcurrently",
    "AddIndexConcurrently",
    "AddUniqueConstraintConcurrently",
    "CreateModelIfMissing",
    "RemoveConstraintIfPresent",
    "RemoveFieldIfPresent",
    "RemoveIndexConcurrently",
    "RunDeferredSQL",
    "SetNotNullAfterCheck",
    "UniqueWithoutPatternIndex",
    "batched",
    "is_postgres",
    "pg_create_index_concurrently",
    "pg_index_valid",
    "progress",
    "run_in_batches",
]
