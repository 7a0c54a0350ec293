"""What a tabular model adds to the training-loop interface: sampling rows for the sampler."""

from __future__ import annotations

from abc import abstractmethod
from typing import Any, ClassVar

import torch

from synthgen.core.trainable import TrainableModel
from synthgen.tabular.models.layout import Layout


class TabularModel(TrainableModel):
    """A generative model over the transformed table. Subclasses build their modules from a
    dataclass config and a ``Layout``; the training loop in ``train.py`` drives them."""

    streams: ClassVar[bool] = True
    """Trains from batches streamed out of core (``StreamSource``): its batches, ``prepare``
    and ``finish`` need no more than the batch and a bounded sample of the rows."""

    def __init__(self, config: Any, layout: Layout, condition_columns: list[str]) -> None:
        super().__init__(config)
        self.layout = layout
        self.condition_columns = list(condition_columns)

    # --- generation ----------------------------------------------------------------------
    @abstractmethod
    def sample(self, n: int, fixed: dict[str, int], generator: torch.Generator) -> torch.Tensor:
        """``n`` rows of the transformed matrix (one-hot blocks hard). ``fixed`` maps a
        conditionable column to the slot it must take in every row."""

    @property
    def conditionable(self) -> list[str]:
        """Columns this model conditions on exactly."""
        return list(self.condition_columns)
