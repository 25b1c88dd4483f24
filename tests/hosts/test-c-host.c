/* test-c-host.c: a C host loads the psf-syncfs plugin with a PeasEngine
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Environment (set by meson test, as by `meson devenv`): PSF_PLUGIN_PATH,
 * the build folder that holds libpsf-syncfs.so and psf-syncfs.plugin;
 * PSF_CHILD_PATH, the helper of the SPAWN start method; G_TEST_SRCDIR,
 * this folder (for the fixtures); LD_PRELOAD of the fault shim for the
 * cases that make syncfs() slow or fail.
 */

#include <errno.h>
#include <string.h>
#include <glib/gstdio.h>

#include "psf-host.h"
#include "test-utils.h"

typedef struct
{
  PeasEngine *engine;
  char       *plugin_dir;
  char       *tree;
} Fixture;

static void
fixture_setup (Fixture       *f,
               gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  f->plugin_dir = g_strdup (g_getenv ("PSF_PLUGIN_PATH"));
  g_assert_nonnull (f->plugin_dir);
  f->engine = peas_engine_new ();
  g_object_add_weak_pointer (G_OBJECT (f->engine), (gpointer *) &f->engine);
  f->tree = g_dir_make_tmp ("psf-c-host-XXXXXX", &error);
  g_assert_no_error (error);
}

static void
remove_tree (const char *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);

      if (g_file_test (child, G_FILE_TEST_IS_DIR) && !g_file_test (child, G_FILE_TEST_IS_SYMLINK))
        remove_tree (child);
      else
        g_assert_no_errno (g_unlink (child));
    }
  g_assert_no_errno (g_rmdir (path));
}

static void
fixture_teardown (Fixture       *f,
                  gconstpointer  data)
{
  /* The host drops its engine last: it must be finalized then, plugins
   * and all (nothing else may hold it). */
  g_object_unref (f->engine);
  g_assert_null (f->engine);
  remove_tree (f->tree);
  g_free (f->tree);
  g_free (f->plugin_dir);
}

static PeasPluginInfo *
find_syncfs_plugin (Fixture *f)
{
  g_autoptr(GError) error = NULL;
  PeasPluginInfo *info;

  psf_host_add_plugin_dir (f->engine, f->plugin_dir, &error);
  g_assert_no_error (error);
  info = peas_engine_get_plugin_info (f->engine, "psf-syncfs");
  g_assert_nonnull (info);
  return info;
}

/* A merged tree: two files and a folder on the staging filesystem, and a
 * path that is not there. */
static GStrv
make_tree (Fixture *f)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  g_autofree char *bin = g_build_filename (f->tree, "usr", "bin", NULL);
  g_autofree char *tool = g_build_filename (bin, "tool", NULL);
  g_autofree char *doc = g_build_filename (f->tree, "usr", "README", NULL);
  g_autofree char *missing = g_build_filename (f->tree, "missing", NULL);
  g_autoptr(GError) error = NULL;

  g_assert_no_errno (g_mkdir_with_parents (bin, 0755));
  g_file_set_contents (tool, "#!/bin/sh\n", -1, &error);
  g_assert_no_error (error);
  g_file_set_contents (doc, "psf\n", -1, &error);
  g_assert_no_error (error);

  g_strv_builder_add_many (builder, tool, doc, bin, missing, NULL);
  return g_strv_builder_end (builder);
}

/* libpeas's C loader is process-wide and remembers a module that failed
 * to load by the path of its .plugin: each test takes its own copy of a
 * fixture, so each sees libpeas's warnings afresh. */
static char *
copy_fixture (Fixture    *f,
              const char *name)
{
  g_autofree char *dir = g_build_filename (f->tree, "plugins", name, NULL);
  g_autofree char *plugin = g_strconcat ("psf-", name, ".plugin", NULL);
  g_autofree char *source = g_test_build_filename (G_TEST_DIST, "fixtures", name, plugin, NULL);
  g_autofree char *target = g_build_filename (dir, plugin, NULL);
  g_autofree char *contents = NULL;
  gsize length = 0;
  g_autoptr(GError) error = NULL;

  g_file_get_contents (source, &contents, &length, &error);
  g_assert_no_error (error);
  g_assert_no_errno (g_mkdir_with_parents (dir, 0755));
  g_file_set_contents (target, contents, length, &error);
  g_assert_no_error (error);
  return g_steal_pointer (&dir);
}

