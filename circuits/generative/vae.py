"""The neocortical generative network of Spens & Burgess (supplement A.2.1): a
convolutional variational autoencoder, here scaled from 64x64x3 images to
small square greyscale images (8x8 for scikit-learn's digits). Needs PyTorch
(``pip install 'neurosim[torch]'``); import this module only after checking.

Encoder: dropout 0.2 on the input, then per stage Conv2d (kernel 4, stride 2,
padding 1: the side halves) -> batch norm -> LeakyReLU, channels 32, 64, ...;
global average pooling; two dense layers give the latent mean and log
variance; z is sampled with the reparameterization trick.
Decoder: a dense layer to (channels, side / 2**stages, same), then per stage
2x nearest upsampling -> Conv2d (kernel 3, same padding) -> batch norm ->
LeakyReLU, and a last sigmoid convolution to one channel.
Loss per image (as the reference code): sum over pixels of |x - x_hat| plus
kl_weight * KL(q(z|x) || N(0, I)), averaged over the batch.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn


def conv_channels(stages: int) -> list[int]:
    """32, 64, 128, 256 for the reference's four stages; fewer for small images."""
    return [32 * 2 ** i for i in range(stages)]


class Encoder(nn.Module):
    def __init__(self, stages: int, latent_dim: int, dropout: float = 0.2):
        super().__init__()
        layers: list[nn.Module] = [nn.Dropout(dropout)]
        channels = [1] + conv_channels(stages)
        for c_in, c_out in zip(channels, channels[1:]):
            layers += [nn.Conv2d(c_in, c_out, 4, stride=2, padding=1), nn.BatchNorm2d(c_out),
                       nn.LeakyReLU()]
        self.features = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.mean = nn.Linear(channels[-1], latent_dim)
        self.log_var = nn.Linear(channels[-1], latent_dim)

    def forward(self, x):
        features = self.features(x)
        return self.mean(features), self.log_var(features)


class Decoder(nn.Module):
    def __init__(self, side: int, stages: int, latent_dim: int):
        super().__init__()
        channels = conv_channels(stages)[::-1]
        self.start = (channels[0], side // 2 ** stages, side // 2 ** stages)
        self.expand = nn.Linear(latent_dim, int(np.prod(self.start)))
        layers: list[nn.Module] = []
        for c_in, c_out in zip(channels, channels[1:]):
            layers += [nn.Upsample(scale_factor=2), nn.Conv2d(c_in, c_out, 3, padding=1),
                       nn.BatchNorm2d(c_out), nn.LeakyReLU()]
        layers += [nn.Upsample(scale_factor=2), nn.Conv2d(channels[-1], 1, 3, padding=1),
                   nn.Sigmoid()]
        self.body = nn.Sequential(*layers)

    def forward(self, z):
        return self.body(self.expand(z).view(-1, *self.start))


class VAE(nn.Module):
    def __init__(self, side: int = 8, stages: int = 2, latent_dim: int = 20,
                 kl_weight: float = 1.0):
        super().__init__()
        if side % 2 ** stages:
            raise ValueError(f"image side {side} must be divisible by 2**stages = {2 ** stages}")
        self.encoder = Encoder(stages, latent_dim)
        self.decoder = Decoder(side, stages, latent_dim)
        self.kl_weight = kl_weight

    def loss(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(total, reconstruction) loss of a batch x (n, 1, side, side) in [0, 1]."""
        mean, log_var = self.encoder(x)
        z = mean + torch.exp(0.5 * log_var) * torch.randn_like(mean)
        reconstruction = (self.decoder(z) - x).abs().sum(dim=(1, 2, 3)).mean()
        kl = (-0.5 * (1 + log_var - mean ** 2 - log_var.exp()).sum(dim=1)).mean()
        return reconstruction + self.kl_weight * kl, reconstruction

    @torch.no_grad()
    def latents(self, x: torch.Tensor) -> torch.Tensor:
        """Latent means (eval mode)."""
        self.eval()
        return self.encoder(x)[0]

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        """Decoded latent means (eval mode)."""
        self.eval()
        return self.decoder(self.encoder(x)[0])


def train_epoch(model: VAE, optimizer, images: torch.Tensor, batch_size: int) -> float:
    """One pass over ``images`` in shuffled minibatches (torch's global random
    stream: seed it with ``torch.manual_seed``); mean total loss."""
    model.train()
    order = torch.randperm(len(images))
    losses = []
    for start in range(0, len(images), batch_size):
        batch = images[order[start:start + batch_size]]
        if len(batch) < 2:                 # batch norm needs two samples
            continue
        loss, _ = model.loss(batch)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return float(np.mean(losses))
