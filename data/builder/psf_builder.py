# psf_builder.py: a GNOME Builder 43 stage that makes installed files durable
#
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Builder loads this module through libpeas's python3 loader (see
# psf-builder.plugin). For every build pipeline it attaches one stage at
# INSTALL|AFTER, so it runs after the build system's own install step. The
# stage:
#
#   1. reads the per-configuration switch PSF_BUILDER_SYNC from the build
#      configuration's environment (unset, 1/true/yes/on: on; 0/false/no/off:
#      off; anything else fails the stage with a message that says so);
#   2. collects the paths to make durable: the configuration's install prefix
#      and, for a meson project, the folder of every file listed in the build
#      folder's meson-logs/install-log.txt (files installed outside the prefix
#      or on another filesystem below it are covered too), each mapped from
#      the build runtime to the host by the runtime (Ide.Runtime.translate_file);
#   3. runs one Psf.SyncfsProcess over them (one syncfs(2) per filesystem, in
#      a child process: Builder's main loop never waits on the disk);
#   4. writes one line per filesystem into the build log (synced, or failed
#      with the errno text) and one per path that could not be looked at;
#   5. fails the stage when a filesystem could not be synced, with one
#      "syncfs(PATH): ERRNO TEXT (filesystem MAJOR:MINOR at MOUNT POINT)" per
#      such filesystem, in psf's error domain; any other failure of the psf
#      task (the child could not start, or died) fails it with psf's message.
#
# Cancelling the build (Builder's stop button) cancels the psf task: the
# child gets SIGTERM, then SIGKILL after the task's cancel-timeout, and the
# stage completes with G_IO_ERROR_CANCELLED once the child is reaped, so no
# child outlives the stage.
#
# Everything here runs on Builder's main thread; nothing blocks on a
# filesystem: the install log is in the build folder and /proc/self/mountinfo
# is procfs, and every path the user's project names is only touched by the
# psf child.

import os
import re

import gi

gi.require_version('Ide', '43')
gi.require_version('Psf', '1')

from gi.repository import GLib, Gio, Ide, Psf  # noqa: E402

SETTING = 'PSF_BUILDER_SYNC'
SETTING_ON = ('', '1', 'true', 'yes', 'on')
SETTING_OFF = ('0', 'false', 'no', 'off')

LOG_PREFIX = 'psf: '

_OCTAL_ESCAPE = re.compile(r'\\([0-7]{3})')


def _setting_enabled(config):
    """Returns True or False for the configuration's PSF_BUILDER_SYNC, or
    raises GLib.Error when its value is not one this plugin knows."""
    value = config.getenv(SETTING) if config is not None else None
    if value is None:
        return True
    word = value.strip().lower()
    if word in SETTING_ON:
        return True
    if word in SETTING_OFF:
        return False
    raise GLib.Error.new_literal(
        Gio.io_error_quark(),
        '%s=%s in the build configuration: expected 1, true, yes, on, 0, '
        'false, no or off' % (SETTING, value),
        Gio.IOErrorEnum.INVALID_ARGUMENT)


def _installed_folders(builddir):
    """The folders of the files the last `meson install` of builddir wrote,
    in the order of the log, each once. Empty for other build systems."""
    if not builddir:
        return []
    log = os.path.join(builddir, 'meson-logs', 'install-log.txt')
    try:
        with open(log, encoding='utf-8', errors='surrogateescape') as f:
            lines = f.read().splitlines()
    except OSError:
        return []
    folders = []
    seen = set()
    for line in lines:
        if not line.startswith('/'):
            continue  # the header comment, or a line meson may add later
        folder = os.path.dirname(line)
        if folder not in seen:
            seen.add(folder)
            folders.append(folder)
    return folders


def _host_path(pipeline, path):
    """The path as Builder's own process sees it: the build runtime (a
    container, a Flatpak SDK) may install to a path of its own, which the
    runtime maps to the host. The identity for the host runtime."""
    runtime = pipeline.get_runtime()
    if runtime is None:
        return path
    translated = runtime.translate_file(Gio.File.new_for_path(path))
    host = translated.get_path() if translated is not None else None
    return host or path