/* What libpeas says when a .plugin's module file is not there: the module
 * that could not be opened, then the plugin that could not be loaded. */
static void
expect_missing_module_warnings (void)
{
  g_test_expect_message ("libpeas", G_LOG_LEVEL_WARNING,
                         "Failed to load module 'psf-missing-module': "
                         "*libpsf-missing-module.so: cannot open shared object file*");
  g_test_expect_message ("libpeas", G_LOG_LEVEL_WARNING,
                         "Error loading plugin 'psf-missing-module'");
}

static void
run_done_cb (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  GAsyncResult **out = user_data;

  *out = g_object_ref (result);
  g_main_context_wakeup (NULL);
}

/* Runs @hook over @paths: what psf_hook_run_finish() returns, and in
 * @per_path (when not %NULL) what psf_hook_get_results() says of the same
 * run, which a host reads whether the run failed or not. */
static GPtrArray *
run_hook_full (PsfHook             *hook,
               const char * const  *paths,
               GCancellable        *cancellable,
               GPtrArray          **per_path,
               GError             **error)
{
  g_autoptr(GAsyncResult) result = NULL;
  GPtrArray *finished;

  psf_hook_run_async (hook, paths, cancellable, run_done_cb, &result);
  while (result == NULL)
    g_main_context_iteration (NULL, TRUE);
  finished = psf_hook_run_finish (hook, result, error);
  if (per_path != NULL)
    *per_path = psf_hook_get_results (hook, result);
  return finished;
}

static GPtrArray *
run_hook (PsfHook             *hook,
          const char * const  *paths,
          GCancellable        *cancellable,
          GError             **error)
{
  return run_hook_full (hook, paths, cancellable, NULL, error);
}

