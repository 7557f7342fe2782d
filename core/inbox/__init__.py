"""The telephony inbox in core: every accepted PBX webhook, from stored to applied or parked.

1. Stored: the webhook edge writes the raw request before its 200 (telephony_webhooks/inbox.py,
   group commit); a row is due while `processed_at IS NULL` and its `next_attempt_at` has come.
2. Claimed and applied (`lifecycle.apply_due`): due rows in id order, none overtaking an
   earlier row of its call that waits to retry, applied to calls in one transaction; on
   PostgreSQL `SKIP LOCKED` shares them among instances.
3. Failed (`lifecycle.apply_row`, `lifecycle.fail`): a failed batch is redone row by row; a
   failing row is retried with the one backoff policy (core/retry.py) and parked after
   `inbox_max_attempts`, its error kept; a row that can never be read is settled at once.
4. Seen by an admin (`admin.list_failed`, `admin.retry`): the parked rows, and putting them back.

The processor (telephony_webhooks/processor.py) keeps the loop, the SQLite writer's turns and
the parsing of stored requests (providers are adapters); the states and their SQL live here.
"""
