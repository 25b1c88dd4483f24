/* psf-child.c: the helper program of the SPAWN start method
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Usage (internal): psf-child ROUTINE [--setup=OFFSET]
 *   fd 3: the report channel (write end of a pipe)
 *   fd 4: the routine's input (a sealed-size memfd), optional; with
 *         --setup, followed from OFFSET on by the set-up record
 *         (PsfChildSetupRecord, psf-child-setup-private.h)
 *   fd 5: the set-up channel, with --setup
 * or: psf-child --forkserver HOST_PID
 *   fd 3: the control socket of the FORKSERVER start method (see
 *   psf-forkserver-server.c): a long-lived server that forks the routine
 *   per request.
 *
 * It maps its input, runs the routine that psf-child-routines.c names and
 * exits with its status. It is a fresh, small image: its start-up cost does
 * not depend on the host that spawned it.
 */

#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "psf-child-private.h"
#include "psf-child-setup-private.h"
#include "psf-forkserver-protocol.h"

/* Threads are safe in this fresh image (SPAWN): distinct filesystems are
 * synced at once, so a slow one does not add its time to the others'. The
 * forkserver's children, which share the server's memory, use
 * sub-processes instead (psf-forkserver-server.c). */
#define SYNC_THREAD_STACK (128 * 1024)

static void *
sync_thread (void *data)
{
  psf_syncfs_target_sync (data);
  return NULL;
}

static void
sync_concurrently (PsfSyncfsTarget *targets,
                   size_t           n)
{
  pthread_t threads[PSF_SYNCFS_MAX_PENDING];
  int started[PSF_SYNCFS_MAX_PENDING];
  pthread_attr_t attr;

  if (n <= 1 || n > PSF_SYNCFS_MAX_PENDING || pthread_attr_init (&attr) != 0)
    {
      for (size_t i = 0; i < n; i++)
        psf_syncfs_target_sync (&targets[i]);
      return;
    }
  pthread_attr_setstacksize (&attr, SYNC_THREAD_STACK);

  for (size_t i = 1; i < n; i++)
    started[i] = pthread_create (&threads[i], &attr, sync_thread, &targets[i]) == 0;
  psf_syncfs_target_sync (&targets[0]);
  for (size_t i = 1; i < n; i++)
    {
      if (started[i])
        pthread_join (threads[i], NULL);
      else
        psf_syncfs_target_sync (&targets[i]);
    }
  pthread_attr_destroy (&attr);
}

/* "--setup=OFFSET" after the routine's name: where the set-up record
 * starts in the input. */
static int
parse_setup_offset (const char *arg,
                    size_t     *offset)
{
  const char *digits = arg + strlen (PSF_CHILD_SETUP_ARG);
  char *end = NULL;
  unsigned long long value;

  if (strncmp (arg, PSF_CHILD_SETUP_ARG, strlen (PSF_CHILD_SETUP_ARG)) != 0 ||
      *digits < '0' || *digits > '9')
    return -1;
  errno = 0;
  value = strtoull (digits, &end, 10);
  if (errno != 0 || *end != '\0' || value > SIZE_MAX)
    return -1;
  *offset = (size_t) value;
  return 0;
}

static int
usage (void)
{
  fprintf (stderr, "psf-child: internal helper of libpsf-1, not meant to be run by hand\n");
  return 2;
}

int
main (int   argc,
      char *argv[])
{
  PsfChildRoutine routine;
  PsfChildSetup setup;
  const void *input = NULL;
  size_t input_len = 0;
  size_t setup_offset = 0;
  int with_setup = 0;
  struct stat st;

  psf_syncfs_child_set_sync_many (sync_concurrently);
  if (argc >= 2 && strcmp (argv[1], PSF_FORKSERVER_ARG) == 0)
    return psf_forkserver_server_main (argc, argv);

  if (argc < 2 || argc > 3 || (routine = psf_child_routine_lookup (argv[1])) == NULL)
    return usage ();
  if (argc == 3)
    {
      if (parse_setup_offset (argv[2], &setup_offset) < 0)
        return usage ();
      with_setup = 1;
    }

  if (fstat (PSF_CHILD_INPUT_FD, &st) == 0 && S_ISREG (st.st_mode) && st.st_size > 0)
    {
      input = mmap (NULL, (size_t) st.st_size, PROT_READ, MAP_PRIVATE, PSF_CHILD_INPUT_FD, 0);
      if (input == MAP_FAILED)
        {
          int saved = errno;

          /* The host learns why on the report channel; stderr is for
           * whoever runs it by hand. */
          psf_child_routine_report_failure (argv[1], PSF_CHILD_REPORT_FD,
                                            PSF_CHILD_FAILED_MMAP_INPUT, saved);
          errno = saved;
          perror ("psf-child: mmap");
          return 2;
        }
      input_len = (size_t) st.st_size;
      close (PSF_CHILD_INPUT_FD);
    }

  if (with_setup)
    {
      /* The set-up record ends the input: the routine gets what is before
       * it. */
      if (input == NULL || setup_offset > input_len ||
          psf_child_setup_decode ((const char *) input + setup_offset,
                                  input_len - setup_offset, &setup) != 0)
        return usage ();
      input_len = setup_offset;
      if (input_len == 0)
        input = NULL;

      if (!psf_child_setup_is_empty (&setup))
        {
          if (psf_child_setup_apply (&setup, PSF_CHILD_SETUP_FD) < 0)
            return 127;
          /* EOF on the channel tells the parent the set-up is done. */
          close (PSF_CHILD_SETUP_FD);
        }
    }

  return routine (input, input_len, PSF_CHILD_REPORT_FD);
}