static void
test_metadata (Fixture       *f,
               gconstpointer  data)
{
  PeasPluginInfo *info = find_syncfs_plugin (f);
  g_autofree char *plugin_file = NULL;
  g_autoptr(GKeyFile) keyfile = g_key_file_new ();
  g_autofree char *name_de = NULL;
  g_autofree char *description_de = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_cmpstr (peas_plugin_info_get_module_name (info), ==, "psf-syncfs");
  g_assert_cmpstr (peas_plugin_info_get_module_dir (info), ==, f->plugin_dir);
  g_assert_cmpstr (peas_plugin_info_get_external_data (info, "Psf-ABI"), ==, PSF_HOST_PLUGIN_ABI);
  g_assert_cmpstr (peas_plugin_info_get_name (info), ==, "Filesystem sync");
  g_assert_nonnull (strstr (peas_plugin_info_get_description (info), "syncfs"));
  g_assert_false (peas_plugin_info_is_loaded (info));

  /* Name and Description went through po/: the German ones are there. */
  plugin_file = g_build_filename (f->plugin_dir, "psf-syncfs.plugin", NULL);
  g_key_file_load_from_file (keyfile, plugin_file, G_KEY_FILE_KEEP_TRANSLATIONS, &error);
  g_assert_no_error (error);
  name_de = g_key_file_get_locale_string (keyfile, "Plugin", "Name", "de", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (name_de, !=, "Filesystem sync");
  description_de = g_key_file_get_locale_string (keyfile, "Plugin", "Description", "de", &error);
  g_assert_no_error (error);
  g_assert_nonnull (strstr (description_de, "syncfs"));
  g_assert_true (g_key_file_has_key (keyfile, "Plugin", "Name[de]", NULL));
  g_assert_true (g_key_file_has_key (keyfile, "Plugin", "Description[de]", NULL));
}

static void
test_load_and_run (Fixture       *f,
                   gconstpointer  data)
{
  PeasPluginInfo *info = find_syncfs_plugin (f);
  g_auto(GStrv) paths = make_tree (f);
  g_autoptr(PsfHook) hook = NULL;
  g_autoptr(GPtrArray) results = NULL;
  g_autoptr(GPtrArray) per_path = NULL;
  g_autoptr(GError) error = NULL;
  PsfSyncfsResult *result;

  hook = psf_host_create_hook (f->engine, info, &error);
  g_assert_no_error (error);
  g_assert_true (PSF_IS_HOOK (hook));
  g_assert_true (PEAS_IS_ACTIVATABLE (hook));
  g_assert_true (peas_plugin_info_is_loaded (info));

  results = run_hook_full (hook, (const char * const *) paths, NULL, &per_path, &error);
  g_assert_no_error (error);
  g_assert_nonnull (results);
  g_assert_cmpuint (results->len, ==, g_strv_length (paths));

  /* On success psf_hook_get_results() tells the same as the finish. */
  g_assert_cmpuint (per_path->len, ==, results->len);
  for (guint i = 0; i < results->len; i++)
    g_assert_true (g_ptr_array_index (per_path, i) == g_ptr_array_index (results, i));

  /* One syncfs for the staging filesystem, the others are duplicates. */
  result = g_ptr_array_index (results, 0);
  g_assert_cmpstr (psf_syncfs_result_get_path (result), ==, paths[0]);
  g_assert_cmpint (psf_syncfs_result_get_status (result), ==, PSF_SYNCFS_STATUS_SYNCED);
  g_assert_cmpint (psf_syncfs_result_get_errno (result), ==, 0);
  for (guint i = 1; i < 3; i++)
    {
      result = g_ptr_array_index (results, i);
      g_assert_cmpstr (psf_syncfs_result_get_path (result), ==, paths[i]);
      g_assert_cmpint (psf_syncfs_result_get_status (result), ==, PSF_SYNCFS_STATUS_DUPLICATE);
      g_assert_cmpuint (psf_syncfs_result_get_device (result), ==,
                        psf_syncfs_result_get_device (g_ptr_array_index (results, 0)));
    }
  result = g_ptr_array_index (results, 3);
  g_assert_cmpstr (psf_syncfs_result_get_path (result), ==, paths[3]);
  g_assert_cmpint (psf_syncfs_result_get_status (result), ==, PSF_SYNCFS_STATUS_SKIPPED);
  g_assert_cmpint (psf_syncfs_result_get_errno (result), ==, ENOENT);

  /* The results are the host's: they outlive the extension. */
  g_clear_object (&hook);
  g_assert_cmpstr (psf_syncfs_result_get_path (g_ptr_array_index (results, 3)), ==, paths[3]);
}

static void
test_properties (Fixture       *f,
                 gconstpointer  data)
{
  PeasPluginInfo *info = find_syncfs_plugin (f);
  g_autoptr(GObject) extension = NULL;
  g_autoptr(GPtrArray) results = NULL;
  g_autoptr(GError) error = NULL;
  const char *paths[] = { f->tree, NULL };
  guint timeout = 0;
  gboolean sync_fallback = FALSE;

  g_assert_true (peas_engine_load_plugin (f->engine, info));

  extension = peas_engine_create_extension_with_properties (f->engine, info, PSF_TYPE_HOOK,
                                                            0, NULL, NULL);
  g_assert_nonnull (extension);
  g_object_get (extension, "timeout", &timeout, "sync-fallback", &sync_fallback, NULL);
  g_assert_cmpuint (timeout, ==, 0);
  g_assert_false (sync_fallback);

  /* libpeas only passes construct properties that the extension type (the
   * interface, PsfHook) declares: a host sets the plugin's settings on the
   * extension it got, and each run takes them from there. */
  g_object_set (extension, "timeout", 60000, "sync-fallback", TRUE, NULL);
  g_object_get (extension, "timeout", &timeout, "sync-fallback", &sync_fallback, NULL);
  g_assert_cmpuint (timeout, ==, 60000);
  g_assert_true (sync_fallback);

  results = run_hook (PSF_HOOK (extension), paths, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (results->len, ==, 1);
  g_assert_cmpint (psf_syncfs_result_get_status (g_ptr_array_index (results, 0)), ==,
                   PSF_SYNCFS_STATUS_SYNCED);
}

static void
test_cancelled (Fixture       *f,
                gconstpointer  data)
{
  PeasPluginInfo *info = find_syncfs_plugin (f);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(PsfHook) hook = NULL;
  g_autoptr(GPtrArray) results = NULL;
  g_autoptr(GPtrArray) per_path = NULL;
  g_autoptr(GError) error = NULL;
  const char *paths[] = { f->tree, NULL };

  hook = psf_host_create_hook (f->engine, info, &error);
  g_assert_no_error (error);

  /* A host that is shutting down cancels before the hook runs: nothing is
   * synced and the run says it was cancelled. */
  g_cancellable_cancel (cancellable);
  results = run_hook_full (hook, paths, cancellable, &per_path, &error);
  g_assert_null (results);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);

  /* No path was looked at: no per-path result claims anything. */
  for (guint i = 0; i < per_path->len; i++)
    g_assert_cmpint (psf_syncfs_result_get_status (g_ptr_array_index (per_path, i)), !=,
                     PSF_SYNCFS_STATUS_SYNCED);
}

/* The plugin's settings reach the process it runs. These cases need the
 * fault shim of the tests (tests/faults/fault-shim.c) preloaded
 * (PSF_TEST_REQUIRE_FAULT_SHIM); the helper child inherits it with the
 * environment. */
static PsfHook *
create_syncfs_hook (Fixture *f)
{
  g_autoptr(GError) error = NULL;
  PsfHook *hook = psf_host_create_hook (f->engine, find_syncfs_plugin (f), &error);

  g_assert_no_error (error);
  return hook;
}

static void
test_timeout (Fixture       *f,
              gconstpointer  data)
{
  g_autoptr(PsfHook) hook = NULL;
  g_autoptr(GPtrArray) results = NULL;
  g_autoptr(GError) error = NULL;
  const char *paths[] = { f->tree, NULL };
  gint64 start;

  PSF_TEST_REQUIRE_FAULT_SHIM ();
  hook = create_syncfs_hook (f);

  /* A filesystem that takes 10 s to sync, a host that gives it 200 ms. */
  g_object_set (hook, "timeout", 200, NULL);
  g_setenv ("PSF_SHIM_SYNCFS_DELAY_MS", "10000", TRUE);
  start = g_get_monotonic_time ();
  results = run_hook (hook, paths, NULL, &error);
  g_unsetenv ("PSF_SHIM_SYNCFS_DELAY_MS");

  g_assert_null (results);
  g_assert_error (error, PSF_ERROR, PSF_ERROR_TIMED_OUT);
  g_assert_cmpint (g_get_monotonic_time () - start, <, 5 * G_USEC_PER_SEC);
}

static void
test_failed (Fixture       *f,
             gconstpointer  data)
{
  g_autoptr(PsfHook) hook = NULL;
  g_autoptr(GPtrArray) results = NULL;
  g_autoptr(GPtrArray) per_path = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *missing = g_build_filename (f->tree, "missing", NULL);
  const char *paths[] = { f->tree, missing, NULL };
  PsfSyncfsResult *result;

  PSF_TEST_REQUIRE_FAULT_SHIM ();
  hook = create_syncfs_hook (f);

  /* The host is told what failed: the path and the errno text. */
  g_setenv ("PSF_SHIM_SYNCFS_ERRNO", "EIO", TRUE);
  results = run_hook_full (hook, paths, NULL, &per_path, &error);
  g_unsetenv ("PSF_SHIM_SYNCFS_ERRNO");

  g_assert_null (results);
  g_assert_error (error, PSF_ERROR, PSF_ERROR_FAILED);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, f->tree));
  g_assert_nonnull (strstr (error->message, g_strerror (EIO)));

  /* And what happened to each path: the failed filesystem with its errno,
   * the missing path skipped. */
  g_assert_cmpuint (per_path->len, ==, 2);
  result = g_ptr_array_index (per_path, 0);
  g_assert_cmpstr (psf_syncfs_result_get_path (result), ==, f->tree);
  g_assert_cmpint (psf_syncfs_result_get_status (result), ==, PSF_SYNCFS_STATUS_FAILED);
  g_assert_cmpint (psf_syncfs_result_get_errno (result), ==, EIO);
  g_assert_cmpuint (psf_syncfs_result_get_device (result), !=, 0);
  result = g_ptr_array_index (per_path, 1);
  g_assert_cmpstr (psf_syncfs_result_get_path (result), ==, missing);
  g_assert_cmpint (psf_syncfs_result_get_status (result), ==, PSF_SYNCFS_STATUS_SKIPPED);
  g_assert_cmpint (psf_syncfs_result_get_errno (result), ==, ENOENT);

  /* They are the host's: they outlive the extension. */
  g_clear_object (&hook);
  g_assert_cmpint (psf_syncfs_result_get_status (g_ptr_array_index (per_path, 0)), ==,
                   PSF_SYNCFS_STATUS_FAILED);
}

