/* psf-syncfs-cli.h: the entry point of the full psf-syncfs command
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The command is two pieces. The program psf-syncfs (psf-syncfs-front.c)
 * is linked with libc only and serves the one-shot runs it can serve whole
 * (see there); every other run is served by the full command
 * (psf-syncfs.c, on libpsf-1 and GLib), a loadable module that the program
 * opens with dlopen() and whose only export is this function.
 */

#pragma once

/* The module's file name, installed in $libdir/psf-1 and built beside the
 * program in the build tree. */
#define PSF_SYNCFS_CLI_MODULE_NAME "psf-syncfs-cli.so"

/* The name dlsym() looks up. */
#define PSF_SYNCFS_CLI_ENTRY "psf_syncfs_cli_main"

typedef int (*PsfSyncfsCliMain) (int   argc,
                                 char *argv[]);

/* Runs the whole command on @argv, as main() would, and returns its exit
 * status. Called once per process. */
__attribute__ ((visibility ("default")))
int psf_syncfs_cli_main (int   argc,
                         char *argv[]);
