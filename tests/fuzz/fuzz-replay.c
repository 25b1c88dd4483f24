/* fuzz-replay.c: runs a fuzz target over its corpus without libFuzzer
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 *   fuzz-TARGET-replay FILE|DIRECTORY...
 *
 * Linked with a target's source instead of -fsanitize=fuzzer, so that every
 * build (gcc too, under valgrind and ASan/UBSan) runs the committed corpus
 * as a regression test. A target that finds a violation abort()s.
 */

#include "config.h"

#include <stdio.h>

#include <glib.h>

#include "fuzz-target.h"

static guint n_inputs;

static void
run_file (const char *path)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *contents = NULL;
  gsize len = 0;

  if (!g_file_get_contents (path, &contents, &len, &error))
    g_error ("%s", error->message);
  /* An exact-size copy: a read past the end is caught by the sanitizers. */
  {
    g_autofree guint8 *exact = g_memdup2 (contents, len);

    LLVMFuzzerTestOneInput (exact, len);
  }
  n_inputs++;
}

static int
compare_names (gconstpointer a,
               gconstpointer b)
{
  return g_strcmp0 (*(const char * const *) a, *(const char * const *) b);
}

static void
run_path (const char *path)
{
  if (g_file_test (path, G_FILE_TEST_IS_DIR))
    {
      g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
      g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
      const char *name;

      g_assert_nonnull (dir);
      while ((name = g_dir_read_name (dir)) != NULL)
        g_ptr_array_add (names, g_build_filename (path, name, NULL));
      g_ptr_array_sort (names, compare_names);
      for (guint i = 0; i < names->len; i++)
        run_file (g_ptr_array_index (names, i));
    }
  else
    run_file (path);
}

int
main (int   argc,
      char *argv[])
{
  LLVMFuzzerInitialize (&argc, &argv);
  for (int i = 1; i < argc; i++)
    run_path (argv[i]);
  printf ("%u inputs ran without a violation\n", n_inputs);
  return n_inputs > 0 ? 0 : 1;
}
