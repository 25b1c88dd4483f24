/* psf-forkserver-protocol.h: what the host and the forkserver say
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Plain C, shared by the host side (psf-forkserver.c, GLib) and the server
 * (psf-forkserver-server.c, libc only, inside the helper psf-child).
 *
 * The control channel is a SOCK_SEQPACKET socket pair: the host keeps one
 * end, the server finds the other on fd PSF_FORKSERVER_SOCKET_FD. Each
 * message is one request: a PsfForkserverRequest, its payload (unless the
 * payload is in a memfd) and its fds as SCM_RIGHTS. The server never
 * writes on it; the host closing it is the server's cue to finish.
 *
 * Every request brings its own status pipe (the first fd). On it comes
 * STARTED with the pid, or REFUSED with an errno. Then either:
 *  - STARTED says PSF_FORKSERVER_YOURS: the child was made with
 *    CLONE_PARENT and is the host's own child, which the host reaps. The
 *    child writes STARTED itself, once its fds and cwd are set up; when
 *    that failed, it writes the PsfSetupError of psf-child-setup.c first,
 *    then STARTED, and exits; the pipe says nothing more;
 *  - or the child is the server's (a fork, for set-up options): it writes
 *    STARTED itself, first, before its set-up, then SETUP_DONE once set up
 *    (fds, cwd, set-up options), or the PsfSetupError of what failed; once
 *    it exited the server writes EXITED with its wait status.
 *    The server keeps it a zombie until the host closes the read end of
 *    the status pipe, which the host does once it has recorded the exit:
 *    so the pid cannot be reused while the host may still signal it, and
 *    kill() and pidfd_open() on it in the host are as safe as on the host's
 *    own children.
 * Each record is written whole by one write() smaller than PIPE_BUF, so
 * records never interleave.
 */

#pragma once

#include <stdint.h>

/* argv[1] of psf-child in server mode; argv[2] is the host's pid. */
#define PSF_FORKSERVER_ARG       "--forkserver"
#define PSF_FORKSERVER_SOCKET_FD 3

#define PSF_FORKSERVER_REQUEST_MAGIC 0x51667370u /* "psfQ" */

/* Payloads up to this size travel inside the message, larger ones in a
 * memfd (a SOCK_SEQPACKET message must fit the socket buffer). */
#define PSF_FORKSERVER_MAX_INLINE (48u * 1024u)

/* fds in one request: below SCM_MAX_FD (253). */
#define PSF_FORKSERVER_MAX_FDS 240

/* Request flags: which optional fds follow the status and report fds, in
 * this order, before the fd-map sources. */
#define PSF_FORKSERVER_PAYLOAD_FD (1u << 0) /* the payload is in a memfd */
#define PSF_FORKSERVER_CWD_FD     (1u << 1) /* the host's cwd (O_PATH) */
#define PSF_FORKSERVER_OUTPUT_FD  (1u << 2) /* becomes stdout and stderr */
/* Set-up, then report SETUP_DONE or a PsfSetupError on the status pipe.
 * The set-up is a PsfChildSetupRecord (psf-child-setup-private.h) in the
 * payload, as the helper of SPAWN gets it too. */
#define PSF_FORKSERVER_SETUP      (1u << 3)

#define PSF_FORKSERVER_NO_STRING UINT32_MAX

/* Offsets count from the start of the payload. Strings are NUL-terminated;
 * the environment is n_env strings back to back. */
typedef struct
{
  uint32_t magic;
  uint32_t flags;
  uint32_t n_fds;          /* fds in SCM_RIGHTS */
  uint32_t n_maps;         /* fd-map sources, the last n_maps fds */
  uint32_t payload_len;
  uint32_t targets_off;    /* int32_t[n_maps]: where each source goes */
  uint32_t routine_off;    /* the routine's name */
  uint32_t cwd_off;        /* chdir() there after the host's cwd, or NO_STRING */
  uint32_t env_off;
  uint32_t n_env;
  uint32_t input_off;
  uint32_t input_len;
  uint32_t setup_off;      /* with PSF_FORKSERVER_SETUP: the set-up record, */
  uint32_t setup_len;      /* 8-byte aligned */
  int32_t  host_cpu;       /* where the sender ran (sched_getcpu()), or -1 */
} PsfForkserverRequest;

/* Status records. */
#define PSF_FORKSERVER_STARTED    0x73667370u /* "psfs" value: 0 or YOURS */
#define PSF_FORKSERVER_REFUSED    0x72667370u /* "psfr" value: errno, pid 0 */
#define PSF_FORKSERVER_SETUP_DONE 0x6f667370u /* "psfo" written by the child */
#define PSF_FORKSERVER_EXITED     0x78667370u /* "psfx" value: wait status */
/* Written by a forked child right before its _exit(): the exit status it
 * leaves with. The host keeps it for the case where the server goes before
 * it relays EXITED (stopped, then replaced): a child that did its work and
 * exited is not reported killed. */
#define PSF_FORKSERVER_EXITING    0x6c667370u /* "psfl" value: exit status */

/* STARTED's value for a child of the host's own (CLONE_PARENT). */
#define PSF_FORKSERVER_YOURS 1

typedef struct
{
  uint32_t magic;
  int32_t  pid;
  int32_t  value;
  uint32_t reserved;
} PsfForkserverStatus;

/* The server's entry point, called by psf-child's main(). */
int psf_forkserver_server_main (int   argc,
                                char *argv[]);
