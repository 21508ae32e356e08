"""Connections to a database store (MLflow's backend or Optuna's storage, by SQLAlchemy URL),
bounded in time: a server that refuses, does not exist or accepts and never answers is one
clear error within the timeout, not a driver's minutes of retries."""

from __future__ import annotations

import math
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from emorec.errors import EmorecError

SERVER_SCHEMES = ("postgresql", "mysql")


def is_server_url(url: str) -> bool:
    """A SQLAlchemy URL of a database server (PostgreSQL or MySQL, any driver)."""
    return url.partition("://")[0].split("+")[0] in SERVER_SCHEMES


def bounded_url(url: str, timeout: float) -> str:
    """``url`` with the driver's ``connect_timeout`` (libpq's and MySQL clients' whole seconds)
    set to ``timeout`` rounded up, unless the URL sets one itself."""
    if not is_server_url(url):
        return url
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    query.setdefault("connect_timeout", str(max(1, math.ceil(timeout))))
    return urlunsplit(parts._replace(query=urlencode(query)))


def check_answers(url: str, timeout: float, option: str) -> None:
    """Connect to the database server once and run ``SELECT 1``, or EmorecError within about
    ``timeout`` seconds naming ``option`` and the first line of the driver's reason."""
    if not is_server_url(url):
        return
    import sqlalchemy

    engine = sqlalchemy.create_engine(bounded_url(url, timeout),
                                      poolclass=sqlalchemy.pool.NullPool)
    try:
        with engine.connect() as connection:
            connection.execute(sqlalchemy.text("SELECT 1"))
    except sqlalchemy.exc.SQLAlchemyError as error:
        reason = str(getattr(error, "orig", error) or error).strip().splitlines()
        raise EmorecError(f"{option} {redacted(url)}: the database does not answer within "
                          f"{timeout:g} s ({reason[0] if reason else type(error).__name__}); "
                          "start it (make servers) or give another URL") from None
    finally:
        engine.dispose()


def redacted(url: str) -> str:
    """``url`` without its password, for messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))
