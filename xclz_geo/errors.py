"""Exception and warning hierarchy of xclz_geo.

Every error raised on purpose by the toolkit derives from :class:`XclzGeoError`.
Subclasses also inherit the built-in exception that fits (``ValueError`` for bad
values, ``OSError`` for unreadable files), so callers can catch either.

Messages are written for a planner, not a programmer: they name the file, row,
field or feature at fault and say how to fix it. The CLI prints them on one line
(``xclz-geo: error: …``) and never shows a traceback.
"""

from __future__ import annotations


class XclzGeoError(Exception):
    """Root of every error raised on purpose by xclz_geo."""

    #: exit status the CLI uses for this error class (2 = unreadable / malformed input)
    exit_code: int = 2


class SpecError(XclzGeoError, ValueError):
    """A zone specification (``spec.toml``) is malformed: missing field, duplicate id, bad value."""


class InputDataError(XclzGeoError, ValueError):
    """An input table or vector file has bad content (missing column, wrong type, bad row)."""


class InputFileError(XclzGeoError, OSError):
    """An input file is missing, unreadable, or in a format the toolkit cannot read."""


class CRSError(XclzGeoError, ValueError):
    """A coordinate reference system is missing, unknown, or unsuitable for the operation."""


class CRSMismatchError(CRSError):
    """Two inputs are in different CRSs or datums where one is required."""


class DatumError(XclzGeoError, ValueError):
    """A datum tag is unknown, or coordinates cannot be converted in that datum (e.g. outside China)."""


class SizhiParseError(XclzGeoError, ValueError):
    """四至 text could not be parsed; ``offset`` is the character offset of the problem."""

    def __init__(self, message: str, *, offset: int | None = None, text: str | None = None) -> None:
        self.offset = offset
        self.text = text
        if offset is not None:
            message = f"{message} (at character {offset})"
        super().__init__(message)


class NameNotResolvedError(XclzGeoError, ValueError):
    """A feature name of a 四至 text matches nothing in the line network."""

    exit_code = 1


class AssemblyError(XclzGeoError, ValueError):
    """The matched features do not close into a ring (the message names the open corner and gap)."""

    exit_code = 1


class BoundaryError(XclzGeoError, ValueError):
    """A boundaries file does not follow the boundaries schema, or its geometry is unusable."""


class MethodProfileError(XclzGeoError, ValueError):
    """An evaluation method profile (``data/methods/*.toml`` or a user's file) is malformed."""


class BasemapError(XclzGeoError, ValueError):
    """A basemap is unknown or lacks what it needs (e.g. a Tianditu key)."""


class BrowserUnavailableError(XclzGeoError, OSError):
    """A task needs a headless browser (chromium + chromedriver) that is not installed."""


# ---------------------------------------------------------------- warnings


class XclzGeoWarning(UserWarning):
    """Root of the warnings xclz_geo emits."""


class SchematicGeometryWarning(XclzGeoWarning):
    """Results derived from schematic (not official) boundaries."""


class GeometryRepairWarning(XclzGeoWarning):
    """An invalid geometry was repaired; the message says where."""


class DataQualityWarning(XclzGeoWarning):
    """Input data has a problem that was handled but should be looked at."""


class MapAssetError(XclzGeoError, OSError):
    """A script or stylesheet a map needs cannot be inlined from an installed package (maps are never built from the network)."""


class FontUnavailableError(XclzGeoError, OSError):
    """No CJK font is installed, so charts cannot show Chinese labels (install fonts-noto-cjk)."""


class OutputPathError(XclzGeoError, OSError):
    """An output path cannot be written: unwritable folder, a folder where a file is expected (or the reverse),
    a reserved or unsafe name, or a path that is also one of the command's inputs. Raised before any work."""


class OutputLockedError(XclzGeoError, OSError):
    """Another run is moving its outputs into the same folder and did not finish in time."""


class Interrupted(KeyboardInterrupt):
    """The run was stopped by SIGINT (Ctrl-C, exit 130) or SIGTERM (exit 143); unfinished outputs are discarded.

    A subclass of :class:`KeyboardInterrupt`, so ``except Exception`` does not swallow it.
    """

    def __init__(self, signum: int) -> None:
        import signal

        self.signum = int(signum)
        try:
            self.signal_name = signal.Signals(self.signum).name
        except ValueError:  # pragma: no cover - an unnamed signal
            self.signal_name = f"signal {self.signum}"
        #: conventional shell status: 128 + signal number (SIGINT 130, SIGTERM 143)
        self.exit_code = 128 + self.signum
        super().__init__(f"stopped by {self.signal_name}")
