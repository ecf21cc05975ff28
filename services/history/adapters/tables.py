"""Tables of the history service's schema (changed only through migrations)."""

from sqlalchemy import MetaData

from lathe.kit.idempotency import request_log_table

metadata = MetaData()
request_log = request_log_table(metadata)
