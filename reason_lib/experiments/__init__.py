"""One package per experiment: `<name>/params.py`, its parameter dataclass and vocabulary (light,
read by the command line before anything runs; `reason_lib.config` registers them), and, where
the notebook does more than a few calls, `<name>/pipeline.py`: what it trains per configuration
and the metrics and tables it saves (the schema `summary` and `results` read back), each a tested
function rather than a notebook cell."""
