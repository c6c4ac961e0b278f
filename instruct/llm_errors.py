"""Why a run against an LLM endpoint stops, in one line: the missing key, the endpoint's refusal, or an
endpoint that is not there (refused, DNS, TLS), told apart from a connection dropped mid-answer (which
``instruct.llm`` retries). The API key never appears in a message.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any

DEFAULT_API_KEY_ENV = "OPENAI_API_KEY"


class LLMSetupError(Exception):
    """A problem no retry can fix (missing key, 401/403, unknown model or URL, no server there): stop the
    run with this one-line message. The message never contains the API key."""


def endpoint_error(base_url: Any, model: str, what: str, hint: str) -> LLMSetupError:
    """The one line that stops a run: the endpoint, the model, what happened, and what to try."""
    return LLMSetupError(f"{base_url} (model {model!r}): {what}; {hint}")


def connect_failure(err: BaseException) -> tuple[str, str] | None:
    """(OS error, hint) when ``err`` failed before any HTTP exchange (refused, DNS, TLS), else None.

    A connection dropped mid-response is not one of these: it is retried like a 5xx.
    """
    import socket
    import ssl

    import aiohttp

    chain: list[BaseException] = []
    cause: BaseException | None = err
    while cause is not None and len(chain) < 20:
        chain.append(cause)
        cause = cause.__cause__ or cause.__context__
    dns_error = getattr(aiohttp, "ClientConnectorDNSError", socket.gaierror)
    # Most specific first: aiohttp wraps a refusal (an OSError) in ClientConnectorError.
    checks = (
        (ssl.SSLError | aiohttp.ClientSSLError, "TLS error",
         "check http:// versus https:// in --base-url and the server's certificate"),
        (socket.gaierror | dns_error, "DNS lookup failed", "check the host name in --base-url"),
        (ConnectionRefusedError, "connection refused", "is the server running, and is the port in --base-url right?"),
        (aiohttp.ClientConnectorError, "cannot connect", "is the server running, and is --base-url right?"),
    )
    for kind, what, hint in checks:
        found = next((c for c in chain if isinstance(c, kind)), None)
        if found is not None:
            return f"{what}: {found}", hint
    return None


def resolve_api_key(env_name: str = DEFAULT_API_KEY_ENV) -> str:
    """The API key from the environment variable ``env_name``; raises :class:`LLMSetupError`."""
    key = os.environ.get(env_name, "").strip()
    if not key:
        raise LLMSetupError(
            f"no API key: set the environment variable {env_name} (or choose another with --api-key-env);"
            " a local server without authentication accepts any value, e.g. EMPTY"
        )
    return key


def error_message(err: Exception) -> str:
    """The server's own error message of an openai exception (its JSON ``error.message``), else the
    exception's text, on one line and at most 300 characters."""
    body = getattr(err, "body", None)
    if isinstance(body, Mapping):
        inner = body.get("error", body)
        message = inner.get("message") if isinstance(inner, Mapping) else None
        if message:
            return str(message)[:300]
    return re.sub(r"\s+", " ", str(err))[:300]
