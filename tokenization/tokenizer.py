"""Tokenizers loaded from a file, never from a hub: SentencePiece `.model` or Hugging Face `tokenizer.json`.

Special tokens are added by our code, from the ids the model declares, never parsed from the text: the
literal string "<s>" in a web page stays text (SentencePiece does not match control symbols in its input;
the HF path encodes with `encode_special_tokens=True` for the same reason).
Default: the Mistral 7B v1 SentencePiece model (32,000 pieces, byte fallback, LLaMA-style), shipped in
tokenization/assets/ with its licence notice.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

DEFAULT_MODEL = Path(__file__).parent / "assets" / "mistral_v1_tokenizer.model"
SPECIALS = ("bos_eos", "eos_only", "none")


@dataclass(frozen=True)
class TokenizerInfo:
    name: str
    path: str
    sha256: str
    vocab_size: int
    bos_id: int | None
    eos_id: int | None


class Tokenizer:
    """`encode_batch(texts) -> list[np.ndarray]` with the specials policy applied, plus what the manifest needs."""

    def __init__(self, path: str = "", specials: str = "bos_eos", num_threads: int = 1):
        model = Path(path) if path else DEFAULT_MODEL
        if not model.is_file():
            raise FileNotFoundError(f"tokenize: tokenizer file not found: {model}")
        if specials not in SPECIALS:
            raise ValueError(f"tokenize: specials must be one of {SPECIALS}, got {specials!r}")
        self.specials = specials
        self.num_threads = num_threads
        self._encode, vocab, bos, eos = _load(model, num_threads)
        digest = hashlib.sha256(model.read_bytes()).hexdigest()
        self.info = TokenizerInfo(model.name, str(model), digest, vocab, bos, eos)
        if specials != "none" and eos is None or specials == "bos_eos" and bos is None:
            raise ValueError(f"tokenize: {model.name} defines no BOS/EOS id, needed by specials={specials!r}")
        self.dtype = np.uint16 if vocab <= 1 << 16 else np.uint32

    def encode_batch(self, texts: list[str]) -> list[np.ndarray]:
        prefix = [self.info.bos_id] if self.specials == "bos_eos" else []
        suffix = [self.info.eos_id] if self.specials != "none" else []
        return [fit_ids(prefix + ids + suffix, self.dtype) for ids in self._encode(texts)]


@functools.lru_cache(maxsize=4)
def cached_tokenizer(path: str, specials: str, num_threads: int = 1) -> Tokenizer:
    """One tokenizer per worker process and settings: loaded once, reused by every task the worker runs."""
    return Tokenizer(path, specials, num_threads)


def fit_ids(ids: list[int], dtype) -> np.ndarray:
    """The ids as `dtype`, or a clear error if one does not fit (never a silent wrap-around)."""
    array = np.asarray(ids, dtype=np.int64)
    info = np.iinfo(dtype)
    if array.size and (array.min() < info.min or array.max() > info.max):
        bad = int(array.max() if array.max() > info.max else array.min())
        raise ValueError(f"tokenize: token id {bad} does not fit the {np.dtype(dtype).name} tokens column")
    return array.astype(dtype)


def _load(model: Path, num_threads: int):
    if model.suffix == ".json":
        from tokenizers import Tokenizer as HFTokenizer

        hf = HFTokenizer.from_file(str(model))
        hf.encode_special_tokens = True

        def encode(texts):
            return [e.ids for e in hf.encode_batch(texts, add_special_tokens=False)]

        vocab = hf.get_vocab_size(with_added_tokens=True)
        return (
            encode,
            vocab,
            _hf_id(hf, ("<s>", "<|begin_of_text|>", "<bos>")),
            _hf_id(hf, ("</s>", "<|end_of_text|>", "<|endoftext|>", "<eos>")),
        )
    import sentencepiece as spm

    sp = spm.SentencePieceProcessor(model_file=str(model))

    def encode(texts):
        return sp.encode(texts, num_threads=num_threads)

    bos, eos = sp.bos_id(), sp.eos_id()
    return encode, sp.vocab_size(), bos if bos >= 0 else None, eos if eos >= 0 else None


def _hf_id(hf, candidates: tuple[str, ...]) -> int | None:
    for token in candidates:
        token_id = hf.token_to_id(token)
        if token_id is not None:
            return token_id
    return None
