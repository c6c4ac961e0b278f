"""Prompt templates: a ``Conversation`` → text segments, each marked prompt (masked) or answer (trained).

``alpaca`` is KnowLM's Alpaca prompt (alpaca-lora ``templates/alpaca.json``, KnowLM README §3.3);
``chatglm`` is ChatGLM2's ``build_prompt`` (``[Round 1]\\n\\n问：...\\n\\n答：``); ``chat`` renders the
tokenizer's own Jinja chat template and cuts it where each assistant message starts. EOS for the string
templates is added as a token id by the tokenizer step, not as text. Tool/function turns are left out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from instruct.sft.io import Conversation

TEMPLATES = ("alpaca", "chatglm", "chat")

# KnowLM / alpaca-lora wording (public; quoted in the reference §1.4). The no-input variant drops the
# Input block and names only the instruction.
ALPACA_PROMPT_INPUT = (
    "Below is an instruction that describes a task, paired with an input that provides further context. "
    "Write a response that appropriately completes the request.\n\n"
    "### Instruction:\n{instruction}\n\n### Input:\n{input}\n\n### Response:\n"
)
ALPACA_PROMPT_NO_INPUT = (
    "Below is an instruction that describes a task. "
    "Write a response that appropriately completes the request.\n\n"
    "### Instruction:\n{instruction}\n\n### Response:\n"
)
# Later turns of a multi-turn conversation (Alpaca itself is single-turn; this follows LLaMA-Factory's
# ``alpaca`` template, which repeats the Instruction/Response block after a blank line).
ALPACA_NEXT_TURN = "\n\n### Instruction:\n{instruction}\n\n### Response:\n"
# ChatGLM2-6B ``tokenizer.build_prompt``: rounds count from 1, rounds are separated by a blank line.
CHATGLM_ROUND = "[Round {round}]\n\n问：{query}\n\n答："
CHATGLM_SEPARATOR = "\n\n"


@dataclass(frozen=True, kw_only=True)
class Segment:
    """A piece of the rendered text; ``train`` is True for assistant text (labels kept), else masked."""

    text: str
    train: bool


def _alpaca(conv: Conversation) -> list[Segment]:
    segments: list[Segment] = []
    for k, (user, answer) in enumerate(conv.turns):
        if k == 0:
            if conv.first_input:
                prompt = ALPACA_PROMPT_INPUT.format(instruction=user, input=conv.first_input)
            else:
                prompt = ALPACA_PROMPT_NO_INPUT.format(instruction=user)
            if conv.system:
                # A record's own system prompt replaces the fixed preamble (the text before "###").
                prompt = conv.system + "\n\n" + prompt[prompt.index("### Instruction:"):]
        else:
            prompt = ALPACA_NEXT_TURN.format(instruction=user)
        segments += [Segment(text=prompt, train=False), Segment(text=answer, train=True)]
    return segments


def _chatglm(conv: Conversation) -> list[Segment]:
    segments: list[Segment] = []
    for k in range(len(conv.turns)):
        prompt = CHATGLM_ROUND.format(round=k + 1, query=conv.user_text(k))
        if k:
            prompt = CHATGLM_SEPARATOR + prompt
        elif conv.system:
            prompt = conv.system + CHATGLM_SEPARATOR + prompt
        segments += [Segment(text=prompt, train=False), Segment(text=conv.turns[k][1], train=True)]
    return segments


def _chat(conv: Conversation, tokenizer: Any) -> list[Segment]:
    """Cut the chat-template rendering at every assistant message.

    For turn k, ``P_k`` = render(messages up to user k, add_generation_prompt=True) and ``F_k`` =
    render(messages up to assistant k). The template must be prefix-stable (``F_{k-1}`` a prefix of
    ``P_k`` and ``P_k`` of ``F_k``); then ``P_k[len(F_{k-1}):]`` is masked and ``F_k[len(P_k):]``
    (answer plus whatever the template closes it with, e.g. EOS) is trained.
    """
    if not getattr(tokenizer, "chat_template", None):
        raise ValueError("template 'chat' needs a tokenizer with a chat_template")
    messages = conv.messages()
    first_user = 1 if conv.system else 0
    segments: list[Segment] = []
    done = ""
    for k in range(len(conv.turns)):
        upto_user = messages[: first_user + 2 * k + 1]
        prompt = tokenizer.apply_chat_template(upto_user, tokenize=False, add_generation_prompt=True)
        full = tokenizer.apply_chat_template(upto_user + [messages[first_user + 2 * k + 1]], tokenize=False)
        if not prompt.startswith(done) or not full.startswith(prompt):
            raise ValueError(f"chat template is not prefix-stable at turn {k}; cannot mask the prompt")
        segments += [Segment(text=prompt[len(done):], train=False), Segment(text=full[len(prompt):], train=True)]
        done = full
    return segments


def render(conv: Conversation, template: str, tokenizer: Any = None) -> list[Segment]:
    """Segments of ``conv`` under ``template``; their concatenation is the whole training text."""
    if template == "alpaca":
        return _alpaca(conv)
    if template == "chatglm":
        return _chatglm(conv)
    if template == "chat":
        return _chat(conv, tokenizer)
    raise ValueError(f"unknown template {template!r}; choose one of {', '.join(TEMPLATES)}")


def appends_eos(template: str) -> bool:
    """String templates end every answer with the EOS token id; a chat template writes its own."""
    return template != "chat"
