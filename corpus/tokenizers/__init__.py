"""Tokenizers: loading (SentencePiece or Hugging Face behind one interface), training and extension."""
