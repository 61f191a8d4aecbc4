"""generative-consolidation: hippocampal replay trains a neocortical generative
model (Spens & Burgess, supplement A.2; reference code github:ellie-as/generative-memory).

Per trial (seed): scikit-learn's digits (1797 greyscale 8x8 images, 10
classes) are split at random into ``stored`` images and the held-out rest.
1. Hippocampus: a modern Hopfield network stores the stored images one-shot
   (one presentation each, pixels scaled to [-1, 1]; circuits/modern_hopfield).
2. Replay: as many recalls as stored images, each from uniform noise in
   [-1, 1], by eq. 3 at inverse temperature ``beta`` for at most
   ``iterations`` updates. A replay "lands" on a memory when its distance to
   the nearest stored image is below 5% of that image's norm.
3. Neocortex: a convolutional VAE (circuits/generative/vae.py, supplement A.2.1 scaled to
   8x8) is trained on the replays only (rescaled to [0, 1]).
Measured before training (epoch 0) and after every epoch: mean absolute pixel
error of the reconstructions of held-out images, and the accuracy of a linear
classifier (standardized logistic regression) fitted on the latent means of
``decoder_train`` held-out images and scored on the other held-out images.
Chance: the most frequent class among the scored images. For context, the
same classifier on raw held-out pixels (``decoding_accuracy_pixels``).

Differences to the reference (Shapes3D, 10000 images of 64x64x3):
- data: digits 8x8 (offline); the VAE has two convolutional stages instead of
  four (32, 64 channels; encoder kernel 4 stride 2 with padding 1, decoder
  kernel 3 after 2x upsampling), so an 8x8 image maps to a 2x2 feature map;
- beta: the reference divides X^T xi by sqrt(d) before its beta = 20; eq. 3
  here has no such factor, so the default beta = 20 / sqrt(64) = 2.5 is the
  same inverse temperature;
- latent dimension 5 (the reference: 20 for 64x64x3 images): 20 latents of an
  8x8 image keep most of its linear class information even through the
  untrained encoder (decoding 0.74 before training, 0.82 after 15 epochs),
  5 latents must be learned (0.44 -> 0.79 over 10 epochs, one seed);
- decoding: a linear classifier (the reference: an RBF SVC) fitted on 200
  held-out latents (as the reference) and scored on all other held-out images
  (the reference: half its test set); the reference logs accuracy at the start
  of each epoch, so its first value (0.378) is the untrained encoder, as our
  epoch 0;
- training: a fixed number of epochs (the reference stops early when the loss
  stalls for 3 epochs; 50 at most); Adam with AMSGrad, learning rate 1e-3,
  batch 32, as the reference.
"""
from __future__ import annotations

import importlib.util
from contextlib import contextmanager

import numpy as np

from neurosim.circuits.gsemm.rate import blas_threads
from neurosim.circuits.modern_hopfield.rate import ModernHopfield
from neurosim.events import EventStream
from neurosim.errors import ParameterError
from neurosim.protocol import Param, Protocol, positive

from neurosim.protocols._kv import rngs

LANDED_DISTANCE = 0.05      # relative distance to the nearest stored image
EXAMPLES = 10               # images per row of the figure (seed 0)
SIDE = 8                    # digits are 8x8
DIGITS = 1797


def require_torch() -> None:
    if importlib.util.find_spec("torch") is None:
        raise ParameterError("generative-consolidation needs PyTorch: "
                             "pip install 'neurosim[torch]'")


def load_images() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's digits as (1797, 64) pixels in [0, 1] and their labels."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    return digits.data / 16.0, digits.target


def replay_stream(stored: np.ndarray, cues: np.ndarray) -> EventStream:
    """Store every image once (q = 1), then read from each noise cue."""
    B, K, _ = stored.shape
    R = cues.shape[1]
    x = np.concatenate([stored, cues], axis=1)
    reads = np.r_[np.zeros(K, bool), np.ones(R, bool)]
    return EventStream(x=x, y=np.zeros_like(x), q=np.broadcast_to(~reads, (B, K + R)).astype(float),
                       query=np.broadcast_to(reads, (B, K + R)).copy())


