"""Anomaly screening: autoencoder reconstruction error over the transformed table."""

from synthgen.anomaly.detector import OUTPUT_COLUMNS, AnomalyDetector

__all__ = ["OUTPUT_COLUMNS", "AnomalyDetector"]
