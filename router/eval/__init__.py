"""The tool-calling accuracy check to run before switching the primary model.

`python -m router.eval --model NAME[@BASE_URL] ...` runs the labelled utterances of
`dataset.jsonl` through the router's own system prompt, tool schemas and stream parsing, and
reports, per model, how often it picks the right tool with the right arguments.
"""
