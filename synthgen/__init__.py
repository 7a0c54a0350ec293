"""synthgen: synthetic tabular and image data with conditional GANs and VAEs."""

__version__ = "0.1.0"
