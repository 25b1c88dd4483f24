/* psf-syncfs-common.c: what the psf-syncfs program and its module share
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <libintl.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "psf-syncfs-common.h"

void
psf_syncfs_reserve_standard_fds (void)
{
  for (int fd = 0; fd <= 2; fd++)
    {
      int null_fd;

      if (fcntl (fd, F_GETFD) >= 0 || errno != EBADF)
        continue;
      null_fd = open ("/dev/null", (fd == STDIN_FILENO ? O_WRONLY : O_RDONLY) | O_NOCTTY);
      if (null_fd >= 0 && null_fd != fd)
        {
          dup2 (null_fd, fd);
          close (null_fd);
        }
    }
}

void
psf_syncfs_init_i18n (void)
{
  const char *dir = getenv ("PSF_LOCALEDIR");

  setlocale (LC_ALL, "");
  bindtextdomain (GETTEXT_PACKAGE, dir != NULL && *dir != '\0' ? dir : LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
}

/* The line is put together here and written with one call (stderr has no
 * buffer: one write() for a line that fits). */
typedef struct
{
  char   buf[1024];
  size_t len;
} Line;

static void
line_flush (Line *line)
{
  fwrite (line->buf, 1, line->len, stderr);
  line->len = 0;
}

static void
line_append (Line       *line,
             const char *data,
             size_t      len)
{
  while (len > 0)
    {
      size_t n = sizeof line->buf - line->len;

      if (n == 0)
        {
          line_flush (line);
          continue;
        }
      if (n > len)
        n = len;
      memcpy (line->buf + line->len, data, n);
      line->len += n;
      data += n;
      len -= n;
    }
}

static void
line_append_escaped (Line          *line,
                     unsigned char  byte)
{
  static const char hex[] = "0123456789abcdef";
  char escaped[4] = { '\\', 'x', hex[byte >> 4], hex[byte & 0xf] };

  line_append (line, escaped, sizeof escaped);
}

void
psf_syncfs_print_error (const char *message)
{
  Line line = { .len = 0 };

  line_append (&line, PSF_SYNCFS_PRGNAME ": ", strlen (PSF_SYNCFS_PRGNAME ": "));
  for (const unsigned char *p = (const unsigned char *) message; *p != '\0'; p++)
    {
      if (*p < 0x20 || *p == 0x7f)
        line_append_escaped (&line, *p);
      else if (*p == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f)
        {
          line_append_escaped (&line, p[0]);
          line_append_escaped (&line, p[1]);
          p++;
        }
      else
        line_append (&line, (const char *) p, 1);
    }
  line_append (&line, "\n", 1);
  line_flush (&line);
}