static void
test_sync_fallback (Fixture       *f,
                    gconstpointer  data)
{
  g_autoptr(PsfHook) hook = NULL;
  g_autoptr(GPtrArray) results = NULL;
  g_autoptr(GError) error = NULL;
  const char *paths[] = { f->tree, NULL };

  PSF_TEST_REQUIRE_FAULT_SHIM ();
  hook = create_syncfs_hook (f);

  /* No syncfs() at all: a failure, unless the host allows sync(). */
  g_setenv ("PSF_SHIM_SYNCFS_ERRNO", "ENOSYS", TRUE);
  results = run_hook (hook, paths, NULL, &error);
  g_assert_null (results);
  g_assert_error (error, PSF_ERROR, PSF_ERROR_FAILED);
  g_clear_error (&error);

  g_object_set (hook, "sync-fallback", TRUE, NULL);
  results = run_hook (hook, paths, NULL, &error);
  g_unsetenv ("PSF_SHIM_SYNCFS_ERRNO");
  g_assert_no_error (error);
  g_assert_cmpuint (results->len, ==, 1);
}

static void
activate_cb (PeasExtensionSet *set,
             PeasPluginInfo   *info,
             GObject          *extension,
             gpointer          user_data)
{
  guint *n_activated = user_data;

  peas_activatable_activate (PEAS_ACTIVATABLE (extension));
  peas_activatable_update_state (PEAS_ACTIVATABLE (extension));
  (*n_activated)++;
}

