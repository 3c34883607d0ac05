"""Time per stance judgement by a local model: the label as JSON through a grammar (`chat` with
the stance schema) against the label read off the first token's log-probabilities (one
forward pass). Prints seconds per judgement for each and the labels each gave.

    python scripts/judgement_latency.py --backend openai --openai-url http://127.0.0.1:8080/v1
    python scripts/judgement_latency.py --backend llamacpp --gguf packaged:qwen2.5-coder-1.5b

The passages and claims are made up here (not evaluation data)."""

from __future__ import annotations

import argparse
import statistics
import time

from rag import prompts
from rag.llm import choose
from rag.settings import Settings
from rag.verify import STANCE_SCHEMA, model_stance, parse_stance

PASSAGE = ("Trento, 4 marzo 2026 – La giunta provinciale ha approvato ieri il nuovo collegamento in funivia tra "
           "la città e il Monte Bondone. L'opera costerà 58 milioni di euro e sarà pronta entro il 2029, ha detto "
           "l'assessore ai trasporti, che prevede 1.200 passeggeri al giorno.")
CLAIMS = ["La funivia per il Monte Bondone costerà 58 milioni di euro.",
          "La funivia per il Monte Bondone costerà 85 milioni di euro.",
          "La funivia sarà pronta entro il 2029.",
          "Il sindaco di Trento si è dimesso."]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["openai", "llamacpp", "ollama"], required=True)
    parser.add_argument("--openai-url", default="")
    parser.add_argument("--gguf", default="")
    parser.add_argument("--model", default="")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    settings = Settings.load(llm__backend=args.backend, llm__openai_url=args.openai_url or None,
                             llm__gguf=args.gguf or None, llm__openai_model=args.model or None,
                             llm__ollama_model=args.model or None, llm__max_tokens=120)
    llm, why = choose(settings.llm)
    print(f"backend: {why}")
    language = prompts.message("language_names", "it")
    system = {kind: prompts.render("stance_system.txt", reply=prompts.render(
        f"stance_reply_{kind}.txt", language=language).strip()) for kind in ("label", "json")}
    llm.chat([{"role": "user", "content": "Ciao"}])  # loads the model: not part of any judgement
    times = {"json": [], "label": []}
    for _ in range(args.rounds):
        for claim in CLAIMS:
            user = prompts.render("stance_user.txt", passage=PASSAGE, claim=claim)
            for kind in ("json", "label"):
                messages = [{"role": "system", "content": system[kind]}, {"role": "user", "content": user}]
                started = time.perf_counter()
                if kind == "json":
                    parsed = parse_stance(llm.chat(messages, json_schema=STANCE_SCHEMA))
                else:
                    alternatives = getattr(llm, "first_token_logprobs", lambda m: None)(messages)
                    if alternatives is None:
                        print("this backend gives no log-probabilities")
                        return
                    parsed = model_stance(alternatives, llm.name, "it")
                times[kind].append(time.perf_counter() - started)
                print(f"  {kind:5s} {times[kind][-1]:6.2f} s  {parsed[0] if parsed else 'not valid':10s}  {claim}")
    for kind, seconds in times.items():
        print(f"{kind}: median {statistics.median(seconds):.2f} s, max {max(seconds):.2f} s per judgement "
              f"({len(seconds)} judgements)")


if __name__ == "__main__":
    main()
