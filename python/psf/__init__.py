# psf: Python helpers around the Psf GObject library
#
# SPDX-License-Identifier: LGPL-2.1-or-later

"""Python helpers for psf; the library itself is `gi.repository.Psf`.

psf.aio runs psf tasks in asyncio loops.
"""

from . import aio

__all__ = ['aio']