def _mount_points():
    """Maps st_dev numbers to the mount points /proc/self/mountinfo lists
    for them (several for bind mounts)."""
    points = {}
    try:
        with open('/proc/self/mountinfo', encoding='utf-8', errors='surrogateescape') as f:
            for line in f:
                fields = line.split(' ')
                if len(fields) < 5:
                    continue
                major, _, minor = fields[2].partition(':')
                try:
                    dev = os.makedev(int(major), int(minor))
                except ValueError:
                    continue
                # Spaces, tabs, newlines and backslashes are octal escapes.
                point = _OCTAL_ESCAPE.sub(lambda m: chr(int(m.group(1), 8)), fields[4])
                points.setdefault(dev, []).append(point)
    except OSError:
        pass
    return points


def _describe_filesystem(device, path, points):
    """'filesystem 8:1 at /home' (the mount point that holds path best), or
    'filesystem 8:1' when the mount table does not list the device."""
    name = 'filesystem %d:%d' % (os.major(device), os.minor(device))
    best = None
    for point in points.get(device, ()):
        inside = path == point or path.startswith(point.rstrip('/') + '/')
        if inside and (best is None or len(point) > len(best)):
            best = point
    if best is None and points.get(device):
        best = points[device][0]
    return name + (' at ' + best if best else '')


class _Filesystem:
    """The paths of one filesystem in a psf report, and how its sync went."""

    def __init__(self, device):
        self.device = device
        self.paths = []
        self.synced = False
        self.errno = 0

    def failed(self):
        return not self.synced and self.errno != 0


def _group_by_filesystem(results):
    """Splits psf's per-path results into filesystems (in the order of their
    first path) and the (path, errno) pairs of the paths that could not be
    looked at. A path the child never reported on (it was stopped first)
    has no errno and is left out of both."""
    filesystems = {}
    skipped = []
    for item in results:
        status = item.get_status()
        if status == Psf.SyncfsStatus.SKIPPED:
            if item.get_errno() != 0:
                skipped.append((item.get_path(), item.get_errno()))
            continue
        fs = filesystems.get(item.get_device())
        if fs is None:
            fs = filesystems[item.get_device()] = _Filesystem(item.get_device())
        fs.paths.append(item.get_path())
        if status == Psf.SyncfsStatus.SYNCED:
            fs.synced = True
        elif status == Psf.SyncfsStatus.FAILED and fs.errno == 0:
            fs.errno = item.get_errno()
    return list(filesystems.values()), skipped


