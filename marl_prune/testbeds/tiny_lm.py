"""A generated language and a small causal transformer language model (no download)."""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

PAD = 0


def markov_text(n_sequences: int, vocab: int = 32, min_len: int = 12, max_len: int = 24,
                successors: int = 3, seed: int = 0, language_seed: int = 0) -> tuple[Tensor, Tensor]:
    """Token sequences of a random sparse Markov chain (each token has ``successors`` likely
    next tokens; the chain is fixed by ``language_seed``, the samples by ``seed``), of random
    length, right-padded with ``PAD``. Returns ``(tokens (n, max_len), valid (n, max_len)
    bool)``; token ids are 1..vocab-1."""
    chain = torch.Generator().manual_seed(language_seed)
    table = torch.randint(1, vocab, (vocab, successors), generator=chain)
    probs = (-torch.log(torch.rand(vocab, successors, generator=chain))) ** 1.5  # uneven odds
    probs = probs / probs.sum(-1, keepdim=True)
    g = torch.Generator().manual_seed(seed)
    words = vocab - 1
    tokens = torch.full((n_sequences, max_len), PAD)
    lengths = torch.randint(min_len, max_len + 1, (n_sequences,), generator=g)
    current = torch.randint(1, words + 1, (n_sequences,), generator=g)
    for t in range(max_len):
        tokens[:, t] = torch.where(t < lengths, current, PAD)
        choice = torch.multinomial(probs[current], 1, generator=g)[:, 0]
        current = table[current, choice]
    return tokens, tokens != PAD


class TinyLM(nn.Module):
    """Token + position embeddings, ``n_layers`` pre-norm transformer blocks with a causal
    mask, final LayerNorm and a linear head: ``tokens (B, T) -> logits (B, T, vocab)``."""

    def __init__(self, vocab: int = 32, d_model: int = 64, n_layers: int = 2, n_heads: int = 4, max_len: int = 64):
        super().__init__()
        self.embed = nn.Embedding(vocab, d_model)
        self.position = nn.Embedding(max_len, d_model)
        self.layers = nn.ModuleList(
            nn.TransformerEncoderLayer(d_model, n_heads, 2 * d_model, dropout=0.0, batch_first=True, norm_first=True)
            for _ in range(n_layers)
        )
        self.norm = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, vocab)

    def forward(self, tokens: Tensor) -> Tensor:
        T = tokens.shape[1]
        x = self.embed(tokens) + self.position(torch.arange(T, device=tokens.device))
        causal = torch.triu(torch.full((T, T), float("-inf"), device=tokens.device), diagonal=1)
        for layer in self.layers:
            x = layer(x, src_mask=causal)
        return self.head(self.norm(x))

    def block_names(self) -> list[str]:
        """Submodule names of the transformer blocks (SquareHead's feature layers)."""
        return [f"layers.{i}" for i in range(len(self.layers))]


def lm_loss(logits: Tensor, tokens: Tensor, valid: Tensor) -> Tensor:
    """Next-token cross-entropy over valid (non-padding) targets."""
    target_valid = valid[:, 1:]
    return nn.functional.cross_entropy(logits[:, :-1][target_valid], tokens[:, 1:][target_valid])


@torch.no_grad()
def lm_quality(model: nn.Module, tokens: Tensor, valid: Tensor) -> dict[str, float]:
    """Next-token accuracy and perplexity on valid targets."""
    model.eval()
    logits = model(tokens)
    loss = float(lm_loss(logits, tokens, valid))
    target_valid = valid[:, 1:]
    correct = (logits[:, :-1].argmax(-1) == tokens[:, 1:])[target_valid]
    return {"accuracy": float(correct.float().mean()), "perplexity": math.exp(loss)}
