"""Job specs: YAML files listing steps that call synthgen's jobs, run in order."""

from synthgen.pipeline.steps import (
    STEP_TYPES,
    PipelineSpec,
    Step,
    StepResult,
    load_spec,
    run_pipeline,
)

__all__ = ["STEP_TYPES", "PipelineSpec", "Step", "StepResult", "load_spec", "run_pipeline"]
