"""What memory circuits and protocols share: the three-factor plasticity rule
(:mod:`~neurosim.memory.plasticity`), the local third factors (:mod:`~neurosim.memory.gates`) and
the pattern and event-stream generators (:mod:`~neurosim.memory.patterns`)."""
