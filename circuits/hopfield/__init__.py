"""Classical Hebbian associative memories, the baselines of Tyulmankov et al. 2021: the Hopfield
network (Hopfield 1982) and the bidirectional associative memory (BAM, Kosko 1988): ``rate``
(numpy), ``torch`` (BAM, differentiable), ``spiking`` (Brian2)."""
