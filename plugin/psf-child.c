/* psf-child.c: the helper program of the SPAWN start method
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Usage (internal): psf-child ROUTINE
 *   fd 3: the report channel (write end of a pipe)
 *   fd 4: the routine's input (a sealed-size memfd), optional
 *
 * It maps its input, runs the routine that psf-child-routines.c names and
 * exits with its status. It is a fresh, small image: its start-up cost does
 * not depend on the host that spawned it.
 */

#include "config.h"

#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "psf-child-private.h"

int
main (int   argc,
      char *argv[])
{
  PsfChildRoutine routine;
  const void *input = NULL;
  size_t input_len = 0;
  struct stat st;

  if (argc != 2 || (routine = psf_child_routine_lookup (argv[1])) == NULL)
    {
      fprintf (stderr, "psf-child: internal helper of libpsf-1, not meant to be run by hand\n");
      return 2;
    }

  if (fstat (PSF_CHILD_INPUT_FD, &st) == 0 && S_ISREG (st.st_mode) && st.st_size > 0)
    {
      input = mmap (NULL, (size_t) st.st_size, PROT_READ, MAP_PRIVATE, PSF_CHILD_INPUT_FD, 0);
      if (input == MAP_FAILED)
        {
          perror ("psf-child: mmap");
          return 2;
        }
      input_len = (size_t) st.st_size;
      close (PSF_CHILD_INPUT_FD);
    }

  return routine (input, input_len, PSF_CHILD_REPORT_FD);
}
