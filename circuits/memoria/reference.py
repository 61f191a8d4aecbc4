"""Adapter for the paper's own package, PyPI ``memoria-pytorch`` 1.1.0 (import name
``memoria``), run with batch size 1 on the same stream as :mod:`neurosim.circuits.memoria`.

``ReferenceMemoria.step`` does what ``MemoriaCircuit.step`` does with the
reference: ``add_working_memory`` -> ``remind`` -> the same default exploit
(:func:`attention_contribution`) -> ``adjust_lifespan_and_memories`` with the
increments Inc_i of sec. 3.4. It reports the reminded engrams by engram id
(``track_id=True``), so the two reminded sets can be compared directly.

``SharedTieKeys`` gives a neurosim circuit (``search="reference"``) the very
random numbers the reference draws in ``_find_initial_longterm_memory``
(``torch.rand_like`` over a [1, N_stm, N_engrams] float16 tensor): it copies the
torch generator state just before the reference's ``remind`` and replays the
draw. This separates disagreements of the algorithm from disagreements that
are only different random tie-breaks between equal counts.
"""
from __future__ import annotations

import numpy as np

from neurosim.circuits.memoria.lifecycle import attention_contribution, lifespan_increments
from neurosim.circuits.memoria.params import (LONGTERM, SHORTTERM, WORKING, MemoriaError,
                                              MemoriaParams)


def require_reference():
    """Import torch and memoria-pytorch, or raise a clear error."""
    try:
        import memoria
        import torch
    except ImportError as error:  # pragma: no cover - depends on the install
        raise MemoriaError("the reference comparison needs torch and memoria-pytorch: "
                           "pip install 'neurosim[reference]'") from error
    return torch, memoria


class ReferenceMemoria:
    """memoria-pytorch's ``Memoria`` with batch size 1, driven like MemoriaCircuit."""

    def __init__(self, params: MemoriaParams, dim: int):
        torch, memoria = require_reference()
        self.torch = torch
        self.params = params
        self.dim = dim
        self.model = memoria.Memoria(
            num_reminded_stm=params.n_stm_rem, stm_capacity=params.stm_capacity,
            ltm_search_depth=params.depth, initial_lifespan=params.initial_lifespan,
            num_final_ltms=params.n_ltm_rem, track_age=True, track_id=True, device="cpu")
        self.last_rng_state = None

    def _ids_of(self, indices):
        engrams = self.model.engrams
        return engrams.engram_ids[0, indices].tolist(), engrams.engrams_types[0, indices].tolist()

    def step(self, data: np.ndarray, exploit=None) -> dict:
        """One step; returns reminded ids (by kind at remind time) and sizes."""
        torch = self.torch
        x = torch.as_tensor(np.asarray(data, dtype=np.float32)).unsqueeze(0)
        self.model.add_working_memory(x)
        engrams = self.model.engrams
        wm_data = engrams.data[0, engrams.working_memory_mask[0]].double().numpy()
        self.last_rng_state = torch.get_rng_state()
        _, indices = self.model.remind()
        flat = indices[0]
        valid = flat[flat >= 0]
        ids, kinds = self._ids_of(valid)
        rem_data = self.model.engrams.data[0, valid].double().numpy()
        weights = (exploit or attention_contribution)(wm_data, rem_data)
        delta = torch.zeros(flat.shape, dtype=torch.float32)
        delta[flat >= 0] = torch.as_tensor(lifespan_increments(weights, self.params.alpha),
                                           dtype=torch.float32)
        self.model.adjust_lifespan_and_memories(indices.clone(), delta.unsqueeze(0))
        return {"ids": ids, "stm": [i for i, k in zip(ids, kinds) if k == SHORTTERM],
                "ltm": [i for i, k in zip(ids, kinds) if k == LONGTERM],
                "wm": [i for i, k in zip(ids, kinds) if k == WORKING]}

    def sizes(self) -> dict:
        engrams = self.model.engrams
        if len(engrams) == 0:
            return {"n_stm": 0, "n_ltm": 0}
        return {"n_stm": int(engrams.shortterm_memory_mask.sum()),
                "n_ltm": int(engrams.longterm_memory_mask.sum())}

    def lifespans(self) -> dict[int, float]:
        engrams = self.model.engrams
        if len(engrams) == 0:
            return {}
        return dict(zip(engrams.engram_ids[0].tolist(), engrams.lifespan[0].tolist()))


class SharedTieKeys:
    """A ``tie_source`` that replays the reference's ``torch.rand_like`` draw."""

    def __init__(self, reference: ReferenceMemoria):
        self.reference = reference

    def __call__(self, n_stm: int, n_engrams: int) -> np.ndarray:
        torch = self.reference.torch
        generator = torch.Generator()
        generator.set_state(self.reference.last_rng_state)
        keys = torch.rand((1, n_stm, n_engrams), generator=generator, dtype=torch.float16)
        return keys[0].float().numpy()
