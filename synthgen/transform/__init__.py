"""Reversible transformer: typed frames <-> float32 matrices laid out as spans for model heads."""

from synthgen.transform.base import ColumnEncoder, Span
from synthgen.transform.categorical import OTHER, BooleanEncoder, CategoricalEncoder
from synthgen.transform.numeric import ModeSpecificEncoder, NumericEncoder, QuantileEncoder
from synthgen.transform.table import DiscreteColumn, TableTransformer

__all__ = [
    "OTHER",
    "BooleanEncoder",
    "CategoricalEncoder",
    "ColumnEncoder",
    "DiscreteColumn",
    "ModeSpecificEncoder",
    "NumericEncoder",
    "QuantileEncoder",
    "Span",
    "TableTransformer",
]