static void
deactivate_cb (PeasExtensionSet *set,
               PeasPluginInfo   *info,
               GObject          *extension,
               gpointer          user_data)
{
  peas_activatable_deactivate (PEAS_ACTIVATABLE (extension));
}

/* A generic host knows only PeasActivatable: it activates every loaded
 * plugin with its own object. The plugin goes along and does nothing. */
static void
test_activatable (Fixture       *f,
                  gconstpointer  data)
{
  PeasPluginInfo *info = find_syncfs_plugin (f);
  g_autoptr(GObject) host_object = g_object_new (G_TYPE_OBJECT, NULL);
  g_autoptr(PeasExtensionSet) set = NULL;
  g_autoptr(GObject) object = NULL;
  PeasExtension *extension;
  guint n_activated = 0;

  g_assert_true (peas_engine_load_plugin (f->engine, info));
  set = peas_extension_set_new (f->engine, PEAS_TYPE_ACTIVATABLE,
                                "object", host_object, NULL);
  peas_extension_set_foreach (set, activate_cb, &n_activated);
  g_assert_cmpuint (n_activated, ==, 1);

  extension = peas_extension_set_get_extension (set, info);
  g_assert_true (PSF_IS_HOOK (extension));
  g_object_get (extension, "object", &object, NULL);
  g_assert_true (object == host_object);

  peas_extension_set_foreach (set, deactivate_cb, NULL);
}

/* Every psf plugin in the path, the way a host walks it: the good one is
 * loaded, the wrong ABI and the missing module are refused with a message
 * that names them, and libpeas's own warning about the module is expected,
 * not tolerated. */
static void
test_load_hooks (Fixture       *f,
                 gconstpointer  data)
{
  g_autofree char *wrong_abi = copy_fixture (f, "wrong-abi");
  g_autofree char *missing_module = copy_fixture (f, "missing-module");
  g_autoptr(GPtrArray) hooks = NULL;
  g_autoptr(GPtrArray) refusals = NULL;
  g_autoptr(GError) error = NULL;
  gboolean refused_abi = FALSE, refused_module = FALSE;

  psf_host_add_plugin_dir (f->engine, f->plugin_dir, &error);
  g_assert_no_error (error);
  psf_host_add_plugin_dir (f->engine, wrong_abi, &error);
  g_assert_no_error (error);
  psf_host_add_plugin_dir (f->engine, missing_module, &error);
  g_assert_no_error (error);

  expect_missing_module_warnings ();
  hooks = psf_host_load_hooks (f->engine, &refusals);
  g_test_assert_expected_messages ();

  g_assert_cmpuint (hooks->len, ==, 1);
  g_assert_true (PSF_IS_HOOK (g_ptr_array_index (hooks, 0)));
  g_assert_cmpuint (refusals->len, ==, 2);
  for (guint i = 0; i < refusals->len; i++)
    {
      const GError *refusal = g_ptr_array_index (refusals, i);

      g_test_message ("refused: %s", refusal->message);
      if (g_error_matches (refusal, PSF_HOST_ERROR, PSF_HOST_ERROR_ABI))
        {
          g_assert_nonnull (strstr (refusal->message, "psf-wrong-abi"));
          g_assert_nonnull (strstr (refusal->message, "ABI 1"));
          refused_abi = TRUE;
        }
      else
        {
          g_assert_error (refusal, PSF_HOST_ERROR, PSF_HOST_ERROR_LOAD);
          g_assert_nonnull (strstr (refusal->message, "libpsf-missing-module.so is missing"));
          refused_module = TRUE;
        }
    }
  g_assert_true (refused_abi);
  g_assert_true (refused_module);
  g_assert_false (peas_plugin_info_is_loaded (peas_engine_get_plugin_info (f->engine, "psf-wrong-abi")));
  g_assert_false (peas_plugin_info_is_loaded (peas_engine_get_plugin_info (f->engine, "psf-missing-module")));
}

