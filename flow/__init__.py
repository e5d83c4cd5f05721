"""Flow stage: the ``sc`` command and the step runner."""
