"""Circuits, one subpackage per family; every realization of a circuit sits in its family's folder
under the same file name in every family: ``rate.py`` (numpy, batched over trials), ``spiking.py``
(Brian2 equations, built from :mod:`neurosim.spiking`), ``torch.py`` (differentiable PyTorch).
Modules named by idea hold what a family adds (meta-learning, persistence, ...)."""
