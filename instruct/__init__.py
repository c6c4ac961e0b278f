"""Instruction data: IE records and converters, instruction builders, the LLM client,
translation, SFT formats and tokenization, evaluation."""
