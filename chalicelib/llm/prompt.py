"""The messages every provider sends: a short system prompt, the instruction, the input."""

from __future__ import annotations

SYSTEM_PROMPT = (
    "You are the language-model route of AION, a task platform. Carry out the user's "
    "instruction, using the input (if any) as the material to work on. Reply with the result "
    "only, without preamble."
)


def user_message(instruction: str, input_text: str, max_input_chars: int) -> str:
    text = instruction.strip() or "Respond to the input."
    material = (input_text or "").strip()
    if material:
        if len(material) > max_input_chars:
            material = material[:max_input_chars] + "\n[input truncated]"
        text += "\n\nInput:\n" + material
    return text