static void
test_wrong_abi (Fixture       *f,
                gconstpointer  data)
{
  g_autofree char *wrong_abi = copy_fixture (f, "wrong-abi");
  g_autoptr(PsfHook) hook = NULL;
  g_autoptr(GError) error = NULL;
  PeasPluginInfo *info;

  psf_host_add_plugin_dir (f->engine, wrong_abi, &error);
  g_assert_no_error (error);
  info = peas_engine_get_plugin_info (f->engine, "psf-wrong-abi");
  g_assert_nonnull (info);

  hook = psf_host_create_hook (f->engine, info, &error);
  g_assert_null (hook);
  g_assert_error (error, PSF_HOST_ERROR, PSF_HOST_ERROR_ABI);
  g_assert_cmpstr (strstr (error->message, "is built for psf plugin ABI 1, this host speaks ABI 2"), !=, NULL);
  /* Refused before libpeas was asked to load anything. */
  g_assert_false (peas_plugin_info_is_loaded (info));
}

static void
test_missing_module (Fixture       *f,
                     gconstpointer  data)
{
  g_autofree char *missing_module = copy_fixture (f, "missing-module");
  g_autoptr(GError) error = NULL;
  PeasPluginInfo *info;

  psf_host_add_plugin_dir (f->engine, missing_module, &error);
  g_assert_no_error (error);
  info = peas_engine_get_plugin_info (f->engine, "psf-missing-module");
  g_assert_nonnull (info);
  g_assert_true (psf_host_check_abi (info, NULL));

  expect_missing_module_warnings ();
  g_assert_false (peas_engine_load_plugin (f->engine, info));
  g_test_assert_expected_messages ();

  g_assert_false (peas_plugin_info_is_loaded (info));
  g_assert_false (peas_plugin_info_is_available (info, &error));
  g_assert_error (error, PEAS_PLUGIN_INFO_ERROR, PEAS_PLUGIN_INFO_ERROR_LOADING_FAILED);
}

static void
test_missing_dir (Fixture       *f,
                  gconstpointer  data)
{
  g_autofree char *missing = g_build_filename (f->tree, "no-such-plugins", NULL);
  g_autoptr(GPtrArray) hooks = NULL;
  g_autoptr(GPtrArray) refusals = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_false (psf_host_add_plugin_dir (f->engine, missing, &error));
  g_assert_error (error, PSF_HOST_ERROR, PSF_HOST_ERROR_NO_PLUGIN_DIR);
  g_assert_nonnull (strstr (error->message, missing));

  /* libpeas itself takes such a folder without a word and finds nothing. */
  peas_engine_add_search_path (f->engine, missing, NULL);
  peas_engine_rescan_plugins (f->engine);
  hooks = psf_host_load_hooks (f->engine, &refusals);
  g_assert_cmpuint (hooks->len, ==, 0);
  g_assert_cmpuint (refusals->len, ==, 0);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, func) \
  g_test_add (path, Fixture, NULL, fixture_setup, func, fixture_teardown)

  ADD ("/psf/plugin-host/c/metadata", test_metadata);
  ADD ("/psf/plugin-host/c/load-and-run", test_load_and_run);
  ADD ("/psf/plugin-host/c/properties", test_properties);
  ADD ("/psf/plugin-host/c/cancelled", test_cancelled);
  ADD ("/psf/plugin-host/c/timeout", test_timeout);
  ADD ("/psf/plugin-host/c/failed", test_failed);
  ADD ("/psf/plugin-host/c/sync-fallback", test_sync_fallback);
  ADD ("/psf/plugin-host/c/activatable", test_activatable);
  ADD ("/psf/plugin-host/c/load-hooks", test_load_hooks);
  ADD ("/psf/plugin-host/c/wrong-abi", test_wrong_abi);
  ADD ("/psf/plugin-host/c/missing-module", test_missing_module);
  ADD ("/psf/plugin-host/c/missing-dir", test_missing_dir);

#undef ADD

  return g_test_run ();
}
