"""Tables of the corpus service's schema (changed only through migrations)."""

from lathe.kit.idempotency import request_log_table
from sqlalchemy import MetaData

metadata = MetaData()
request_log = request_log_table(metadata)