class PsfSyncStage(Ide.PipelineStage):
    """Syncs the filesystems of the installed files, after INSTALL."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        # Builder marks a stage completed after a successful run and skips
        # it from then on; the install step before this one runs on every
        # request for INSTALL, and so must the sync.
        self.connect('query', self._on_query)

    def _on_query(self, stage, pipeline, targets, cancellable):
        self.set_completed(False)

    def _log(self, stream, text):
        self.log(stream, LOG_PREFIX + text, -1)

    def do_build_async(self, pipeline, cancellable, callback, data=None):
        # Without a user_data argument: the callback is Builder's own, and
        # with one added here the pipeline never completes.
        task = Gio.Task.new(self, cancellable, callback)

        config = pipeline.get_config()
        try:
            if not _setting_enabled(config):
                self._log(Ide.BuildLogStream.STDOUT,
                          'syncing the installed files is off for this '
                          'configuration (%s=%s)' % (SETTING, config.getenv(SETTING)))
                task.return_boolean(True)
                return
        except GLib.Error as error:
            self._log(Ide.BuildLogStream.STDERR, error.message)
            task.return_error(error)
            return

        prefix = config.get_prefix() if config is not None else None
        paths = []
        for path in ([prefix] if prefix else []) + _installed_folders(pipeline.get_builddir()):
            path = _host_path(pipeline, path)
            if path not in paths:
                paths.append(path)
        if prefix:
            prefix = _host_path(pipeline, prefix)
        if not paths:
            self._log(Ide.BuildLogStream.STDOUT,
                      'nothing to sync: the configuration has no install prefix')
            task.return_boolean(True)
            return

        if cancellable is not None and cancellable.is_cancelled():
            task.return_error(GLib.Error.new_literal(
                Gio.io_error_quark(), 'The build was cancelled', Gio.IOErrorEnum.CANCELLED))
            return

        process = Psf.SyncfsProcess(paths=paths)
        # Cancelling the build cancels the psf task (SIGTERM, then SIGKILL).
        if cancellable is not None:
            process.set_cancellable(cancellable)
        started = GLib.get_monotonic_time()
        try:
            process.start()
        except GLib.Error as error:
            self._log(Ide.BuildLogStream.STDERR, 'could not start the sync: ' + error.message)
            task.return_error(error)
            return

        self._log(Ide.BuildLogStream.STDOUT,
                  'syncing the filesystems of %d path%s under %s (child pid %d)'
                  % (len(paths), '' if len(paths) == 1 else 's', prefix or paths[0],
                     process.get_pid()))
        process.wait_check_async(None, self._on_synced, task, cancellable, started)

    def _on_synced(self, process, result, task, cancellable, started):
        error = None
        try:
            process.wait_check_finish(result)
        except GLib.Error as e:
            error = e
        elapsed_ms = (GLib.get_monotonic_time() - started) / 1000.0

        if error is not None and cancellable is not None and cancellable.is_cancelled():
            # The child was stopped: its results are not a report on the disk.
            self._log(Ide.BuildLogStream.STDERR,
                      'cancelled: the sync child (pid %d) ended with %d'
                      % (process.get_pid(), process.get_returncode()))
            task.return_error(GLib.Error.new_literal(
                Gio.io_error_quark(), 'The build was cancelled', Gio.IOErrorEnum.CANCELLED))
            return

        filesystems, skipped = _group_by_filesystem(process.get_results())
        points = _mount_points()
        failures = []
        for fs in filesystems:
            where = _describe_filesystem(fs.device, fs.paths[0], points)
            paths = fs.paths[0]
            if len(fs.paths) > 1:
                paths += ' and %d more path%s' % (len(fs.paths) - 1, '' if len(fs.paths) == 2 else 's')
            if fs.failed():
                reason = os.strerror(fs.errno)
                self._log(Ide.BuildLogStream.STDERR,
                          'failed to sync %s (%s): %s' % (where, paths, reason))
                failures.append('syncfs(%s): %s (%s)' % (fs.paths[0], reason, where))
            else:
                self._log(Ide.BuildLogStream.STDOUT, 'synced %s (%s)' % (where, paths))
        for path, errno in skipped:
            self._log(Ide.BuildLogStream.STDERR, 'skipped %s: %s' % (path, os.strerror(errno)))

        if error is None:
            self._log(Ide.BuildLogStream.STDOUT, '%d filesystem%s synced in %.1f ms' % (
                len(filesystems), '' if len(filesystems) == 1 else 's', elapsed_ms))
            task.return_boolean(True)
            return
        if failures:
            # One entry per filesystem; psf's own message counts paths.
            error = GLib.Error.new_literal(Psf.Error.quark(), '; '.join(failures),
                                           Psf.Error.FAILED)
        self._log(Ide.BuildLogStream.STDERR, error.message)
        task.return_error(error)

    def do_build_finish(self, result):
        return result.propagate_boolean()


class PsfBuilderPipelineAddin(Ide.Object, Ide.PipelineAddin):
    """Attaches the sync stage to every build pipeline."""

    def do_load(self, pipeline):
        stage = PsfSyncStage(name='Make the installed files durable')
        stage_id = pipeline.attach(Ide.PipelinePhase.INSTALL | Ide.PipelinePhase.AFTER, 0, stage)
        # Tracked stages are detached by Builder when the addin unloads.
        self.track(stage_id)
