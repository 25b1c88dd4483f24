/* test-utils.h: shared helpers of the C suites
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <psf.h>

G_BEGIN_DECLS

/* Number of open fds of this process. */
guint       psf_test_count_fds          (void);

/* Number of zombie children of this process. */
guint       psf_test_count_zombies      (void);

/* Whether the test runs under valgrind (PSF_UNDER_VALGRIND, set by the
 * valgrind test setup): slow, so some cases do less. */
gboolean    psf_test_under_valgrind     (void);

/* Dispatches what is ready in the default main context, without
 * blocking, until nothing is. */
void        psf_test_drain_context      (void);

/* The device of the filesystem that holds @path, which must exist. */
guint64     psf_test_device_of          (const char *path);

/* A new PsfSyncfsProcess over @paths that will start with @method. */
PsfSyncfsProcess *psf_test_syncfs_new   (PsfStartMethod      method,
                                         const char * const *paths);

/* The @i-th result of @proc, which must have one (owned by @proc). */
PsfSyncfsResult *psf_test_result_at     (PsfSyncfsProcess *proc,
                                         guint             i);

/* Iterates the thread-default context until @task has exited, failing the
 * test after @timeout_ms. */
void        psf_test_run_until_exited   (PsfTask *task,
                                         guint    timeout_ms);

/* Iterates the default context until *@flag is TRUE, or fails after
 * @timeout_ms. */
void        psf_test_run_until          (gboolean *flag,
                                         guint     timeout_ms);

/* Starts @task (which must succeed) and iterates the thread-default
 * context until it has exited, failing the test after @timeout_ms;
 * returns its returncode. */
int         psf_test_start_and_wait     (PsfTask *task,
                                         guint    timeout_ms);

/* The psf-test-prog helper built beside the tests. */
const char *psf_test_prog_path          (void);

/* A process running psf-test-prog with @mode and @arg. */
PsfSpawnProcess *psf_test_prog_new      (const char *mode,
                                         const char *arg);

/* What a psf_task_wait_check_async() call gave: psf_test_wait_check_cb()
 * fills it in (the error is the caller's to free). */
typedef struct
{
  GError  *error;
  gboolean ok;
  gboolean done;
} PsfTestCheck;

void        psf_test_wait_check_cb      (GObject      *object,
                                         GAsyncResult *result,
                                         gpointer      user_data);

/* Asserts that @expr, a call that sets @error on failure, succeeded:
 * "no error" first, so that a failure shows the error's message rather
 * than only "should be TRUE". */
