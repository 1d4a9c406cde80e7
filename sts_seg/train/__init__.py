"""Training: in-memory slice arrays -> tf.data -> Keras fit with honest metrics."""
