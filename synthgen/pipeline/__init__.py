"""Job specs: YAML files listing steps that call synthgen's jobs, run in order.

A spec::

    name: augment-adult               # optional (default: the file's stem)
    summary: ../runs/adult/run.json   # optional (default: SPEC-stem.run.json beside the spec)
    threads: 1                        # optional: torch/OpenMP threads for the run
    steps:
      - {name: fit, type: fit, data: ../data/train.csv, schema: adult.yaml,
         output: ../runs/adult/model.synth, model: vae, epochs: 30}
      - {name: synth, type: generate, model: ../runs/adult/model.synth, rows: 1000,
         output: ../runs/adult/synthetic.csv}

Rules:

* Relative paths are relative to the spec file's folder. Output folders are created.
* Every output is written atomically (temp file, renamed when complete). A run replaces the
  outputs its steps declare: they belong to the job.
* A step that fails stops the run: later steps do not run, earlier outputs stay as they are, and
  the error (of the same kind, so the same exit code) names the step.
* ``fit`` and ``anomalies_fit`` reuse an up-to-date model (:mod:`.fingerprint`); ``force=True``
  (``--force``) refits anyway.
* A run summary (JSON: steps, status, seconds, outputs, details) is written at the end, also
  when a step fails.

Step types and their keys are in :mod:`synthgen.pipeline.steps`.
"""

from synthgen.pipeline.run import load_spec, run_pipeline
from synthgen.pipeline.spec import PipelineSpec, Step, StepResult
from synthgen.pipeline.steps import STEP_TYPES

__all__ = ["STEP_TYPES", "PipelineSpec", "Step", "StepResult", "load_spec", "run_pipeline"]
