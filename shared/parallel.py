"""Data-parallel training on JAX through Keras' distribution API, across processes or devices.

One command per process (per host), each with the same flags plus its own process id::

    python -m apps.image_classify.finetune --data DIR --num-processes 2 --process-id 0 \\
        --coordinator host0:12345

or the same through ``KERAS_DISTRIBUTION_JOB_ADDRESSES`` (the coordinator's ``host:port``, or
every process' address, comma-separated, the coordinator first),
``KERAS_DISTRIBUTION_NUM_PROCESSES`` and ``KERAS_DISTRIBUTION_PROCESS_ID``. The processes
join through ``keras.distribution.initialize`` (``jax.distributed``), and training runs under
``keras.distribution.DataParallel`` over every device of every process: each global batch is
split between the processes (and their devices), the gradients are averaged across all of
them, and every process holds the same weights. One process with several devices (GPUs, or
CPU devices from ``XLA_FLAGS=--xla_force_host_platform_device_count=N``) takes the same path.
Only process 0 writes the run; the others train into a scratch folder that is removed after.
"""

import os

ENVIRONMENT = (
    "KERAS_DISTRIBUTION_JOB_ADDRESSES",
    "KERAS_DISTRIBUTION_NUM_PROCESSES",
    "KERAS_DISTRIBUTION_PROCESS_ID",
)


def add_flags(parser):
    """``--num-processes``, ``--process-id`` and ``--coordinator`` on an argparse parser."""
    group = parser.add_argument_group(
        "data-parallel training (JAX backend; or the KERAS_DISTRIBUTION_* variables)"
    )
    group.add_argument("--num-processes", type=int, default=None, help="processes in the job")
    group.add_argument("--process-id", type=int, default=None, help="this process, 0 first")
    group.add_argument(
        "--coordinator", default=None, help="host:port of process 0, the same for every process"
    )


def requested(args=None):
    """Whether flags or the environment ask for a job of several processes."""
    count = getattr(args, "num_processes", None) or os.environ.get(ENVIRONMENT[1])
    return count is not None and int(count) > 1


def start(args=None):
    """Join the job the flags (else the environment) describe and train data-parallel;
    on one process, data-parallel over its devices when it has several (JAX only).

    Raises:
        ValueError: a job of several processes on another backend than JAX, or incomplete
            flags.
    """
    import keras

    if requested(args):
        if keras.backend.backend() != "jax":
            raise ValueError(
                "data-parallel training across processes needs KERAS_BACKEND=jax "
                f"(the backend is {keras.backend.backend()})"
            )
        coordinator = getattr(args, "coordinator", None) or os.environ.get(ENVIRONMENT[0])
        process_id = getattr(args, "process_id", None)
        if process_id is None and os.environ.get(ENVIRONMENT[2]) is not None:
            process_id = int(os.environ[ENVIRONMENT[2]])
        if coordinator is None or process_id is None:
            raise ValueError(
                "a job of several processes needs --coordinator HOST:PORT and --process-id "
                "(or KERAS_DISTRIBUTION_JOB_ADDRESSES and KERAS_DISTRIBUTION_PROCESS_ID)"
            )
        count = getattr(args, "num_processes", None) or int(os.environ[ENVIRONMENT[1]])
        if not 0 <= process_id < count:
            raise ValueError(f"--process-id must be in [0, {count}), received {process_id}")
        import jax

        jax.config.update("jax_cpu_collectives_implementation", "gloo")
        keras.distribution.initialize(coordinator, count, process_id)
    elif keras.backend.backend() != "jax" or len(keras.distribution.list_devices()) < 2:
        return None
    distribution = keras.distribution.DataParallel(auto_shard_dataset=False)
    keras.distribution.set_distribution(distribution)
    return distribution


def process_index():
    """This process' index in the job (0 without one)."""
    import keras

    if keras.distribution.distribution() is None:
        return 0
    import jax

    return jax.process_index()


def describe():
    """One line for logs and run metadata (empty without a distribution)."""
    import keras

    if keras.distribution.distribution() is None:
        return ""
    import jax

    return f"data-parallel: {jax.process_count()} process(es), {jax.device_count()} device(s)"
