"""Image datasets: readers and writers, conditional GAN and VAE, evaluation, anomaly screening."""
