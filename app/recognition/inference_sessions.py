"""Inference sessions that use the cores idle at each run, on ONNX Runtime or OpenVINO.

OpenVINO (OCR_INFERENCE_RUNTIME=openvino) computes in bfloat16 where the CPU
has it natively; README, Performance gives what it saved and what it costs in memory.

One client wants every core on its image (latency); as many clients as workers
want one core each (throughput). A fixed choice loses one of them: measured on
2 cores, two workers with 2-thread sessions each ran 20% slower than with
1-thread sessions (4 threads on 2 cores), while one worker alone ran 1.8 times
faster with 2 threads than with 1. So each model has a session per thread
count, and every run (a detection strip, a batch of lines: 0.1 to 0.5 s) takes
the widest one the idle cores allow, counted from the kernel's runnable tasks.
"""

from collections import namedtuple

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


def onnxruntime_session(model_path, threads, precision):
    """ONNX Runtime computes in the model's own float32, whatever ``precision`` says."""
    return onnxruntime.InferenceSession(str(model_path), session_options(threads), providers=["CPUExecutionProvider"])


# What get_inputs() and get_outputs() of an ONNX Runtime session give, as far as callers use it.
_Port = namedtuple("_Port", "name")


class OpenVinoSession:
    """An OpenVINO model compiled for the CPU, run like an ``onnxruntime.InferenceSession``.

    ``precision`` "bf16" runs in bfloat16 where the CPU computes it natively
    (AVX-512 BF16 or AMX) and in float32 elsewhere, where bf16 would be emulated.
    """

    def __init__(self, model_path, threads, precision):
        import openvino

        core = openvino.Core()
        self.precision = native_precision(precision, core.get_property("CPU", "OPTIMIZATION_CAPABILITIES"))
        self._compiled = core.compile_model(str(model_path), "CPU", {
            "INFERENCE_NUM_THREADS": threads,
            "INFERENCE_PRECISION_HINT": self.precision,
            "PERFORMANCE_HINT": "LATENCY",
            "NUM_STREAMS": 1,
            # Unpinned: two workers' threads would otherwise be pinned to the same cores.
            "ENABLE_CPU_PINNING": False,
            # No per-shape cache: every image brings new input shapes, and each
            # cached one held memory for good (a worker grew past 2 GB).
            "CPU_RUNTIME_CACHE_CAPACITY": 0,
        })
        self._request = self._compiled.create_infer_request()
        self._inputs = [_Port(port.get_any_name()) for port in self._compiled.inputs]
        self._outputs = [_Port(port.get_any_name()) for port in self._compiled.outputs]

    def get_inputs(self):
        return self._inputs

    def get_outputs(self):
        return self._outputs

    def run(self, output_names, input_feed, run_options=None):
        results = self._request.infer(input_feed)
        outputs = [results[name] for name in output_names or [port.name for port in self._outputs]]
        # The intermediate tensors of this run's shape go back to malloc
        # (app/recognition/allocator.py) instead of staying with the model.
        self._compiled.release_memory()
        return outputs


def native_precision(precision, capabilities):
    """``precision`` if the CPU computes it natively (OpenVINO's capability names: "BF16", "FP32"), else "f32"."""
    native = {"bf16": "BF16", "f32": "FP32"}
    if precision not in native:
        raise ValueError(f"OCR_INFERENCE_PRECISION must be one of {', '.join(native)}, not {precision!r}")
    return precision if native[precision] in capabilities else "f32"


RUNTIMES = {"onnxruntime": onnxruntime_session, "openvino": OpenVinoSession}


class AdaptiveSession:
    """Stands in for ``onnxruntime.InferenceSession``: ``run`` picks the thread count."""

    def __init__(self, model_path, max_threads, cores=None, runtime="onnxruntime", precision="f32"):
        self._cores = cores or granted_cores()
        if runtime not in RUNTIMES:
            raise ValueError(f"OCR_INFERENCE_RUNTIME must be one of {', '.join(RUNTIMES)}, not {runtime!r}")
        counts = sorted({1, max(1, max_threads)})
        self._sessions = {count: RUNTIMES[runtime](model_path, count, precision) for count in counts}
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
