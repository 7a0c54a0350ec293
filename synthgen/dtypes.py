"""The pandas dtypes of the typed-frame convention, the same on pandas 2.3+ and 3.x.

Categorical and id columns hold strings with NaN for missing: pandas 3's default ``str`` dtype.
On pandas 2, the string ``"str"`` would mean numpy ``str`` and turn NaN into the text "nan".
"""

import numpy as np
import pandas as pd

STRING_DTYPE = pd.StringDtype(na_value=np.nan)
