"""What a table detector's model file holds, and the detector read back from it.

The file stores the autoencoder (snapshot members stacked), the numeric scalers (robust
z-scores and, since detector format 2, the quantile-normal tables), the calibration, the
cross-column model (if any), and since format 2 the neighbour reference rows and the per-signal
scales. Files of format 1 (synthgen 0.1 and detectors fitted before the neighbour signal:
reconstruction error only) load and score exactly as they did; a newer format is refused.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from synthgen.core.calibration import ScoreCalibration
from synthgen.core.configs import config_from_dict, config_to_dict
from synthgen.core.modelfile import LoadedModel
from synthgen.device import resolve_device
from synthgen.schema import TableSchema
from synthgen.tabular.anomaly.autoencoder import AutoencoderConfig, build_autoencoder
from synthgen.tabular.anomaly.cross import CrossModel
from synthgen.tabular.anomaly.features import TableEncoding
from synthgen.tabular.anomaly.neighbours import NeighbourIndex
from synthgen.tabular.anomaly.options import DetectorConfig
from synthgen.tabular.anomaly.signals import SignalScales, feature_columns

DETECTOR_FORMAT = 2  # 1: reconstruction only; 2: + quantile-normal scaling, neighbour signal


def detector_contents(det: Any) -> dict[str, Any]:
    """The model-file contents of a fitted table detector (see ``Estimator._file_contents``)."""
    state, arrays, scaler = det.encoding_.to_state()
    tensors: dict[str, Any] = {
        f"ae.{k}": v.detach().cpu() for k, v in det.model_.state_dict().items()
    }
    for k, v in scaler.items():
        tensors[f"scaler.{k}"] = torch.from_numpy(np.ascontiguousarray(v))
    tensors["calibration.scores"] = torch.from_numpy(det.calibration_.sorted_scores)
    tensors["calibration.column_scale"] = torch.from_numpy(det.column_scale_.astype(np.float64))
    params = {k: v for k, v in det.get_params().items() if k not in ("device", "progress")}
    params["model_options"] = config_to_dict(det.options_)
    config: dict[str, Any] = {
        "detector": params,
        "autoencoder": det.ae_config_.to_dict(),
        "detector_format": DETECTOR_FORMAT,
        "signals": det.scales_.to_dict(),
    }
    if det.cross_ is not None:
        config["cross"] = det.cross_.config.to_dict()
        tensors.update(det.cross_.tensors())
    if det.neighbours_ is not None:
        tensors["neighbours.reference"] = det.neighbours_.reference.contiguous()
    return {
        "config": config,
        "tensors": tensors,
        "transformer_state": state,
        "transformer_arrays": arrays,
        "training": det.training_,
        "extra": {
            "calibration_rows": det.calibration_.n_rows,
            "columns": list(det.encoding_.columns_),
            "score": det.scales_.describe(det.cross_ is not None),
            "typical_values": det.typical_,
        },
    }


def restore_detector(cls: type, loaded: LoadedModel, device: str) -> Any:
    """The detector a file holds (raises ValueError/KeyError/TypeError when it is broken)."""
    if not isinstance(loaded.schema, TableSchema):
        raise ValueError("the file has no table schema")
    fmt = loaded.config.get("detector_format", 1)
    if not isinstance(fmt, int) or fmt > DETECTOR_FORMAT:
        raise ValueError(
            f"it holds a table detector of format {fmt}, newer than this synthgen reads "
            f"({DETECTOR_FORMAT}); upgrade synthgen or refit the detector"
        )
    signals = loaded.config.get("signals")
    params, options = _params_of(dict(loaded.config["detector"]), neighbours=signals is not None)
    det = cls(**params, device=device, progress=False)
    det.options_ = options
    config = AutoencoderConfig.from_dict(loaded.config["autoencoder"])
    tensors = loaded.prefixed("model")
    det.schema_ = loaded.schema
    scaler = {k[7:]: v.numpy() for k, v in tensors.items() if k.startswith("scaler.")}
    det.encoding_ = TableEncoding.from_state(
        loaded.schema,
        loaded.manifest["transformer"],
        loaded.arrays("transformer"),
        scaler,
        clip=float(options.clip),
        scaling=str(options.scaling),
    )
    det.ae_config_ = config
    dev = resolve_device(device)
    det._device = dev
    model = build_autoencoder(config)
    model.load_state_dict({k[3:]: v for k, v in tensors.items() if k.startswith("ae.")})
    det.model_ = model.to(dev).eval()
    det.calibration_ = ScoreCalibration(
        tensors["calibration.scores"].numpy(),
        int(loaded.manifest["extra"]["calibration_rows"]),
    )
    det.column_scale_ = tensors["calibration.column_scale"].numpy().astype(np.float64)
    if det.column_scale_.ndim != 2 or det.column_scale_.shape[0] != config.groups:
        raise ValueError("calibration scales do not match the snapshot groups")
    det.training_ = dict(loaded.manifest.get("training", {}))
    typical = loaded.manifest["extra"].get("typical_values") or {}
    det.typical_ = {str(k): str(v) for k, v in dict(typical).items()}
    det.cross_ = None
    if "cross" in loaded.config:  # files written before the cross-column model have none
        det.cross_ = CrossModel.from_tensors(loaded.config["cross"], tensors, det.encoding_, dev)
    det.scales_ = SignalScales.from_dict(signals)
    det.neighbours_ = None
    layout = det.encoding_.layout_
    if det.scales_.neighbour_weight > 0:
        ref = tensors["neighbours.reference"].to(torch.float32)
        if ref.ndim != 2 or ref.shape[1] != layout.n_features:
            raise ValueError("neighbour reference rows do not match the encoding")
        det.neighbours_ = NeighbourIndex(
            ref, int(options.neighbours), feature_columns(layout), layout.n_columns
        )
    if layout.n_features != config.n_features or det.column_scale_.shape[1] != len(
        det.encoding_.columns_
    ):
        raise ValueError("the detector does not match its schema")
    return det


_OPTION_KEYS = set(DetectorConfig.__dataclass_fields__)


def _params_of(
    stored: dict[str, Any], *, neighbours: bool
) -> tuple[dict[str, Any], DetectorConfig]:
    """Estimator parameters and options from a file's ``detector`` entry (files of synthgen
    0.1.0 kept every option beside the parameters, and their seed as ``seed``; files without
    signal scales have no neighbour signal)."""
    options = dict(stored.pop("model_options", None) or {})
    for key in list(stored):
        if key in _OPTION_KEYS:
            value = stored.pop(key)
            if value is not None:
                options[key] = value
    if not neighbours:
        options["neighbours"] = 0
    if "seed" in stored and stored["seed"] is not None and "random_state" not in stored:
        stored["random_state"] = stored.pop("seed")
    keep = ("model", "epochs", "batch_size", "contamination", "top_k", "random_state", "seed")
    params = {k: v for k, v in stored.items() if k in keep}
    return params, config_from_dict(DetectorConfig, options)
