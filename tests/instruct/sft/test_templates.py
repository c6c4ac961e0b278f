"""Prompt templates: exact KnowLM Alpaca and ChatGLM2 wording, and chat-template cutting."""

from __future__ import annotations

import pytest

from instruct.sft.io import Conversation, to_conversation
from instruct.sft.templates import render


def _text(segments):
    return "".join(s.text for s in segments)


def test_alpaca_with_input_is_knowlm_prompt():
    segs = render(to_conversation({"instruction": "Translate.", "input": "你好", "output": "Hello"}), "alpaca")
    assert [s.train for s in segs] == [False, True]
    assert segs[0].text == (
        "Below is an instruction that describes a task, paired with an input that provides further context. "
        "Write a response that appropriately completes the request.\n\n"
        "### Instruction:\nTranslate.\n\n### Input:\n你好\n\n### Response:\n")
    assert segs[1].text == "Hello"


def test_alpaca_without_input_drops_input_block():
    segs = render(to_conversation({"instruction": "Say hi.", "input": "", "output": "hi"}), "alpaca")
    assert segs[0].text == ("Below is an instruction that describes a task. Write a response that appropriately "
                            "completes the request.\n\n### Instruction:\nSay hi.\n\n### Response:\n")


def test_chatglm_rounds():
    conv = Conversation(turns=(("你好", "你好！"), ("1+1=?", "2")))
    assert _text(render(conv, "chatglm")) == "[Round 1]\n\n问：你好\n\n答：你好！\n\n[Round 2]\n\n问：1+1=?\n\n答：2"
    assert [s.train for s in render(conv, "chatglm")] == [False, True, False, True]


def test_chat_segments_rebuild_the_chat_template(llama_tokenizer):
    conv = Conversation(system="Be brief.", turns=(("Hi", "Hello."), ("Bye", "Goodbye.")))
    segs = render(conv, "chat", llama_tokenizer)
    assert _text(segs) == llama_tokenizer.apply_chat_template(conv.messages(), tokenize=False)
    assert [s.text for s in segs if s.train] == [" Hello.</s>", " Goodbye.</s>"]


def test_chat_template_that_is_not_prefix_stable_is_refused(llama_tokenizer):
    import copy

    tok = copy.deepcopy(llama_tokenizer)
    # Renders the number of messages first: a longer conversation changes the start of the text.
    tok.chat_template = "{{ messages|length }}{% for m in messages %}{{ m['content'] }}{% endfor %}"
    with pytest.raises(ValueError, match="prefix-stable"):
        render(Conversation(turns=(("a", "b"),)), "chat", tok)


def test_unknown_template():
    with pytest.raises(ValueError, match="unknown template"):
        render(Conversation(turns=(("a", "b"),)), "vicuna")