#define psf_test_assert_ok(expr, error)                                 \
  G_STMT_START {                                                        \
    gboolean psf_test_ok_ = (expr);                                     \
    g_assert_no_error (error);                                          \
    if (!psf_test_ok_)                                                  \
      g_assertion_message (G_LOG_DOMAIN, __FILE__, __LINE__, G_STRFUNC, \
                           "'" #expr "' should be TRUE");               \
  } G_STMT_END

/* Starts @task and asserts that it started, showing start()'s error if it
 * did not. */
#define psf_test_assert_started(task)                                   \
  G_STMT_START {                                                        \
    GError *psf_test_start_error_ = NULL;                               \
    psf_test_assert_ok (psf_task_start ((task), &psf_test_start_error_), \
                        psf_test_start_error_);                         \
  } G_STMT_END

/* Starts @task (which must succeed), waits with wait_check_async() and
 * iterates the thread-default context until it completes (30 s at most). */
void        psf_test_run_checked        (PsfTask      *task,
                                         PsfTestCheck *check);

/* The tests' fault shim (tests/faults/fault-shim.c, preloaded as
 * libpsf-fault-shim.so), driven from the test process: its control
 * functions are looked up once, with dlsym(RTLD_DEFAULT). */

/* Whether the fault shim is preloaded into this process. */
gboolean    psf_test_fault_shim_loaded  (void);

/* Skips the current test, and returns from it, when the fault shim is
 * not preloaded. */
#define PSF_TEST_REQUIRE_FAULT_SHIM()                           \
  G_STMT_START {                                                \
    if (!psf_test_fault_shim_loaded ())                         \
      {                                                         \
        g_test_skip ("the fault shim is not preloaded");        \
        return;                                                 \
      }                                                         \
  } G_STMT_END

/* Gives @proc's child the fault-shim rules @spec through PSF_FAULT in its
 * environment. A FORKSERVER task also gets a umask, a set-up option: the
 * server then forks the child, which reads the rules from its
 * environment, instead of cloning it, which shares the server's memory
 * and cannot. A FORK child needs nothing: it is a copy of this process. */
void        psf_test_give_fault_rules   (PsfSpawnProcess *proc,
                                         const char      *spec);

/* Replaces the fault rules of this process (host rules, and child rules
 * for a FORK child, which inherits them) with @spec, asserting that the
 * shim took them, and gives them to @proc's child if @proc is not %NULL.
 * The shim must be preloaded (see PSF_TEST_REQUIRE_FAULT_SHIM()). */
void        psf_test_arm_faults         (PsfSpawnProcess *proc,
                                         const char      *spec);

/* Removes the fault rules of this process, if the shim is preloaded, and
 * gives @proc (if not %NULL) back its default environment. */
void        psf_test_disarm_faults      (PsfSpawnProcess *proc);

/* How many faults the shim injected in this process since its rules were
 * last set. The shim must be preloaded. */
guint       psf_test_fault_hits         (void);

/* Tasks started together, counted down by psf_test_crowd_exited_cb()
 * (the "exited" handler, with the crowd as data). */
typedef struct
{
  guint pending;
  guint succeeded;
} PsfTestCrowd;

void        psf_test_crowd_exited_cb    (PsfTask  *task,
                                         int       returncode,
                                         gpointer  data);

/* A fork process whose routine is the tests' "describe" (tests/
 * psf-child-describe.c: the child reports what it is as key=value lines),
 * in every start method: SPAWN and FORKSERVER need $PSF_CHILD_PATH to be
 * the tests' helper psf-child-test. */
#define PSF_TEST_TYPE_DESCRIBE (psf_test_describe_get_type ())
G_DECLARE_FINAL_TYPE (PsfTestDescribe, psf_test_describe, PSF_TEST, DESCRIBE, PsfForkProcess)

/* The key=value lines of a describe report (@text) as a table. */
GHashTable *psf_test_describe_parse     (const char *text);

/* A close-on-exec pipe whose ends are numbered 10 and up: a source fd
 * given to take_fd() stays clear of the fds the start methods use
 * themselves. */
void        psf_test_pipe_high          (int fds[2]);

/* Waits until @fd is readable or hung up; FALSE after @timeout_ms. */
gboolean    psf_test_wait_fd            (int fd,
                                         int timeout_ms);

/* This process's children named @comm (as /proc/PID/stat says) that are
 * not zombies: an array of GPid. */
GArray     *psf_test_children_named     (const char *comm);

/* The pid of this process's forkserver, or 0 when none runs (a replaced
 * one still on its way out is waited for, up to 5 s). */
GPid        psf_test_forkserver_pid     (void);

/* Where the cgroup v2 hierarchy is mounted, from /proc/self/mountinfo
 * (it may be /sys/fs/cgroup/unified on a hybrid hierarchy), or %NULL. */
char       *psf_test_find_cgroup2_mount (void);

/* A thread that holds @context (g_main_context_acquire()), as a host's
 * main loop thread would: psf_test_context_owner_start() returns once it
 * does, psf_test_context_owner_stop() makes it let go, joins it and frees
 * the owner. */
typedef struct _PsfTestContextOwner PsfTestContextOwner;

PsfTestContextOwner *psf_test_context_owner_start (GMainContext        *context);
void                 psf_test_context_owner_stop  (PsfTestContextOwner *owner);

/* The single-letter state of /proc/@pid/stat, or 0 if it is gone. */
char        psf_test_proc_state         (GPid pid);

/* The parent of @pid (/proc/@pid/stat), or 0 if it is gone. */
GPid        psf_test_proc_parent        (GPid pid);

/* The helper (PSF_CHILD_PATH), at a path any user can execute: the build
 * tree's when every directory above it lets others through, else a copy
 * in a world-readable temporary directory (a checkout under a mode-0700
 * directory, as mktemp -d and private homes make, is out of reach of a
 * child that runs as nobody). The copy goes at exit. */
const char *psf_test_helper_for_anyone  (void);

/* Whether / is a mount point here (not a chroot into a plain directory):
 * making the mounts of a new namespace private needs one. */
gboolean    psf_test_root_is_mount_point (void);

G_END_DECLS
