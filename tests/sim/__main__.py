"""python -m tests.sim [--port 8765] [--set key=value ...]: run the simulator by hand, on loopback."""

from __future__ import annotations

import argparse
import sys

import uvicorn

from tests.sim.app import create_app
from tests.sim.config import SimConfig, parse_setting
from tests.sim.server import HOST, quiet_stream_cuts
from tests.sim.world import World


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.sim", description=__doc__)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument(
        "--set",
        dest="settings",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a SimConfig switch; VALUE is JSON when it parses (true, 3, null), else a string",
    )
    parser.add_argument("--log-level", default="info")
    args = parser.parse_args(argv)
    try:
        config = SimConfig.model_validate(dict(parse_setting(s) for s in args.settings))
    except ValueError as exc:
        parser.error(str(exc))
    base_url = f"http://{HOST}:{args.port}"
    print(f"NemoVideo simulator on {base_url}  (NEMO_API_BASE={base_url}; Ctrl-C to stop)", file=sys.stderr)
    print(f"controls: {base_url}/_sim/config  /_sim/requests  /_sim/stats  /_sim/reset", file=sys.stderr)
    quiet_stream_cuts()
    uvicorn.run(create_app(World(config)), host=HOST, port=args.port, log_level=args.log_level)
    return 0


if __name__ == "__main__":
    sys.exit(main())
