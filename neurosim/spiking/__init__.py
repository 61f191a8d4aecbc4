"""Everything that turns a circuit into a Brian2 network and runs it: the building
:mod:`~neurosim.spiking.blocks`, the wiring of a batch of trials (:mod:`~neurosim.spiking.wiring`),
presentation windows (:mod:`~neurosim.spiking.windows`), circuit settings
(:mod:`~neurosim.spiking.settings`), devices and the build cache
(:mod:`~neurosim.spiking.devices`), recordings (:mod:`~neurosim.spiking.recording`) and
physiology (:mod:`~neurosim.spiking.physiology`).  It imports no circuit."""
