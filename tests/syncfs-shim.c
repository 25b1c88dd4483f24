/* syncfs-shim.c: an LD_PRELOAD interposer for syncfs() in tests
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * PSF_SHIM_SYNCFS_ERRNO=NAME|NUMBER  make every syncfs() fail with that errno
 *                                    (EIO, ENOSYS, ... or a number)
 * PSF_SHIM_SYNCFS_DELAY_MS=N         sleep N ms in each syncfs()
 * PSF_SHIM_SYNCFS_COUNT_FD=FD        append one byte to FD per real call,
 *                                    so a test can count the calls
 * Unset: the real syncfs(). getenv() is read at each call so a test can
 * switch behaviour between tasks; it is lock-free in glibc, so it is fine
 * in a forked child.
 */


#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>


static int
parse_errno (const char *value)
{
  static const struct { const char *name; int value; } names[] = {
    { "EIO", EIO }, { "ENOSYS", ENOSYS }, { "ENOSPC", ENOSPC },
    { "EROFS", EROFS }, { "EBADF", EBADF }, { "EDQUOT", EDQUOT },
  };

  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    if (strcmp (names[i].name, value) == 0)
      return names[i].value;
  return atoi (value);
}

int
syncfs (int fd)
{
  static int (*real_syncfs) (int);
  const char *fail = getenv ("PSF_SHIM_SYNCFS_ERRNO");
  const char *delay = getenv ("PSF_SHIM_SYNCFS_DELAY_MS");
  const char *count_fd = getenv ("PSF_SHIM_SYNCFS_COUNT_FD");

  if (count_fd != NULL && *count_fd != '\0')
    {
      ssize_t r = write (atoi (count_fd), "s", 1);
      (void) r;
    }

  if (delay != NULL && *delay != '\0')
    {
      long ms = atol (delay);
      struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

      nanosleep (&ts, NULL);
    }

  if (fail != NULL && *fail != '\0')
    {
      errno = parse_errno (fail);
      return -1;
    }

  if (real_syncfs == NULL)
    real_syncfs = (int (*) (int)) dlsym (RTLD_NEXT, "syncfs");
  return real_syncfs (fd);
}
