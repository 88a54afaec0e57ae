"""Runs moto's Secrets Manager emulator on loopback for the tests, the demo and the benchmark.

Three changes to moto 5.2, all to make it behave as Secrets Manager does:
- The "default version" is derived from the AWSCURRENT label. moto keeps its own pointer, which
  goes stale after UpdateSecretVersionStage or RotateSecret, so the next PutSecretValue could leave
  two versions labelled AWSCURRENT.
- RotateSecret with a RotationLambdaARN creates the AWSPENDING version (without a value) and
  enables rotation, as Secrets Manager does, but does not invoke the function: moto's Lambda needs
  Docker, and the tests invoke our handler with each rotation step themselves.
- Requests are handled one at a time. moto's server is threaded but its version bookkeeping is not
  atomic: two concurrent PutSecretValue calls could both demote the same AWSCURRENT version and
  leave two versions labelled AWSCURRENT, which Secrets Manager never does.

Usage: python tools/moto_server.py PORT [PARENT_PID]
With PARENT_PID the server exits when that process does, so a crashed test run leaves nothing behind.
"""

import os
import sys
import threading
import time

from moto.secretsmanager import models


def _current_version_id(secret):
    for version_id, version in secret.versions.items():
        if "AWSCURRENT" in version["version_stages"]:
            return version_id
    return None


models.FakeSecret.default_version_id = property(_current_version_id, lambda secret, value: None)


class _RotationFunctionNotInvoked:
    def get_function(self, *args, **kwargs):
        return None

    def invoke(self, *args, **kwargs):
        return None


import moto.awslambda.utils as lambda_utils  # noqa: E402

lambda_utils.get_backend = lambda *args, **kwargs: _RotationFunctionNotInvoked()

from moto.moto_server.werkzeug_app import DomainDispatcherApplication  # noqa: E402

_one_at_a_time = threading.Lock()
_dispatch = DomainDispatcherApplication.__call__


def _serialised_dispatch(self, environ, start_response):
    with _one_at_a_time:
        return _dispatch(self, environ, start_response)


DomainDispatcherApplication.__call__ = _serialised_dispatch


def _exit_with(parent_pid):
    while True:
        try:
            os.kill(parent_pid, 0)
        except OSError:
            os._exit(0)
        time.sleep(0.5)


def main():
    port = sys.argv[1]
    if len(sys.argv) > 2:
        threading.Thread(target=_exit_with, args=(int(sys.argv[2]),), daemon=True).start()
    from moto.server import main as moto_main

    moto_main(["-H", "127.0.0.1", "-p", port])


if __name__ == "__main__":
    main()
