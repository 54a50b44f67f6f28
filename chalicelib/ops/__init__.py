"""Ops commands for one province's stack: ``python -m chalicelib.ops --help``.

    catalogue import PATH [--dry-run] [--keep-unlisted] [--province-dir DIR]
    agency add --code CODE --name NAME --tier TIER [--parent CODE] [--name-en NAME] [--update]
    agency key issue|rotate|revoke --agency CODE [--key-id ID] [--label LABEL] [--all]
    agency webhook set-url --agency CODE URL
    agency webhook rotate-secret --agency CODE [--replace FINGERPRINT] [--grace-hours 24]
    webhooks redrive
    stats export [--month YYYY-MM] [--out FILE]

They run against whatever AWS the environment points at (the stage's ``MOTCUA_*`` settings
and AWS credentials), or, with ``--local``, against the local stack ``make run`` started
(read from ``.local/stack.json``). Every command is idempotent: run again, it changes nothing
and says so. Exit status: 0 done (or nothing to do), 2 bad input, 1 AWS or table failure.
"""
