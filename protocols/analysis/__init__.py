"""Paper-specific analysis and data used by protocols: representational similarity analysis
(:mod:`~neurosim.protocols.analysis.rsa`) and the small image sets shipped with neurosim
(:mod:`~neurosim.protocols.analysis.datasets`)."""
