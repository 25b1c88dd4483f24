/* fuzz-setup-decode.c: libFuzzer target for the decoders of a child's
 * set-up record and of its error record
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Both come from another process: the set-up record from the host (to the
 * helper of SPAWN, in its input memfd; to the forkserver, in a request),
 * the error record from a child that failed to set itself up. Whatever the
 * bytes, psf_child_setup_decode() reads none past their end and what it
 * accepts is what the encoder writes: encoded again, it gives the same
 * bytes; psf_setup_error_decode() accepts one record's worth and gives
 * NUL-terminated texts and an errno in range.
 *
 * Input: the bytes of one record (either kind), given to both decoders.
 */

#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "psf-child-private.h"

#include "fuzz-target.h"

static void
check (int         ok,
       const char *what)
{
  if (!ok)
    {
      fprintf (stderr, "fuzz-setup-decode: %s\n", what);
      abort ();
    }
}

int
LLVMFuzzerInitialize (int    *argc,
                      char ***argv)
{
  return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  /* At the alignment the helper and the server give it, and an exact
   * copy so that a read past the end is one past the allocation. */
  uint32_t *aligned = malloc (size > 0 ? size : 1);
  char *shifted = malloc (size + 1);
  PsfChildSetup setup;
  PsfSetupError error;

  check (aligned != NULL && shifted != NULL, "out of memory");
  if (size > 0)
    memcpy (aligned, data, size);

  if (psf_child_setup_decode (aligned, size, &setup) == 0)
    {
      size_t again = psf_child_setup_encode (&setup, NULL, 0);
      char *encoded;

      check (again == size, "a record accepted is not the size it encodes to");
      check (setup.child_setup == NULL, "a function pointer from the bytes");
      check (!setup.has_groups || setup.n_groups <= size / sizeof (uint32_t),
             "more groups than bytes");
      check (setup.cgroup_procs == NULL ||
             ((const char *) setup.cgroup_procs >= (const char *) aligned &&
              (const char *) setup.cgroup_procs + strlen (setup.cgroup_procs) <
              (const char *) aligned + size),
             "the cgroup path is not inside the record");
      encoded = malloc (again);
      check (encoded != NULL, "out of memory");
      check (psf_child_setup_encode (&setup, encoded, again) == again, "encoding again failed");
      check (memcmp (encoded, aligned, size) == 0, "a record accepted is not what it encodes to");
      free (encoded);

      /* The same bytes off their alignment are refused. */
      memcpy (shifted + 1, data, size);
      check (psf_child_setup_decode (shifted + 1, size, &setup) != 0,
             "a misaligned record accepted");
    }

  if (psf_setup_error_decode (data, size, &error) == 0)
    {
      check (size == sizeof error, "an error record of another size accepted");
      check (error.magic == PSF_SETUP_ERROR_MAGIC, "another magic accepted");
      check (error.error >= 0 && error.error <= PSF_CHILD_MAX_ERRNO, "errno out of range");
      check (memchr (error.call, '\0', sizeof error.call) != NULL, "call not terminated");
      check (memchr (error.detail, '\0', sizeof error.detail) != NULL, "detail not terminated");
    }

  free (aligned);
  free (shifted);
  return 0;
}
