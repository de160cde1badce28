"""The dev stack's log: quiet by default, more on demand.

- ``quiet`` (default): warnings and errors only, one line each (an exception becomes
  ``ExcType: message`` at the end of its line), so the banner stays on screen.
- ``info``: also what the stack does (starts, each REST request, schedules).
- ``debug`` (``--verbose`` or ``AION_DEV_LOG=debug``): everything, with tracebacks; the app's
  own log lines in Powertools' JSON, as CloudWatch would show them.

Children (moto, executor) write through ``procs.pump_lines``, which applies the same rule to
their lines (``child_line_visible``).
"""

from __future__ import annotations

import logging
import os
import re
import sys
from collections.abc import Mapping

LEVELS = {"quiet": logging.WARNING, "info": logging.INFO, "debug": logging.DEBUG}
ENV = "AION_DEV_LOG"
_NOISY = ("botocore", "boto3", "pynamodb", "urllib3", "aiohttp.access", "werkzeug")
# A child's log line: optional date and time, then the level (devstack, executor, moto).
_LEVEL_TOKEN = re.compile(
    r"^(?:\d{4}-\d\d-\d\d[ T][\d:,.]+\s+)?(DEBUG|INFO|WARNING|ERROR|CRITICAL)\b"
)


def resolve(verbose: bool, env: Mapping[str, str] | None = None) -> str:
    """``quiet`` | ``info`` | ``debug`` from ``--verbose`` and ``AION_DEV_LOG``."""
    if verbose:
        return "debug"
    env = os.environ if env is None else env
    wanted = (env.get(ENV) or "quiet").strip().lower()
    aliases = {"verbose": "debug", "warning": "quiet", "error": "quiet", "": "quiet"}
    wanted = aliases.get(wanted, wanted)
    if wanted not in LEVELS:
        raise ValueError(f"{ENV} must be one of quiet, info, debug (got {wanted!r})")
    return wanted


class OneLineFormatter(logging.Formatter):
    """``HH:MM:SS LEVEL logger: message`` and, for an exception, ``(ExcType: message)``."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s", "%H:%M:%S")

    def format(self, record: logging.LogRecord) -> str:
        exc_info, record.exc_info = record.exc_info, None
        exc_text, record.exc_text = record.exc_text, None
        stack, record.stack_info = record.stack_info, None
        try:
            line = super().format(record)
        finally:
            record.exc_info, record.exc_text, record.stack_info = exc_info, exc_text, stack
        if exc_info and exc_info[1] is not None:
            exc = exc_info[1]
            line += f" ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})"
        return " ".join(line.split("\n"))


def configure(mode: str) -> None:
    """Root logging for the dev stack process (stdout)."""
    handler = logging.StreamHandler(sys.stdout)
    if mode == "quiet":
        handler.setFormatter(OneLineFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(LEVELS[mode])
    for noisy in _NOISY:
        logging.getLogger(noisy).setLevel(logging.WARNING if mode != "debug" else logging.INFO)


def app_log_level(mode: str) -> str:
    """POWERTOOLS_LOG_LEVEL for the app's handlers."""
    return {"quiet": "WARNING", "info": "INFO", "debug": "DEBUG"}[mode]


def adopt_app_logger(mode: str) -> None:
    """Route the app's Powertools logger: one line through ours when quiet, its JSON else.

    Built here once (``observability.logger`` is cached), so the handlers use this very object.
    """
    try:
        from chalicelib.http import observability
    except ImportError:
        return
    powertools = observability.logger()
    logger = logging.getLogger(powertools.service)
    if mode == "quiet":
        for handler in list(logger.handlers):
            logger.removeHandler(handler)
        logger.propagate = True
    else:
        logger.propagate = False  # its own JSON handler prints it; ours would print it twice


def child_line_visible(line: str, quiet: bool, state: dict[str, bool]) -> bool:
    """Whether to show a child's output line. Quiet: its warnings and errors without the
    traceback that follows them (``state`` carries that across lines). Lines outside any log
    record (a crash's own traceback) are always shown."""
    if not quiet:
        return True
    match = _LEVEL_TOKEN.match(line)
    if match:
        state["after_record"] = True
        return match.group(1) in ("WARNING", "ERROR", "CRITICAL")
    # After a record: its traceback or continuation lines.
    return not state.get("after_record")
