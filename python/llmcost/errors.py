"""The exceptions of llmcost: one class per llmcost::Error kind (analyzer/include/llmcost/error.h).

str(e) is the one line the command line prints after "llmcost: error: ".
"""


class LlmcostError(Exception):
    """Any failure of llmcost; `kind` is the C++ ErrorKind's name ("bad config", "usage", ...)."""

    kind = "bad input"

    def __init__(self, message, kind=None):
        super().__init__(message)
        if kind is not None:
            self.kind = kind


class ConfigError(LlmcostError, ValueError):
    """A config's content: names the file, the JSON pointer and what was expected."""

    kind = "bad config"


class InputError(LlmcostError, ValueError):
    """An input that cannot be read or used: a missing file, a bad option value."""

    kind = "bad input"


class UnsupportedError(LlmcostError):
    """Well-formed, but not handled: an architecture, a backend, a figure past int64."""

    kind = "unsupported"


class DeviceUnavailableError(LlmcostError):
    """No GPU, no driver, no counter permission."""

    kind = "device unavailable"


class UsageError(LlmcostError, TypeError):
    """An option llmcost does not take, or a value it does not accept (the CLI's usage errors)."""

    kind = "usage"


class InternalError(LlmcostError):
    """An invariant of llmcost broke: a bug, not the caller's input."""

    kind = "internal"


_BY_KIND = {c.kind: c for c in (ConfigError, InputError, UnsupportedError, DeviceUnavailableError, UsageError, InternalError)}


def from_kind(kind, message):
    """The exception for a C++ ErrorKind name and its message."""
    return _BY_KIND.get(kind, LlmcostError)(message, kind)
