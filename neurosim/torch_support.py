"""PyTorch as an optional dependency (the ``torch`` extra): a one-line error
when it is missing, and one intra-op thread for the small tensors of the
rate circuits' differentiable realizations."""
from __future__ import annotations

from contextlib import contextmanager

from neurosim.errors import ParameterError


def require_torch(purpose: str):
    """Import torch, or raise a one-line ParameterError naming the extra to install."""
    try:
        import torch
    except ImportError:
        raise ParameterError(f"{purpose} needs PyTorch: pip install 'neurosim[torch]'") from None
    return torch


@contextmanager
def one_torch_thread(purpose: str):
    """Run torch (required for ``purpose``) on one intra-op thread inside the block.
    The tensors here are small (batch x N x d): on a shared 2-core machine a second
    thread only adds waiting."""
    torch = require_torch(purpose)

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def training_bar(steps: int, description: str, shown: bool, unit: str = "step"):
    """The steps of a training loop as a tqdm bar (steps done, rate, ETA; set its postfix to
    the loss), on its own line below the sweep's bar and removed when done; silent unless
    ``shown`` (the engine shows it only where the point runs in this process)."""
    from tqdm.auto import tqdm

    return tqdm(range(steps), desc=description, unit=unit, leave=False, disable=not shown,
                position=1)
