"""Run the sample agency receiver.

    python -m examples.agency_receiver --port 8090 --secret whsec_... \\
        --api-url http://127.0.0.1:8000 --api-key <agency API key>

The secret and the key may come from the environment instead (MOTCUA_WEBHOOK_SECRET,
MOTCUA_AGENCY_API_KEY), which keeps them out of the process list.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

from examples.agency_receiver.receiver import create_server


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m examples.agency_receiver", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8090, help="port to bind, 0 for any free port (default: 8090)")
    parser.add_argument("--secret", default=os.environ.get("MOTCUA_WEBHOOK_SECRET"),
                        help="the agency's webhook signing secret, whsec_… (env MOTCUA_WEBHOOK_SECRET)")
    parser.add_argument("--api-url", default=os.environ.get("MOTCUA_API_URL", "http://127.0.0.1:8000"),
                        help="motcua's API base URL (env MOTCUA_API_URL, default: http://127.0.0.1:8000)")
    parser.add_argument("--api-key", default=os.environ.get("MOTCUA_AGENCY_API_KEY"),
                        help="the agency's API key (env MOTCUA_AGENCY_API_KEY)")
    args = parser.parse_args(argv)
    if not args.secret or not args.api_key:
        parser.error("--secret and --api-key are required (or MOTCUA_WEBHOOK_SECRET and MOTCUA_AGENCY_API_KEY)")

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        server = create_server(secret=args.secret, api_url=args.api_url, api_key=args.api_key,
                               host=args.host, port=args.port)
    except ValueError as error:  # a malformed secret (not base64)
        parser.error(f"invalid --secret: {error}")
    except OSError as error:  # the port is taken
        print(f"cannot listen on {args.host}:{args.port}: {error}", file=sys.stderr)
        return 1
    print(f"Agency receiver on {server.url}/ — webhooks at {server.webhook_url}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
