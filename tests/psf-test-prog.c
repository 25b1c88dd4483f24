/* psf-test-prog.c: one helper program, one mode per behaviour the tests need
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 *   exit N            exit with status N
 *   sleep MS          sleep MS milliseconds, then exit 0
 *   ignore-term MS    ignore SIGTERM, say "ready" on stdout, sleep MS
 *   raise SIG         kill itself with signal SIG
 *   grandchild MS     fork a grandchild that keeps the inherited fds for MS
 *                     milliseconds, and exit 0 at once
 *   check-fd FD       exit 0 if FD is open, 1 if not
 *   cwd               print the working directory
 *   env NAME          print $NAME, exit 1 if unset
 *   write N           write N bytes of a known pattern to stdout
 *   argv0             print argv[0]
 */

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void
sleep_ms (long ms)
{
  struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

  while (nanosleep (&ts, &ts) < 0 && errno == EINTR)
    ;
}

int
main (int   argc,
      char *argv[])
{
  const char *mode = argc > 1 ? argv[1] : "";
  const char *arg = argc > 2 ? argv[2] : "0";

  if (strcmp (mode, "exit") == 0)
    return atoi (arg);

  if (strcmp (mode, "sleep") == 0)
    {
      sleep_ms (atol (arg));
      return 0;
    }

  if (strcmp (mode, "ignore-term") == 0)
    {
      signal (SIGTERM, SIG_IGN);
      printf ("ready\n");
      fflush (stdout);
      sleep_ms (atol (arg));
      return 0;
    }

  if (strcmp (mode, "raise") == 0)
    {
      signal (atoi (arg), SIG_DFL);
      raise (atoi (arg));
      return 99;
    }

  if (strcmp (mode, "grandchild") == 0)
    {
      if (fork () == 0)
        {
          sleep_ms (atol (arg));
          _exit (0);
        }
      return 0;
    }

  if (strcmp (mode, "check-fd") == 0)
    return fcntl (atoi (arg), F_GETFD) >= 0 ? 0 : 1;

  if (strcmp (mode, "cwd") == 0)
    {
      char buf[4096];

      if (getcwd (buf, sizeof buf) == NULL)
        return 1;
      printf ("%s\n", buf);
      return 0;
    }

  if (strcmp (mode, "env") == 0)
    {
      const char *value = getenv (arg);

      if (value == NULL)
        return 1;
      printf ("%s\n", value);
      return 0;
    }

  if (strcmp (mode, "write") == 0)
    {
      long n = atol (arg);
      char chunk[1000];

      for (long done = 0; done < n; )
        {
          long len = n - done < (long) sizeof chunk ? n - done : (long) sizeof chunk;

          for (long i = 0; i < len; i++)
            chunk[i] = (char) ('a' + (done + i) % 26);
          if (write (STDOUT_FILENO, chunk, (size_t) len) != len)
            return 1;
          done += len;
        }
      return 0;
    }

  if (strcmp (mode, "argv0") == 0)
    {
      printf ("%s\n", argv[0]);
      return 0;
    }

  fprintf (stderr, "psf-test-prog: unknown mode '%s'\n", mode);
  return 2;
}
