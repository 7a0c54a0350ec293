"""The one estimator base: parameters, cloning, "not fitted" errors, save and load.

Every synthgen estimator (generators, detectors and judges, tables and images) inherits
:class:`Estimator`, itself scikit-learn's ``BaseEstimator``: ``__init__`` only stores its
parameters (so ``get_params``/``set_params``/``clone`` come for free), ``fit`` returns self,
and fitted attributes end in ``_``. The random seed is ``random_state`` (``seed`` is kept as
an alias). Save and load go through the model file (:mod:`synthgen.core.modelfile`) and the
one registry (:mod:`synthgen.core.kinds`); a subclass writes only ``_file_contents`` and
``_restore``.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import torch
from sklearn.base import BaseEstimator

from synthgen.core.allocation import allocation_budget
from synthgen.core.kinds import Kind, get_kind
from synthgen.core.modelfile import LoadedModel, load_model, save_model
from synthgen.device import resolve_device, thread_limit
from synthgen.errors import ModelFileError, NotFittedError, SynthgenError, UsageError, param


def check_seed(seed: Any, name: str = "random_state") -> int:
    """A seed must be a whole number in [0, 2**63)."""
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**63:
        raise UsageError(
            f"{param(name)} must be a whole number from 0 to 2**63-1, got {seed!r}.", param=name
        )
    return int(seed)


class Estimator(BaseEstimator):
    """Base of every synthgen estimator (see the module docstring).

    Subclasses set ``data`` ("table"/"image") and ``role`` ("generator"/"detector"/"judge"),
    define ``__init__`` with their parameters (``model``, ``random_state``, ``seed``,
    ``device``, ``model_options`` at least), and implement ``_file_contents`` and
    ``_restore``.
    """

    data: ClassVar[str]
    role: ClassVar[str]
    _fitted_attribute: ClassVar[str] = "model_"

    # ------------------------------------------------------------------ parameters
    @property
    def random_seed(self) -> int:
        """The seed in use: ``seed`` when given (the older spelling), else ``random_state``."""
        seed = getattr(self, "seed", None)
        if seed is not None:
            return check_seed(seed, "seed")
        return check_seed(getattr(self, "random_state", 0))

    def kind_entry(self) -> Kind:
        """The registry entry of this estimator's ``model`` (an unknown name is refused)."""
        return get_kind(self.data, self.role, getattr(self, "model", None))

    def check_params(self) -> None:
        """Refuse a bad kind, option, seed or device before any data is read."""
        kind = self.kind_entry()
        kind.make_config(getattr(self, "model_options", None))
        _ = self.random_seed
        resolve_device(getattr(self, "device", "auto"))
        threads = getattr(self, "threads", None)
        if threads is not None and (isinstance(threads, bool) or int(threads) < 1):
            raise UsageError(f"{param('threads')} must be at least 1, got {threads}.", "threads")

    def cpu_threads(self) -> int | None:
        """The CPU threads a fit runs with: the user's ``threads``, else the kind's default
        (``None``: torch's, every core)."""
        threads = getattr(self, "threads", None)
        return int(threads) if threads is not None else self.kind_entry().threads

    @contextlib.contextmanager
    def _compute(self, device: torch.device) -> Iterator[None]:
        """Run with ``cpu_threads()`` on a CPU (same seed, data, device and thread count:
        same result)."""
        with thread_limit(self.cpu_threads() if device.type == "cpu" else None):
            yield

    # ------------------------------------------------------------------ fitted state
    def is_fitted(self) -> bool:
        return hasattr(self, self._fitted_attribute)

    def _check_fitted(self) -> None:
        if not self.is_fitted():
            raise NotFittedError(
                f"This {type(self).__name__} is not fitted yet; call fit() or load() first."
            )

    # ------------------------------------------------------------------ persistence
    def _file_contents(self) -> dict[str, Any]:
        """What ``save`` writes: ``config``, ``tensors`` and optionally ``transformer_state``,
        ``transformer_arrays``, ``training`` and ``extra`` (see ``save_model``)."""
        raise NotImplementedError

    @classmethod
    def _restore(cls, loaded: LoadedModel, device: str) -> Estimator:
        """Rebuild a fitted estimator from a checked model file (raise KeyError, ValueError,
        TypeError or RuntimeError when it does not match what it declares)."""
        raise NotImplementedError

    def save(self, path: str | Path, *, overwrite: bool = False, inputs: tuple | list = ()) -> Path:
        """Write a ``.synth`` model file (safetensors + JSON, atomically)."""
        self._check_fitted()
        return save_model(
            path,
            kind=self.kind_.file_kind,
            schema=self.schema_,
            overwrite=overwrite,
            inputs=tuple(inputs),
            **self._file_contents(),
        )

    def _self_check(self) -> None:
        """Use the just-loaded model once on a few rows, so a file whose state (priors,
        transformer tables) does not fit its own network is refused at load, with the file
        named, rather than failing in the middle of a command. Raise KeyError, ValueError,
        TypeError, IndexError or RuntimeError when it fails."""

    @classmethod
    def load(cls, path: str | Path, *, device: str = "auto", **kwargs: Any) -> Estimator:
        """Rebuild a fitted estimator from a model file; weights are loaded strictly."""
        resolve_device(device)  # a device this machine lacks is the caller's error, not the file's
        loaded = load_model(path, role=cls.role, data=cls.data)
        stored = sum(t.numel() for t in loaded.tensors.values())
        try:
            with allocation_budget(stored, path):
                est = cls._restore(loaded, device, **kwargs)
            with warnings.catch_warnings():  # a damaged file's NaNs: refused below, not warned
                warnings.simplefilter("ignore")
                est._self_check()
        except (
            KeyError,
            RuntimeError,
            ValueError,
            TypeError,
            IndexError,
            AttributeError,
            OverflowError,
            RecursionError,
        ) as err:
            why = type(err).__name__ if isinstance(err, RecursionError) else err
            raise ModelFileError(
                f"Model file {path} does not match the model it declares ({why})."
            ) from None
        except SynthgenError as err:  # a config the file declares fails its own checks
            if isinstance(err, ModelFileError) and str(path) in err.message:
                raise
            raise ModelFileError(
                f"Model file {path} does not match the model it declares ({err.message})"
            ) from None
        est.kind_ = loaded.entry
        return est
