"""Reversible transformer: typed frames <-> float32 matrices laid out as spans for model heads."""

from synthgen.tabular.transform.base import ColumnEncoder, Span
from synthgen.tabular.transform.binned import BinnedEncoder
from synthgen.tabular.transform.categorical import OTHER, BooleanEncoder, CategoricalEncoder
from synthgen.tabular.transform.numeric import ModeSpecificEncoder, NumericEncoder
from synthgen.tabular.transform.quantile import QuantileEncoder
from synthgen.tabular.transform.table import DiscreteColumn, TableTransformer

__all__ = [
    "OTHER",
    "BinnedEncoder",
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
