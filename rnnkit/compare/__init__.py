"""Which cell when, measured: the task suite, measurements, gradient diagnosis and the demo."""
