"""Run a command in one or several worker processes joined over loopback (JAX's distribution
API, ``shared.parallel``), as a person would on several hosts."""

import json
import os
import re
import socket
import subprocess
import time

STEPS = re.compile(r"(\d+) training steps per epoch")


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def launch(argv, *, processes=1, devices=1, timeout_s=400):
    """Run ``argv`` in ``processes`` processes (``devices`` CPU devices each); asserts each
    exits 0. Returns ``([output of each process], seconds)``."""
    env = dict(os.environ, KERAS_BACKEND="jax", TF_CPP_MIN_LOG_LEVEL="3")
    if devices > 1:
        env["XLA_FLAGS"] = f"--xla_force_host_platform_device_count={devices}"
    if processes > 1:
        env |= {
            "KERAS_DISTRIBUTION_JOB_ADDRESSES": f"127.0.0.1:{free_port()}",
            "KERAS_DISTRIBUTION_NUM_PROCESSES": str(processes),
        }
    started = time.monotonic()
    workers = [
        subprocess.Popen(
            argv,
            env=env | ({"KERAS_DISTRIBUTION_PROCESS_ID": str(index)} if processes > 1 else {}),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for index in range(processes)
    ]
    logs = []
    try:
        for worker in workers:
            output, _ = worker.communicate(timeout=timeout_s)
            logs.append((worker.returncode, output))
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
    seconds = time.monotonic() - started
    for code, output in logs:
        assert code == 0, output[-3000:]
    return [output for _, output in logs], seconds


def steps_per_epoch(output):
    """The training steps per epoch a fine-tune logged (the same in every phase)."""
    (steps,) = set(STEPS.findall(output))
    return int(steps)


def figures(name, outputs, seconds, run, metric="accuracy"):
    """The figures of one launch (printed as a JSON line for the record): its time, the run's
    ``metric`` and each process' training steps per epoch."""
    result = {
        "setup": name,
        "seconds": round(seconds, 1),
        metric: run.metrics[metric],
        "steps_per_epoch_per_process": [steps_per_epoch(output) for output in outputs],
    }
    print(json.dumps(result))
    return result
