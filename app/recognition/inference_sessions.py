"""ONNX Runtime sessions that use the cores idle at each run.

One client wants every core on its image (latency); as many clients as workers
want one core each (throughput). A fixed choice loses one of them: measured on
2 cores, two workers with 2-thread sessions each ran 20% slower than with
1-thread sessions (4 threads on 2 cores), while one worker alone ran 1.8 times
faster with 2 threads than with 1. So each model has a session per thread
count, and every run (a detection strip, a batch of lines: 0.1 to 0.5 s) takes
the widest one the idle cores allow, counted from the kernel's runnable tasks.
"""

import onnxruntime

from app.config import granted_cores

# The 4th field of /proc/loadavg is "runnable/total" scheduling entities, now.
_LOADAVG = "/proc/loadavg"


def session_options(threads):
    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    # Memory arena and pattern off: the arena keeps the largest shapes ever seen
    # (a worker grew 300 MB -> 1.26 GB over 34 receipts); app/recognition/allocator.py gets
    # the arena's speed back from malloc.
    options.enable_cpu_mem_arena = False
    options.enable_mem_pattern = False
    # Idle pool threads sleep instead of spinning, so another worker's run gets
    # the core (two 2-thread workers: 6.6 s spinning, 5.5 s sleeping).
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return options


class AdaptiveSession:
    """Stands in for ``onnxruntime.InferenceSession``: ``run`` picks the thread count."""

    def __init__(self, model_path, max_threads, cores=None):
        self._cores = cores or granted_cores()
        counts = sorted({1, max(1, max_threads)})
        self._sessions = {
            count: onnxruntime.InferenceSession(
                str(model_path), session_options(count), providers=["CPUExecutionProvider"]
            )
            for count in counts
        }
        self.model_path = model_path

    def get_inputs(self):
        return self._sessions[1].get_inputs()

    def get_outputs(self):
        return self._sessions[1].get_outputs()

    def threads_now(self):
        """The widest session that fits the cores no other task is running on."""
        busy_elsewhere = _runnable_tasks() - 1  # this thread is one of them
        free = self._cores - max(0, busy_elsewhere)
        return max((count for count in self._sessions if count <= free), default=1)

    def run(self, output_names, input_feed, run_options=None):
        return self._sessions[self.threads_now()].run(output_names, input_feed, run_options)


def _runnable_tasks():
    try:
        with open(_LOADAVG, encoding="ascii") as handle:
            return int(handle.read().split()[3].split("/")[0])
    except (OSError, ValueError, IndexError):
        return 1