def replay(rng: np.random.Generator, stored: np.ndarray, beta: float,
           iterations: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Replays from uniform noise for stored images (B, K, d) in [-1, 1].
    Returns (cues, replays, index of the nearest stored image)."""
    cues = rng.uniform(-1.0, 1.0, stored.shape)
    network = ModernHopfield(beta=beta, max_iterations=iterations)
    replays = network.run(replay_stream(stored, cues))[:, stored.shape[1]:]
    squared = ((stored ** 2).sum(axis=-1)[:, None, :]
               - 2 * replays @ stored.transpose(0, 2, 1))      # + |replay|^2, same per row
    return cues, replays, squared.argmin(axis=-1)


def landed(replays: np.ndarray, stored: np.ndarray, nearest: np.ndarray) -> np.ndarray:
    """Whether each replay (B, R, d) lies within LANDED_DISTANCE (relative) of
    its nearest stored image: (B, R) bool."""
    closest = np.take_along_axis(stored, nearest[..., None], axis=1)
    return (np.linalg.norm(replays - closest, axis=-1)
            <= LANDED_DISTANCE * np.linalg.norm(closest, axis=-1))


@contextmanager
def torch_threads(count: int):
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def decoding_accuracy(features: np.ndarray, labels: np.ndarray, fit: int) -> float:
    """Standardized logistic regression fitted on the first ``fit`` rows, scored
    on the rest."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    classifier = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    classifier.fit(features[:fit], labels[:fit])
    return float(classifier.score(features[fit:], labels[fit:]))


def train_on_replays(replays: np.ndarray, held_out: np.ndarray, labels: np.ndarray,
                     point: dict, torch_seed: int, progress: bool = False
                     ) -> tuple[list[dict], np.ndarray]:
    """Train a VAE on replays (n, 64) in [0, 1]; per-epoch records and the final
    reconstructions of the held-out images; ``progress``: a bar of the epochs with the
    loss and the decoding accuracy."""
    import torch

    from neurosim.circuits.generative.vae import VAE, train_epoch
    from neurosim.torch_support import training_bar

    torch.manual_seed(torch_seed)
    model = VAE(side=SIDE, stages=2, latent_dim=point["latent_dim"],
                kl_weight=point["kl_weight"])
    optimizer = torch.optim.Adam(model.parameters(), lr=point["lr"], amsgrad=True)
    train = torch.tensor(replays, dtype=torch.float32).view(-1, 1, SIDE, SIDE)
    test = torch.tensor(held_out, dtype=torch.float32).view(-1, 1, SIDE, SIDE)
    records, loss = [], np.nan
    bar = training_bar(point["epochs"] + 1, "VAE on replays", progress, unit="epoch")
    for epoch in bar:
        if epoch:
            loss = train_epoch(model, optimizer, train, point["batch_size"])
        latents = model.latents(test).numpy()
        error = (model.reconstruct(test) - test).abs().mean().item()
        records.append({"kind": "epoch", "epoch": epoch, "train_loss": loss,
                        "reconstruction_error": error,
                        "decoding_accuracy": decoding_accuracy(latents, labels,
                                                               point["decoder_train"])})
        bar.set_postfix(loss=f"{loss:.2f}", decoding=f"{records[-1]['decoding_accuracy']:.3f}",
                        refresh=False)
    return records, model.reconstruct(test).view(len(held_out), -1).numpy()


def example_records(role: str, images: np.ndarray) -> list[dict]:
    return [{"kind": "example", "seed": 0, "role": role, "index": i,
             **{f"p{j}": float(v) for j, v in enumerate(image)}}
            for i, image in enumerate(images[:EXAMPLES])]


def run_point(point, seed, context):
    canonical(point)
    images, labels = load_images()
    split_rng, noise_rng, torch_rng = rngs(seed, 3)
    seeds, K = point["seeds"], point["stored"]
    order = np.stack([split_rng.permutation(len(images)) for _ in range(seeds)])
    stored = images[order[:, :K]] * 2 - 1
    with blas_threads(1):
        cues, replays, nearest = replay(noise_rng, stored, point["beta"], point["iterations"])
        on_memory = landed(replays, stored, nearest)
    records = []
    for s in range(seeds):
        held_out, held_labels = images[order[s, K:]], labels[order[s, K:]]
        scored = held_labels[point["decoder_train"]:]
        records.append({
            "kind": "replay", "seed": s, "landed_fraction": float(on_memory[s].mean()),
            "distinct_fraction": len(np.unique(nearest[s])) / K,
            "chance": float(np.bincount(scored).max() / scored.size),
            "decoding_accuracy_pixels": decoding_accuracy(held_out, held_labels,
                                                          point["decoder_train"])})
        with torch_threads(1):
            epochs, reconstructions = train_on_replays(
                (replays[s] + 1) / 2, held_out, held_labels, point,
                int(torch_rng.integers(2 ** 31)), progress=context.progress)
        records += [{**record, "seed": s} for record in epochs]
        if s == 0:
            records += (example_records("noise", (cues[0] + 1) / 2)
                        + example_records("replay", (replays[0] + 1) / 2)
                        + example_records("nearest stored", (stored[0, nearest[0]] + 1) / 2)
                        + example_records("held out", held_out)
                        + example_records("VAE reconstruction", reconstructions))
    return records


def canonical(point: dict) -> dict:
    """Checks a point before anything runs: torch present, images left over."""
    require_torch()
    if not 2 <= point["stored"] <= DIGITS - point["decoder_train"] - 10:
        raise ParameterError(f"parameter stored: must leave decoder_train + 10 of the {DIGITS} "
                             f"digits held out (got {point['stored']})")
    return point


def epoch_means(frame):
    epochs = frame[frame["kind"] == "epoch"]
    return epochs.groupby("epoch")[["decoding_accuracy", "reconstruction_error"]].mean()


def summarize(frame, values):
    means = epoch_means(frame)
    replays = frame[frame["kind"] == "replay"]
    first, last = means.iloc[0], means.iloc[-1]
    return {"decoding_accuracy_first_epoch": round(float(first["decoding_accuracy"]), 4),
            "decoding_accuracy_last_epoch": round(float(last["decoding_accuracy"]), 4),
            "chance": round(float(replays["chance"].mean()), 4),
            "decoding_accuracy_pixels": round(float(replays["decoding_accuracy_pixels"].mean()), 4),
            "reconstruction_error_first_epoch": round(float(first["reconstruction_error"]), 4),
            "reconstruction_error_last_epoch": round(float(last["reconstruction_error"]), 4),
            "replay_landed_fraction": round(float(replays["landed_fraction"].mean()), 4),
            "replay_distinct_fraction": round(float(replays["distinct_fraction"].mean()), 4)}


def plot(frame, values):
    import matplotlib.pyplot as plt

    examples = frame[frame["kind"] == "example"]
    roles = list(dict.fromkeys(examples["role"]))
    pixels = [f"p{j}" for j in range(SIDE * SIDE)]
    figure = plt.figure(figsize=(12, 2 + 1.2 * len(roles)))
    grid = figure.add_gridspec(len(roles) + 3, EXAMPLES)
    for row, role in enumerate(roles):
        images = examples[examples["role"] == role].sort_values("index")[pixels].to_numpy()
        for col, image in enumerate(images):
            ax = figure.add_subplot(grid[row, col])
            ax.imshow(image.reshape(SIDE, SIDE), cmap="gray_r", vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
            if col == 0:
                ax.set_ylabel(role, fontsize=7, rotation=0, ha="right", va="center")
    means = epoch_means(frame)
    summary = summarize(frame, values)
    ax = figure.add_subplot(grid[len(roles):, :EXAMPLES // 2])
    ax.plot(means.index, means["decoding_accuracy"], marker="o", ms=3, label="VAE latents")
    ax.axhline(summary["chance"], color="k", ls=":", label="chance")
    ax.axhline(summary["decoding_accuracy_pixels"], color="gray", ls="--", label="raw pixels")
    ax.set(xlabel="epochs of training on replays", ylabel="linear decoding accuracy", ylim=(0, 1))
    ax.legend(fontsize=7)
    ax = figure.add_subplot(grid[len(roles):, EXAMPLES // 2 + 1:])
    ax.plot(means.index, means["reconstruction_error"], marker="o", ms=3)
    ax.set(xlabel="epochs of training on replays", ylabel="held-out reconstruction |error|")
    return figure


PROTOCOL = Protocol(
    name="generative-consolidation",
    description="Modern Hopfield replays from noise train a VAE: decoding and reconstruction",
    params={
        "stored": Param(1000, int, "digits stored in the modern Hopfield network", check=positive),
        "beta": Param(2.5, float, "inverse temperature of eq. 3 (reference: 20 / sqrt(d))",
                      check=positive),
        "iterations": Param(10, int, "at most this many eq. 3 updates per replay",
                            check=positive),
        "latent_dim": Param(5, int, "VAE latent dimension (reference: 20 for 12288 pixels)",
                            check=positive),
        "kl_weight": Param(1.0, float, "weight of the KL term (reference 1)", check=positive),
        "epochs": Param(20, int, "training epochs on the replays", check=positive),
        "batch_size": Param(32, int, "minibatch size (reference 32)", check=positive),
        "lr": Param(1e-3, float, "Adam (AMSGrad) learning rate (reference 1e-3)", check=positive),
        "decoder_train": Param(200, int, "held-out latents that fit the linear decoder",
                               check=positive),
        "seeds": Param(3, int, "independent trials (splits, replays, VAEs)", check=positive),
    },
    run_point=run_point, summarize=summarize, plot=plot, canonical=canonical,
    backends=("rate",), figure="supplement A.2, consolidation", metric="decoding_accuracy",
    paper={"decoding_accuracy_first_epoch": 0.378, "decoding_accuracy_last_epoch": 0.827,
           "chance": 0.25},
    notes="Paper values: the reference code's Shapes3D run (decoding of shape, 4 classes, RBF "
          "SVC on 20 latents, logged at the start of each of 50 epochs, so 0.378 is the "
          "untrained encoder). Here: digits 8x8 (10 classes, chance about 0.1), a linear "
          "classifier on 5 latents; decoding_accuracy_first_epoch is likewise measured at the "
          "start of the first epoch (untrained encoder). The untrained encoder decodes digits "
          "far above chance already, and the raw pixels give about 0.9, so the rise is smaller "
          "than the reference's; see the module docstring for every difference.")
